from services.ownership.models import metadata
from shared.migrations import run_env

run_env(metadata, "OWNERSHIP_DATABASE_URL")

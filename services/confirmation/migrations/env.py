from services.confirmation.models import metadata
from shared.migrations import run_env

run_env(metadata, "CONFIRMATION_DATABASE_URL")

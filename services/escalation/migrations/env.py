from services.escalation.models import metadata
from shared.migrations import run_env

run_env(metadata, "ESCALATION_DATABASE_URL")

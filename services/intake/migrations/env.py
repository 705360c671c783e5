from services.intake.models import metadata
from shared.migrations import run_env

run_env(metadata, "INTAKE_DATABASE_URL")

from services.console.models import metadata
from shared.migrations import run_env

run_env(metadata, "CONSOLE_DATABASE_URL")

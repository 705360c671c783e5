"""Autogenerate the next Alembic revision of one service from its tables.

Usage: python scripts/makemigration.py <service> "<message>"
It compares the models with a scratch SQLite database upgraded to the current head.
"""

import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config

from shared.db import upgrade_database

ROOT = Path(__file__).resolve().parents[1]


def main(service: str, message: str) -> None:
    migrations = ROOT / "services" / service / "migrations"
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite+aiosqlite:///{scratch}/scratch.db"
        upgrade_database(migrations, url)
        config = Config()
        config.set_main_option("script_location", str(migrations))
        config.attributes["database_url"] = url
        count = len(list((migrations / "versions").glob("*.py")))
        command.revision(config, message, autogenerate=True, rev_id=f"{count + 1:04d}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

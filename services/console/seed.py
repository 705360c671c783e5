"""Apply the console's migrations and (re)create the demo accounts; prints them, one a line.

`CONSOLE_DEMO_PASSWORD` gives every demo account that password (tests); otherwise each gets a
fresh random one at every run. Refused in production, where accounts are made by an admin.
"""

import asyncio
import os
import sys
from pathlib import Path

from services.console.accounts import seed_demo
from services.console.settings import ConsoleSettings
from shared.db import make_engine, upgrade_database


async def _seed(settings: ConsoleSettings) -> None:
    engine = make_engine(settings.db_url)
    try:
        seeded = await seed_demo(engine, os.environ.get("CONSOLE_DEMO_PASSWORD") or None)
    finally:
        await engine.dispose()
    for account, password in seeded:
        print(f"{account.role:<11} {account.username:<8} {password}")


def main() -> None:
    settings = ConsoleSettings()
    if settings.app_env == "production":
        sys.exit("demo accounts are not created in production")
    upgrade_database(Path(__file__).parent / "migrations", settings.db_url)
    asyncio.run(_seed(settings))


if __name__ == "__main__":
    main()

"""Replicas may start together: concurrent upgrades of one fresh PostgreSQL database all succeed.

Each upgrade runs in its own OS process, as replicas do; without the advisory lock they race to
create the same tables and all but one fail on duplicate objects.
"""

import asyncio
import sys

import asyncpg
import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from tests.support.env import Database, TestEnv
from tests.support.replica import ROOT

SERVICES = ["confirmation", "escalation"]
UPGRADES = 4


def head(service: str) -> str:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "services" / service / "migrations"))
    revision = ScriptDirectory.from_config(config).get_current_head()
    assert revision is not None
    return revision


async def upgrade_in_a_process(service: str, url: str) -> tuple[int, str]:
    script = (
        "import sys; from pathlib import Path; from shared.db import upgrade_database; "
        "upgrade_database(Path(sys.argv[1]), sys.argv[2])"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        str(ROOT / "services" / service / "migrations"),
        url,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode or 0, output.decode()[-3000:]


@pytest.mark.parametrize("service", SERVICES)
async def test_concurrent_upgrades_of_one_fresh_database_all_succeed(
    env: TestEnv, database: Database, service: str
) -> None:
    if env.backend != "postgresql":
        pytest.skip("the lock is PostgreSQL's; a SQLite file belongs to one process")
    async with database(service) as url:
        results = await asyncio.gather(
            *[upgrade_in_a_process(service, url) for _ in range(UPGRADES)]
        )
        for returncode, output in results:
            assert returncode == 0, output
        dsn = url.replace("postgresql+asyncpg://", "postgresql://")
        connection = await asyncpg.connect(dsn)
        try:
            versions = await connection.fetch("SELECT version_num FROM alembic_version")
            tables = await connection.fetch(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
        finally:
            await connection.close()
        assert [v["version_num"] for v in versions] == [head(service)]
        names = {t["table_name"] for t in tables}
        assert {"outbox", "inbox", "alembic_version"} <= names

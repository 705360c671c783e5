"""`python -m services.analytics.projection.rebuild`: the read model again from the archive."""

import asyncio

from services.analytics.models import metadata  # noqa: F401  (tables registered)
from services.analytics.projection.ingest import rebuild
from services.analytics.settings import AnalyticsSettings
from shared.db import make_engine


async def main() -> None:
    settings = AnalyticsSettings()
    engine = make_engine(settings.db_url)
    try:
        streams = await rebuild(engine)
    finally:
        await engine.dispose()
    print(f"rebuilt {streams} streams")


if __name__ == "__main__":
    asyncio.run(main())

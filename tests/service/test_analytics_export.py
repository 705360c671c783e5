"""Exports for BI tools (CSV, Parquet) and, on PostgreSQL, the read-only `bi` views and role."""

import csv
import io
import uuid

import asyncpg
import pyarrow.parquet as pq
import pytest

from services.analytics.models import EXPORTABLE, complaint_facts
from tests.service.test_analytics_kpis import loaded
from tests.support.analytics import started
from tests.support.env import Database, TestEnv
from tests.support.services import app_of, auth


async def test_fact_tables_export_as_csv_and_parquet(env: TestEnv, database: Database) -> None:
    async with started(env, database, bus_prefetch=1) as client:
        cases = await loaded(client, env)
        response = await client.get("/v1/export/complaint_facts.csv")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert list(rows[0]) == [c.name for c in complaint_facts.columns]
        by_id = {r["complaint_id"]: r for r in rows}
        assert len(rows) == 8 and by_id[cases["c"].id]["outcome"] == "cannot_fulfil"
        assert by_id[cases["a"].id]["received_at"] == "2026-11-02T09:00:00+00:00"

        parquet = await client.get("/v1/export/task_facts.parquet")
        assert parquet.status_code == 200
        table = pq.read_table(io.BytesIO(parquet.content))
        assert table.num_rows == 3 and table.schema.field("due_at").type.tz == "UTC"
        met = dict(
            zip(
                table.column("task_id").to_pylist(),
                table.column("met_sla").to_pylist(),
                strict=True,
            )
        )
        assert sorted(met.values()) == [False, True, True]
        for name in EXPORTABLE:
            for fmt in ("csv", "parquet"):
                assert (await client.get(f"/v1/export/{name}.{fmt}")).status_code == 200


async def test_exports_refuse_unknown_tables_formats_and_roles(
    env: TestEnv, database: Database
) -> None:
    async with started(env, database) as client:
        unknown = await client.get("/v1/export/inbox.csv")
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_table"
        bad_format = await client.get("/v1/export/complaint_facts.xlsx")
        assert bad_format.status_code == 422
        settings = app_of(client).state.settings
        owner = await client.get("/v1/export/complaint_facts.csv", headers=auth(settings, "owner"))
        assert owner.status_code == 403


async def test_bi_reader_sees_the_views_and_not_the_tables(
    env: TestEnv, database: Database
) -> None:
    if env.backend != "postgresql":
        pytest.skip("the bi schema and role exist on PostgreSQL only")
    password = uuid.uuid4().hex
    async with started(env, database, bus_prefetch=1, bi_reader_password=password) as client:
        cases = await loaded(client, env)
        url = app_of(client).state.settings.database_url
        host_db = url.split("@", 1)[1]
        conn = await asyncpg.connect(f"postgresql://bi_reader:{password}@{host_db}")
        try:
            rows = await conn.fetch("SELECT complaint_id, hours_to_confirmation FROM bi.complaints")
            hours = {r["complaint_id"]: r["hours_to_confirmation"] for r in rows}
            assert len(rows) == 8 and float(hours[cases["a"].id]) == 12.0
            assert await conn.fetchval("SELECT count(*) FROM bi.tasks") == 3
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetch("SELECT * FROM complaint_facts")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("DELETE FROM bi.complaints")
        finally:
            await conn.close()

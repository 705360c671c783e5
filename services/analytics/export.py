"""Fact tables as CSV or Parquet, streamed in constant memory from a server-side cursor."""

import csv
import io
import tempfile
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Boolean, DateTime, Float, Integer, Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.analytics.models import EXPORTABLE
from shared.errors import NotFound
from shared.timestamps import UtcDateTime, as_utc

BATCH = 5000
CHUNK_BYTES = 1 << 20
FORMATS = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}


def exportable(name: str) -> Table:
    table = EXPORTABLE.get(name)
    if table is None:
        raise NotFound(
            "unknown_table",
            f"No exportable table {name!r}; choose one of {', '.join(sorted(EXPORTABLE))}.",
        )
    return table


async def _batches(engine: AsyncEngine, table: Table) -> AsyncIterator[list[tuple[Any, ...]]]:
    key = list(table.primary_key.columns)
    async with engine.connect() as conn:
        result = await conn.stream(select(table).order_by(*key).execution_options(yield_per=BATCH))
        async for rows in result.partitions(BATCH):
            yield [tuple(r) for r in rows]


def _cell(value: Any) -> Any:
    return as_utc(value).isoformat() if isinstance(value, datetime) else value


async def csv_stream(engine: AsyncEngine, table: Table) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([column.name for column in table.columns])
    async for rows in _batches(engine, table):
        writer.writerows([_cell(v) for v in row] for row in rows)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def arrow_schema(table: Table) -> pa.Schema:
    def kind(column: Any) -> pa.DataType:
        if isinstance(column.type, UtcDateTime | DateTime):
            return pa.timestamp("us", tz="UTC")
        if isinstance(column.type, Boolean):
            return pa.bool_()
        if isinstance(column.type, Integer):
            return pa.int64()
        if isinstance(column.type, Float):
            return pa.float64()
        return pa.string()

    return pa.schema([pa.field(c.name, kind(c)) for c in table.columns])


async def parquet_stream(engine: AsyncEngine, table: Table) -> AsyncIterator[bytes]:
    # Parquet's footer comes last, so row groups go to a spooled file (memory up to 8 MiB, then
    # disk) and the file is streamed once complete.
    schema = arrow_schema(table)
    with tempfile.SpooledTemporaryFile(max_size=8 << 20) as spool:
        with pq.ParquetWriter(spool, schema) as writer:
            async for rows in _batches(engine, table):
                columns = list(zip(*rows, strict=True))
                arrays = [
                    pa.array(
                        [_time(v) for v in col] if pa.types.is_timestamp(f.type) else col, f.type
                    )
                    for col, f in zip(columns, schema, strict=True)
                ]
                writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
        spool.seek(0)
        while chunk := spool.read(CHUNK_BYTES):
            yield chunk


def _time(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)

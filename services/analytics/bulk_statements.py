"""Bulk statements of the read model: thousands of rows per statement, cheaply.

On PostgreSQL (asyncpg) rows to write are COPied into a temporary table and inserted from it in
one statement; keys to look up or delete go as one array parameter (`WHERE key = ANY($1)`).
That avoids SQLAlchemy's per-row parameter processing, which cost more than the database's own
work. Elsewhere (SQLite) the same calls use SQLAlchemy executemany and IN lists. Both return
plain tuples in the order of the columns asked for. The service's database role needs the
TEMPORARY privilege, which PostgreSQL grants to everyone by default.
"""

import hashlib
from collections.abc import Iterator, Sequence
from operator import itemgetter
from typing import Any, Literal

import pydantic_core
from sqlalchemy import JSON, Column, ColumnElement, Table, any_, bindparam, func, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from shared import statements

CHUNK = 1000  # keys per IN list where arrays are not available
UNKNOWN_TOKEN = -1  # `stamp`'s previous token of a row that had none (tokens are positive)
Conflict = Literal["update", "nothing"]
_PG = postgresql.dialect()


def _fast(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "postgresql" and conn.dialect.driver == "asyncpg"


async def _driver(conn: AsyncConnection) -> Any:
    """The asyncpg connection under `conn`, inside the transaction SQLAlchemy began on it."""
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    if conn.in_transaction() and not driver.is_in_transaction():
        # SQLAlchemy's adapter opens the database transaction at its first statement.
        await conn.execute(text("SELECT 1"))
    return driver


async def plan_each_time(conn: AsyncConnection) -> None:
    """Plan each statement of this transaction for the arrays it is given.

    asyncpg prepares every statement, and after a few executions PostgreSQL may switch to a
    generic plan, which cannot know how many keys an array holds: one read task_facts whole and
    took 130 ms a batch instead of 2 ms.
    """
    if _fast(conn):
        await (await _driver(conn)).execute("SET LOCAL plan_cache_mode = force_custom_plan")


_ARRAY_TYPES: dict[tuple[str, str], str] = {}


def _array_type(column: Column[Any]) -> str:
    key = (column.table.name, column.name)
    if key not in _ARRAY_TYPES:
        # JSON is sent as text and cast to json in the statement.
        element = "text" if isinstance(column.type, JSON) else column.type.compile(_PG)
        _ARRAY_TYPES[key] = f"{element}[]"
    return _ARRAY_TYPES[key]


async def insert(
    conn: AsyncConnection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    on_conflict: Conflict = "nothing",
    returning: Column[Any] | None = None,
) -> list[Any]:
    """Insert the rows; on a primary-key conflict, leave the row or update it with the new one.

    Every row sets the same columns, those of the first; the model's Python-side column
    defaults are not applied. With "update", the rows must have distinct keys (as one statement,
    PostgreSQL refuses to update a row twice). With `returning`, that column of the rows
    inserted or updated (not of those left as they were).
    """
    if not rows:
        return []
    names = list(rows[0])
    get = itemgetter(*names)  # a row's values as a tuple, in C (one name: the bare value)
    records = list(map(get, rows)) if len(names) > 1 else [(get(row),) for row in rows]
    wanted = [] if returning is None else [returning]
    return [row[0] for row in await _write(conn, table, names, records, on_conflict, wanted)]


async def insert_columns(
    conn: AsyncConnection,
    table: Table,
    columns: dict[str, list[Any]],
    on_conflict: Conflict = "nothing",
    returning: Column[Any] | None = None,
) -> list[Any]:
    """`insert`, of rows given as a list of values per column."""
    wanted = [] if returning is None else [returning]
    records = list(zip(*columns.values(), strict=True))
    return [
        row[0] for row in await _write(conn, table, list(columns), records, on_conflict, wanted)
    ]


async def _write(
    conn: AsyncConnection,
    table: Table,
    names: list[str],
    records: list[tuple[Any, ...]],
    on_conflict: Conflict,
    returning: Sequence[Column[Any]],
    keep_previous_token: bool = False,
) -> list[tuple[Any, ...]]:
    """The one INSERT ... ON CONFLICT behind `insert` and `stamp`: rows as tuples of the named
    columns; the `returning` columns of the rows written. With `keep_previous_token`, an updated
    row's `token` moves to `previous`."""
    if not names or not records:
        return []
    keys = [c.name for c in table.primary_key.columns]
    updated = [n for n in names if n not in keys]
    if not _fast(conn):
        stmt = statements.insert(conn, table)
        if on_conflict == "update":
            sets: dict[str, Any] = {n: stmt.excluded[n] for n in updated}
            if keep_previous_token:
                sets["previous"] = func.coalesce(table.c.token, UNKNOWN_TOKEN)
            stmt = stmt.on_conflict_do_update(index_elements=keys, set_=sets)
        else:
            stmt = stmt.on_conflict_do_nothing()
        rows = [dict(zip(names, record, strict=True)) for record in records]
        if not returning:
            await conn.execute(stmt, rows)
            return []
        return [tuple(r) for r in await conn.execute(stmt.returning(*returning), rows)]
    typed = [table.c[name] for name in names]
    json = [n for n, c in enumerate(typed) if isinstance(c.type, JSON)]
    if json:
        records = [_json_ready(record, json) for record in records]
    driver = await _driver(conn)
    stage = await _stage(driver, table, typed)
    await driver.copy_records_to_table(stage, records=records, columns=names, schema_name="pg_temp")
    listed = ", ".join(names)
    selected = ", ".join(f"{n}::json" if c in json else n for c, n in enumerate(names))
    # The staged rows go as the statement reads them: the table is empty for the next write.
    sql = (
        f"WITH staged AS (DELETE FROM pg_temp.{stage} RETURNING {listed})"
        f" INSERT INTO {table.name} ({listed}) SELECT {selected} FROM staged"
        f" ON CONFLICT ({', '.join(keys)}) DO "
    )
    if on_conflict == "update":
        sql += "UPDATE SET " + ", ".join(f"{n} = EXCLUDED.{n}" for n in updated)
        if keep_previous_token:
            sql += f", previous = coalesce({table.name}.token, {UNKNOWN_TOKEN})"
    else:
        sql += "NOTHING"
    if not returning:
        await driver.execute(sql)
        return []
    sql += " RETURNING " + ", ".join(f"{table.name}.{c.name}" for c in returning)
    return [tuple(r) for r in await driver.fetch(sql)]


def _json_ready(record: tuple[Any, ...], positions: list[int]) -> tuple[Any, ...]:
    """The record with its JSON values as text (cast to json in the statement)."""
    values = list(record)
    for n in positions:
        if values[n] is not None:
            values[n] = pydantic_core.to_json(values[n]).decode()
    return tuple(values)


async def _stage(driver: Any, table: Table, columns: list[Column[Any]]) -> str:
    """A temporary table of these columns to COPY rows into (created once per connection).

    COPY sends rows in PostgreSQL's binary format with no per-value checks: encoding costs a
    third of sending the same values as array parameters, and the server reads them faster.
    """
    names = ",".join(c.name for c in columns)
    stage = f"bulk_{table.name}_{hashlib.sha1(names.encode()).hexdigest()[:10]}"
    definition = ", ".join(f"{c.name} {_array_type(c)[:-2]}" for c in columns)
    await driver.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ({definition}) ON COMMIT DELETE ROWS"
    )
    return stage


async def select_in(
    conn: AsyncConnection, columns: Sequence[Column[Any]], key: Column[Any], values: Sequence[Any]
) -> list[tuple[Any, ...]]:
    """The columns of the rows whose `key` is one of the values."""
    if not values:
        return []
    table = key.table
    if not _fast(conn):
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(values), CHUNK):
            query = select(*columns).where(key.in_(values[start : start + CHUNK]))
            rows += [tuple(r) for r in await conn.execute(query)]
        return rows
    sql = (
        f"SELECT {', '.join(c.name for c in columns)} FROM {table.name}"
        f" WHERE {key.name} = ANY($1::{_array_type(key)})"
    )
    # SQLAlchemy's asyncpg dialect gives the connection a codec that decodes json columns.
    return [tuple(r) for r in await (await _driver(conn)).fetch(sql, list(values))]


async def fetch(conn: AsyncConnection, sql: str, *arguments: Any) -> list[Any]:
    """Rows of a PostgreSQL statement with $n parameters, run in the caller's transaction."""
    return list(await (await _driver(conn)).fetch(sql, *arguments))


async def delete_in(
    conn: AsyncConnection, table: Table, key: Column[Any], values: Sequence[Any]
) -> None:
    """Delete the rows whose `key` is one of the values."""
    if not values:
        return
    if not _fast(conn):
        for start in range(0, len(values), CHUNK):
            await conn.execute(table.delete().where(key.in_(values[start : start + CHUNK])))
        return
    sql = f"DELETE FROM {table.name} WHERE {key.name} = ANY($1::{_array_type(key)})"
    await (await _driver(conn)).execute(sql, list(values))


def chunks(conn: AsyncConnection, values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    """The values in pieces that `among` takes: all at once where arrays are available."""
    size = len(values) if _fast(conn) else CHUNK
    for start in range(0, len(values), max(size, 1)):
        yield values[start : start + size]


def among(conn: AsyncConnection, key: Column[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    """`key` is one of the values: one array parameter on PostgreSQL, an IN list elsewhere."""
    if _fast(conn):
        return key == any_(bindparam(None, list(values), type_=postgresql.ARRAY(key.type)))
    return key.in_(values)


async def stamp(
    conn: AsyncConnection, table: Table, columns: dict[str, list[Any]]
) -> dict[Any, Any]:
    """Upsert rows carrying a `token` column; an existing row's token moves to its `previous`
    column (UNKNOWN_TOKEN if it had none). Returns each row's previous token by key: None for
    the rows inserted, and only for them."""
    (key,) = table.primary_key.columns
    returning = [key, table.c.previous]
    names, records = list(columns), list(zip(*columns.values(), strict=True))
    rows = await _write(conn, table, names, records, "update", returning, keep_previous_token=True)
    return dict(rows)

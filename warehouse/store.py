"""The DuckDB warehouse file: one schema per layer, tables replaced whole on each run.

Every layer writes through :func:`replace_table`, so a table is either the previous
run's or this run's, never half of each.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

LAYERS = ("raw", "staging", "matching", "master", "marts")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def quote(identifier: str) -> str:
    """Quote a column or table identifier for DuckDB SQL."""
    return '"' + identifier.replace('"', '""') + '"'


def qualified(schema: str, table: str) -> str:
    if schema not in LAYERS or not _IDENTIFIER.match(table):
        raise ValueError(f"not a warehouse table name: {schema}.{table}")
    return f"{schema}.{table}"


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction around the block: committed when it ends, rolled back if it raises."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


@contextmanager
def connect(path: Path | str, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse file (creating it and its layer schemas when writable)."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    try:
        if not read_only:
            for layer in LAYERS:
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {layer}")
        yield con
    finally:
        con.close()


def replace_table(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, data: pd.DataFrame | pa.Table
) -> int:
    """Replace ``schema.table`` with ``data`` in one statement; return its row count."""
    name = qualified(schema, table)
    con.register("__incoming", data)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM __incoming")
    finally:
        con.unregister("__incoming")
    return count_rows(con, schema, table)


def count_rows(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {qualified(schema, table)}").fetchall()[0][0]


def table_exists(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, *, database: str | None = None
) -> bool:
    """Whether ``schema.table`` exists (in the attached ``database``, when given).

    A table or view the connection can name is there: asking the binder for it takes about
    0.2-0.5 ms, the query of ``information_schema`` below 2-3.5 ms, and a sync asks some 380
    times. Only a name the binder does not know (in another attached database, say) is
    looked up in ``information_schema``."""
    parts = [schema, table] if database is None else [database, schema, table]
    # a query run to its end first, as the catalog query did: a result the caller left
    # unfinished is then done with (the binder alone would leave it pending, and the
    # caller's next query on the connection would fail)
    con.execute("SELECT 1 WHERE false").fetchall()
    try:
        con.table(".".join(quote(p) for p in parts))
        return True
    except duckdb.Error:
        pass
    in_database = "" if database is None else " AND table_catalog = ?"
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? "
            f"AND table_name = ?{in_database}",
            [schema, table] + ([] if database is None else [database]),
        ).fetchall()[0][0]
    )


def table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]]:
    """The (name, DuckDB type) of each column of ``schema.table``, in order (none when it does
    not exist). Asked of the binder (``LIMIT 0``), which names the columns and their types
    as ``information_schema.columns`` does (the same text for every table of a synced 100k
    warehouse, 98 tables): 0.5 ms a table instead of 3.4 ms."""
    if not table_exists(con, schema, table):
        return []
    described = con.execute(f"SELECT * FROM {quote(schema)}.{quote(table)} LIMIT 0").description
    return [(str(column[0]), str(column[1])) for column in described]

"""SQL plumbing the marts share: building a table from a query with bound parameters,
writing in one transaction, and reading an optional input table.
(Dates and amounts are parsed once, in staging, by the grammar of ``sources.standardise``;
the marts read typed staged values.)"""

from __future__ import annotations

from typing import Any

import duckdb

from warehouse.store import count_rows, qualified, table_exists


def create_table(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    select_sql: str,
    params: dict[str, Any] | None = None,
) -> int:
    """Create or replace ``schema.table`` from ``select_sql`` (parameters bound by name); row count."""
    name = qualified(schema, table)
    con.execute(f"CREATE OR REPLACE TABLE {name} AS {select_sql}", params or {})
    return count_rows(con, schema, table)


def existing(con: duckdb.DuckDBPyConnection, schema: str, table: str, empty_sql: str) -> str:
    """``schema.table`` when it exists, else a typed empty query, for optional inputs."""
    return qualified(schema, table) if table_exists(con, schema, table) else f"({empty_sql})"

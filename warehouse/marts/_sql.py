"""SQL pieces the marts share: reading a feed's mapped columns, parsing dates and amounts
as exports write them, and building a table from a query with bound parameters."""

from __future__ import annotations

from typing import Any

import duckdb

from sources.config import ActivityFeed
from warehouse.store import count_rows, qualified, quote, table_exists

_YMD = r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?$"
_COMPACT = r"^(\d{4})(\d{2})(\d{2})$"


def field_sql(feed: ActivityFeed, field: str) -> str:
    """The text of ``field`` in ``raw.<feed>`` (columns joined by a space), NULL when empty or unmapped."""
    ref = feed.columns.get(field)
    if ref is None:
        return "NULL::VARCHAR"
    columns = [ref] if isinstance(ref, str) else list(ref)
    joined = (
        f"CAST({quote(columns[0])} AS VARCHAR)"
        if len(columns) == 1
        else "concat_ws(' ', " + ", ".join(f"CAST({quote(c)} AS VARCHAR)" for c in columns) + ")"
    )
    return f"nullif(trim({joined}), '')"


def date_sql(text: str) -> str:
    """A DATE from export text: ISO (and its time stamps), 2024/3/25, 2024年3月25日, 20240325."""
    return f"""coalesce(
        TRY_CAST({text} AS DATE),
        TRY_CAST(concat_ws('-', regexp_extract({text}, '{_YMD}', 1), regexp_extract({text}, '{_YMD}', 2),
                           regexp_extract({text}, '{_YMD}', 3)) AS DATE),
        TRY_CAST(regexp_replace({text}, '{_COMPACT}', '\\1-\\2-\\3') AS DATE))"""


def amount_sql(text: str) -> str:
    """A DECIMAL(18, 2) from export text: '1,234.50', '¥1234', 'RMB 800', '1.2万'; NULL otherwise."""
    clean = f"regexp_replace(upper({text}), '[,，\\s¥￥]|RMB|CNY|元', '', 'g')"
    return f"""CASE WHEN {clean} LIKE '%万'
                     THEN TRY_CAST(TRY_CAST(rtrim({clean}, '万') AS DECIMAL(18, 4)) * 10000 AS DECIMAL(18, 2))
                     ELSE TRY_CAST({clean} AS DECIMAL(18, 2)) END"""


def number_sql(text: str) -> str:
    return f"TRY_CAST(replace({text}, ',', '') AS DOUBLE)"


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

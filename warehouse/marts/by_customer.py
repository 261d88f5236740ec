"""Per-customer marts on a day of changes: computed again only for the customers whose own
inputs changed, every other row kept as it is.

A row of ``marts.next_order``, ``marts.customer_lifecycle``,
``marts.customer_satisfaction`` or ``marts.customer_360`` is a function of one customer's own
inputs (its orders or surveys and complaints, its golden record, its roles, its value tier;
for the 360, the columns it shows of seven inputs) and of the day.
Such a mart keeps beside it ``marts.<mart>__inputs``: per customer, a fingerprint of
exactly the inputs its row is computed from, of the day and of the settings (the sum of
the hashes of its input rows, as the table fingerprints of ``warehouse.step_inputs`` take
them: no sort). A sync that works on what changed takes the fingerprints again in one
pass over the inputs, computes the mart's rows only for the customers whose fingerprint
differs, is new or is gone (``__customers``), deletes their rows and inserts the new ones.

Another day changes every fingerprint (ages, due dates and stages move for everyone):
when more than :data:`WHOLE_SHARE` of the customers changed, the mart is built whole,
which costs less than deleting and inserting most of its rows.

Why: the marts sort each customer's orders to find gaps and medians (``next_order`` took
6.4 s of CPU at 1M source records); a fingerprint is a hash aggregate over the same rows,
without the sort, and a 1% day then sorts the orders of about 1% of the customers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import duckdb

from warehouse.marts._sql import create_table
from warehouse.store import count_rows, qualified, table_exists, transaction

#: Above this share of changed customers the mart is built whole.
WHOLE_SHARE = 0.3
#: The temp table of the customers whose rows are computed again.
CUSTOMERS = "__customers"


def within(column: str, customers: str | None) -> str:
    """SQL condition: ``column`` names one of ``customers`` (a table of ``customer_id``);
    always true when ``customers`` is None (the whole mart)."""
    return "true" if customers is None else f"{column} IN (SELECT customer_id FROM {customers})"


def inputs_table(table: str) -> str:
    """``marts.<table>__inputs``: per customer, the fingerprint of what its row was built from."""
    return f"{table}__inputs"


def write_by_customer(
    con: duckdb.DuckDBPyConnection,
    table: str,
    query: Callable[[str | None], str],
    inputs_sql: str,
    params: dict[str, Any],
    *,
    changes_only: bool = False,
) -> int:
    """Build ``marts.<table>`` whole, or (``changes_only``) for the customers whose inputs
    changed; row count.

    Args:
        query: the mart's rows, for the customers of the table it is given (None: every
            customer); restrict each input with :func:`within`.
        inputs_sql: per ``customer_id``, ``h``: a fingerprint of everything the customer's
            rows are computed from (:func:`customers_to_build` adds the day and settings).
        params: the parameters of both queries (the day, ``as_of``, among them).
    """
    customers = customers_to_build(con, table, inputs_sql, params, changes_only=changes_only)
    try:
        with transaction(con):
            return write_rows(con, table, query, params, customers)
    finally:
        drop_work(con)


def customers_to_build(
    con: duckdb.DuckDBPyConnection,
    table: str,
    inputs_sql: str,
    params: dict[str, Any],
    *,
    changes_only: bool,
) -> str | None:
    """Take the fingerprints of the inputs now (temp table ``__inputs``, with ``params``:
    the day and the settings the rows are computed with); return :data:`CUSTOMERS`, the
    temp table of the customers whose fingerprint differs from the kept one, is new or is
    gone, or None: build whole (not ``changes_only``, no mart or fingerprints kept, or more
    than :data:`WHOLE_SHARE` of the customers changed)."""
    settings = json.dumps(params, sort_keys=True, default=str)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE __inputs AS
            SELECT customer_id, hash(h, $settings) AS h FROM ({inputs_sql})""",
        {**_used(inputs_sql, params), "settings": settings},
    )
    snapshot = inputs_table(table)
    if not (
        changes_only and table_exists(con, "marts", table) and table_exists(con, "marts", snapshot)
    ):
        return None
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {CUSTOMERS} AS
        SELECT coalesce(n.customer_id, b.customer_id) AS customer_id
        FROM __inputs n FULL JOIN marts.{snapshot} b USING (customer_id)
        WHERE n.h IS DISTINCT FROM b.h""")
    changed, total = con.execute(
        f"SELECT (SELECT count(*) FROM {CUSTOMERS}), (SELECT count(*) FROM __inputs)"
    ).fetchall()[0]
    return None if changed > WHOLE_SHARE * max(total, 1) else CUSTOMERS


def write_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    query: Callable[[str | None], str],
    params: dict[str, Any],
    customers: str | None,
) -> int:
    """Write ``marts.<table>`` (whole, or the rows of ``customers``) and keep the
    fingerprints it was built from; in the caller's transaction. Row count."""
    name, snapshot = qualified("marts", table), qualified("marts", inputs_table(table))
    rows_sql = query(customers)
    if customers is None:
        create_table(con, "marts", table, rows_sql, _used(rows_sql, params))
        con.execute(f"CREATE OR REPLACE TABLE {snapshot} AS FROM __inputs")
    else:
        con.execute(f"DELETE FROM {name} WHERE {within('customer_id', customers)}")
        con.execute(f"INSERT INTO {name} BY NAME {rows_sql}", _used(rows_sql, params))
        con.execute(f"DELETE FROM {snapshot} WHERE {within('customer_id', customers)}")
        con.execute(
            f"INSERT INTO {snapshot} SELECT * FROM __inputs WHERE {within('customer_id', customers)}"
        )
    return count_rows(con, "marts", table)


def drop_work(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the temp tables of :func:`customers_to_build`."""
    for temp in ("__inputs", CUSTOMERS):
        con.execute(f"DROP TABLE IF EXISTS {temp}")


def _used(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters ``sql`` names (DuckDB refuses parameters a statement does not use)."""
    return {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)}

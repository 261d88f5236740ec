"""Roles: what a golden customer is to the business; one customer can hold several at once.

- ``customer``: has placed at least one order (through any source's order feed);
- ``prospect``: in some source's customer list but has never ordered;
- ``contact``: known only as the contact person named on a company's records;
- ``key_account``: managed by the key-account team (a record from a key_account source);
- ``dealer``: is itself a channel dealer (a record carries its own dealer code, or the
  key-account team files it in the category Dealer);
- ``debtor``: owes money: an open invoice in some source's receivables ledger.

``master.customer_roles`` has one row per customer and role, with the evidence.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from sources.config import ActivityFeed, OrderFeed, ReceivableFeed
from warehouse.store import quote, table_exists
from warehouse.views import CURRENT_XREF


def _column(feed: ActivityFeed, field: str) -> str:
    column = feed.columns[field]
    return quote(column if isinstance(column, str) else column[0])


def _per_record_sql(
    con: duckdb.DuckDBPyConnection, feeds: list[ActivityFeed], measures: str, empty: str
) -> str:
    """``measures`` aggregated per record key over every feed that has been ingested.

    ``measures`` may use ``{amount_open}`` for the feed's open-amount column; ``empty`` is
    the same select list typed for the case of no feed at all.
    """
    parts = []
    for feed in feeds:
        if not table_exists(con, "raw", feed.name):
            continue
        amount = (
            f"TRY_CAST(replace(trim({_column(feed, 'amount_open')}), ',', '') AS DECIMAL(18, 2))"
            if "amount_open" in feed.columns
            else "NULL"
        )
        parts.append(
            f"SELECT '{feed.customer_source}:' || trim({_column(feed, 'source_record_id')}) AS record_key, "
            f"{measures.format(amount_open=amount)} FROM raw.{feed.name} GROUP BY 1"
        )
    return (
        " UNION ALL ".join(parts)
        if parts
        else f"SELECT NULL::VARCHAR AS record_key, {empty} WHERE false"
    )


def build_roles(
    con: duckdb.DuckDBPyConnection,
    order_feeds: list[OrderFeed],
    receivable_feeds: list[ReceivableFeed] | None = None,
) -> pd.DataFrame:
    """One row per current customer and role it holds: ``customer_id``, ``role``, ``evidence``."""
    ordered_sql = _per_record_sql(con, list(order_feeds), "count(*) AS orders", "0 AS orders")
    owing_sql = _per_record_sql(
        con,
        list(receivable_feeds or []),
        "count(*) FILTER (WHERE {amount_open} > 0) AS invoices, sum({amount_open}) AS amount_open",
        "0 AS invoices, 0::DECIMAL(18, 2) AS amount_open",
    )
    sql = f"""
        WITH x AS {CURRENT_XREF},
        ordered AS ({ordered_sql}),
        owing AS (
            SELECT x.customer_id, sum(w.invoices) AS invoices, sum(w.amount_open) AS amount_open
            FROM ({owing_sql}) w JOIN x USING (record_key) GROUP BY 1
        ),
        orders AS (SELECT x.customer_id, sum(o.orders) AS n FROM ordered o JOIN x USING (record_key) GROUP BY 1),
        own AS (
            SELECT x.customer_id, count(*) FILTER (WHERE s.derived_from_record_key IS NULL) AS own_records,
                   min(s.derived_from_record_key) AS company_record
            FROM staging.customers s JOIN x USING (record_key) GROUP BY 1
        )
        SELECT e.customer_id, 'customer' AS role, o.n || ' order(s)' AS evidence
        FROM own e JOIN orders o USING (customer_id)
        UNION ALL
        SELECT e.customer_id, 'prospect', 'no order in any source'
        FROM own e ANTI JOIN orders o USING (customer_id) WHERE e.own_records > 0
        UNION ALL
        SELECT e.customer_id, 'contact', 'named as contact on ' || e.company_record
        FROM own e ANTI JOIN orders o USING (customer_id) WHERE e.own_records = 0
        UNION ALL
        SELECT x.customer_id, 'key_account', min(s.record_key)
        FROM staging.customers s JOIN x USING (record_key)
        WHERE s.source_kind = 'key_account' AND s.derived_from_record_key IS NULL GROUP BY 1
        UNION ALL
        SELECT x.customer_id, 'dealer', coalesce(min(s.own_dealer_code), 'category Dealer')
        FROM staging.customers s JOIN x USING (record_key)
        WHERE s.own_dealer_code IS NOT NULL OR lower(s.customer_category) = 'dealer' GROUP BY 1
        UNION ALL
        SELECT customer_id, 'debtor', invoices || ' open invoice(s), ' || amount_open || ' open'
        FROM owing WHERE amount_open > 0
    """
    return con.sql(sql).df().sort_values(["customer_id", "role"], ignore_index=True)

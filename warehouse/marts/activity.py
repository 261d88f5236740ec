"""Orders, interactions and open invoices of every source, attached to golden customers.

``marts.orders`` (one row per order line), ``marts.interactions`` (one row per call, visit,
complaint or survey) and ``marts.receivables`` (one row per open invoice) are the staged
activity (``staging.<kind>``, parsed and de-duplicated once by ``sources.activity_staging``)
with the ``customer_id`` of the source record each row was booked on
(``<customer_source>:<source_record_id>``, through the current xref). The master's roles
read the same staged rows, so the ``customer`` role and ``customer_value`` cannot disagree.

Nothing is dropped. ``marts.<kind>_quarantine`` holds every row of ``staging.<kind>_quarantine``
(with its reason naming the feed, the file, the row and the field) and the staged rows whose
customer record is not a current customer record. For every feed: received = kept +
quarantined.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from sources.activity_schema import (
    INTERACTIONS,
    KINDS,
    ORDERS,
    RECEIVABLES,
    SQL_TYPES,
    ActivityKind,
)
from warehouse.marts._sql import create_table, existing
from warehouse.store import table_exists
from warehouse.views import CURRENT_XREF

__all__ = ["INTERACTIONS", "KINDS", "ORDERS", "RECEIVABLES", "build_activity"]


def _empty_staged_sql(kind: ActivityKind) -> str:
    fields = ", ".join(f"NULL::{SQL_TYPES[t]} AS {f}" for f, t in kind.fields)
    return f"""SELECT NULL::VARCHAR AS feed, NULL::VARCHAR AS customer_source, NULL::VARCHAR AS source_file,
                      NULL::BIGINT AS source_row, NULL::VARCHAR AS record_hash, NULL::VARCHAR AS source_record_id,
                      NULL::VARCHAR AS record_key, {fields}, NULL::VARCHAR AS quality_flags,
                      NULL::VARCHAR AS raw WHERE false"""


def _empty_quarantine_sql(kind: ActivityKind) -> str:
    return f"""SELECT NULL::VARCHAR AS feed, NULL::VARCHAR AS source_file, NULL::BIGINT AS source_row,
                      NULL::VARCHAR AS record_key, NULL::VARCHAR AS {kind.id_field}, NULL::VARCHAR AS field,
                      NULL::VARCHAR AS reason, NULL::VARCHAR AS raw WHERE false"""


def build_activity(con: duckdb.DuckDBPyConnection, kind: ActivityKind) -> pd.DataFrame:
    """Build ``marts.<kind>`` and ``marts.<kind>_quarantine`` from ``staging.<kind>`` (and its
    quarantine); return the reconciliation per feed (received, kept, quarantined)."""
    staged = existing(con, "staging", kind.table, _empty_staged_sql(kind))
    staged_quarantine = existing(con, "staging", kind.quarantine_table, _empty_quarantine_sql(kind))
    customers_out = existing(
        con,
        "staging",
        "quarantine",
        "SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS source_record_id, NULL::VARCHAR AS reason WHERE false",
    )
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW __attached AS
        WITH staged_out AS (
            SELECT source || ':' || trim(source_record_id) AS record_key, min(reason) AS staged_reason
            FROM {customers_out} WHERE source_record_id IS NOT NULL GROUP BY 1
        )
        SELECT s.*, x.customer_id, q.staged_reason
        FROM {staged} s LEFT JOIN {CURRENT_XREF} x USING (record_key)
        LEFT JOIN staged_out q USING (record_key)
    """)
    values = ", ".join(f for f, _ in kind.fields)
    create_table(
        con,
        "marts",
        kind.table,
        f"""SELECT feed || ':' || {kind.id_field} AS {kind.id_field.removesuffix("_id")}_key, customer_id,
                   {values}, record_key, feed, customer_source, source_file, source_row, quality_flags
            FROM __attached WHERE customer_id IS NOT NULL ORDER BY feed, source_file, source_row""",
    )
    create_table(
        con,
        "marts",
        kind.quarantine_table,
        f"""SELECT feed, source_file, source_row, record_key, {kind.id_field}, field, reason, raw
            FROM {staged_quarantine}
            UNION ALL
            SELECT feed, source_file, source_row, record_key, {kind.id_field}, 'source_record_id',
                   feed || ': ' || source_file || ' row ' || source_row || ': source_record_id: '
                     || CASE WHEN staged_reason IS NOT NULL
                             THEN 'customer record ' || record_key || ' was quarantined in staging ('
                                  || staged_reason || ')'
                             ELSE 'customer record ' || record_key || ' is not a current customer record' END,
                   raw
            FROM __attached WHERE customer_id IS NULL
            ORDER BY feed, source_file, source_row""",
    )
    con.execute("DROP VIEW __attached")
    return reconcile_marts(con, kind)


def reconcile_marts(con: duckdb.DuckDBPyConnection, kind: ActivityKind) -> pd.DataFrame:
    """Per feed staged: rows received by staging (staged + quarantined there), kept in the
    mart, quarantined beside it."""
    if not table_exists(con, "staging", kind.table):
        return pd.DataFrame(columns=["feed", "received", "kept", "quarantined"])
    return con.sql(f"""
        WITH received AS (
            SELECT feed, count(*) AS received FROM (
                SELECT feed FROM staging.{kind.table}
                UNION ALL SELECT feed FROM staging.{kind.quarantine_table}) GROUP BY feed
        )
        SELECT r.feed, r.received, coalesce(k.n, 0) AS kept, coalesce(q.n, 0) AS quarantined
        FROM received r
        LEFT JOIN (SELECT feed, count(*) AS n FROM marts.{kind.table} GROUP BY 1) k USING (feed)
        LEFT JOIN (SELECT feed, count(*) AS n FROM marts.{kind.quarantine_table} GROUP BY 1) q USING (feed)
        ORDER BY r.feed""").df()

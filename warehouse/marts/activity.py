"""Orders, interactions and open invoices of every source, attached to golden customers.

``marts.orders`` (one row per order line), ``marts.interactions`` (one row per call, visit,
complaint or survey) and ``marts.receivables`` (one row per open invoice) union the feeds
of every customer source, parse dates and amounts, and give each row the ``customer_id``
of the source record it was booked on (``<customer_source>:<source_record_id>``).

Nothing is dropped. A row whose id is empty, whose required date or amount does not parse,
that repeats an earlier row of its feed exactly, or whose customer record is not a current
customer record goes to ``marts.<kind>_quarantine`` with a reason that names the feed, the
file, the row and the field; rows the reader could not split into fields
(``raw.<feed>__rejected``) go there too. For every feed: received = kept + quarantined.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from sources.config import ActivityFeed, PipelineConfig
from warehouse.marts._sql import (
    amount_sql,
    create_table,
    date_sql,
    existing,
    field_sql,
    number_sql,
)
from warehouse.store import table_exists
from warehouse.views import CURRENT_XREF

_PARSE = {"date": date_sql, "amount": amount_sql, "number": number_sql}
_TYPE = {"text": "VARCHAR", "date": "DATE", "amount": "DECIMAL(18, 2)", "number": "DOUBLE"}


@dataclass(frozen=True)
class ActivityKind:
    """One kind of activity feed: its mart, fields (name, type) and what must parse."""

    table: str
    id_field: str
    fields: tuple[tuple[str, str], ...]
    required: tuple[str, ...]
    lowercase: tuple[str, ...] = ()

    def feeds(self, config: PipelineConfig) -> list[ActivityFeed]:
        return list(getattr(config, self.table))


ORDERS = ActivityKind(
    table="orders",
    id_field="order_id",
    fields=(("order_id", "text"), ("order_date", "date"), ("product", "text"),
            ("quantity", "number"), ("amount", "amount")),
    required=("order_date", "amount"),
)  # fmt: skip
INTERACTIONS = ActivityKind(
    table="interactions",
    id_field="interaction_id",
    fields=(("interaction_id", "text"), ("interaction_date", "date"), ("interaction_type", "text"),
            ("satisfaction_score", "number"), ("status", "text"), ("note", "text")),
    required=("interaction_date",),
    lowercase=("interaction_type", "status"),
)  # fmt: skip
RECEIVABLES = ActivityKind(
    table="receivables",
    id_field="invoice_id",
    fields=(("invoice_id", "text"), ("invoice_date", "date"), ("due_date", "date"),
            ("amount_open", "amount")),
    required=("due_date", "amount_open"),
)  # fmt: skip
KINDS = (ORDERS, INTERACTIONS, RECEIVABLES)


def _feed_sql(kind: ActivityKind, feed: ActivityFeed) -> str:
    """One feed's rows: lineage, record key, the raw text and the parsed value of every field."""
    columns = []
    for field, type_ in kind.fields:
        text = field_sql(feed, field)
        if field in kind.lowercase:
            text = f"lower({text})"
        columns.append(f"{text} AS {field}_text")
        value = _PARSE[type_](f"{field}_text") if type_ in _PARSE else f"{field}_text"
        columns.append(f"{value} AS {field}")
    srid = field_sql(feed, "source_record_id")
    return f"""
        SELECT *, {", ".join(columns[1::2])} FROM (
            SELECT '{feed.name}' AS feed, '{feed.customer_source}' AS customer_source,
                   source_file, source_row, record_hash, {srid} AS source_record_id,
                   '{feed.customer_source}:' || {srid} AS record_key, {", ".join(columns[0::2])}
            FROM raw.{feed.name})"""


def _empty_sql(kind: ActivityKind) -> str:
    fields = ", ".join(
        f"NULL::VARCHAR AS {f}_text, NULL::{_TYPE[t]} AS {f}" for f, t in kind.fields
    )
    return f"""SELECT NULL::VARCHAR AS feed, NULL::VARCHAR AS customer_source, NULL::VARCHAR AS source_file,
                      NULL::BIGINT AS source_row, NULL::VARCHAR AS record_hash, NULL::VARCHAR AS source_record_id,
                      NULL::VARCHAR AS record_key, {fields} WHERE false"""


def _ok_sql(kind: ActivityKind) -> str:
    """True for a row that goes to the mart (the cheap test; problems are spelled out only for the rest)."""
    required = " AND ".join(f"{f} IS NOT NULL" for f in kind.required)
    return f"({kind.id_field} IS NOT NULL AND first_file IS NULL AND customer_id IS NOT NULL AND {required})"


def _problems_sql(kind: ActivityKind) -> str:
    """Per row: a list of (field, problem) for everything that sends it to the quarantine."""
    checks = [
        f"CASE WHEN {kind.id_field} IS NULL THEN {{'field': '{kind.id_field}', 'problem': 'is empty'}} END",
        """CASE WHEN first_file IS NOT NULL THEN {'field': NULL,
            'problem': 'repeats row ' || first_row || ' of ' || first_file || ' exactly'} END""",
    ]
    for field, type_ in kind.fields:
        if field in kind.required:
            what = "a date" if type_ == "date" else "an amount"
            checks.append(
                f"""CASE WHEN {field} IS NULL THEN {{'field': '{field}', 'problem':
                    CASE WHEN {field}_text IS NULL THEN 'is empty'
                         ELSE '''' || {field}_text || ''' is not {what}' END}} END"""
            )
    checks.append(
        """CASE WHEN customer_id IS NULL THEN {'field': 'source_record_id', 'problem':
            CASE WHEN source_record_id IS NULL THEN 'is empty: no customer record'
                 WHEN staged_reason IS NOT NULL THEN 'customer record ' || record_key
                      || ' was quarantined in staging (' || staged_reason || ')'
                 ELSE 'customer record ' || record_key || ' is not a current customer record' END} END"""
    )
    return "list_filter([" + ", ".join(checks) + "], lambda p: p IS NOT NULL)"


def build_activity(
    con: duckdb.DuckDBPyConnection, kind: ActivityKind, feeds: list[ActivityFeed]
) -> pd.DataFrame:
    """Build ``marts.<kind>`` and ``marts.<kind>_quarantine``; return the reconciliation per feed."""
    parts = [_feed_sql(kind, f) for f in feeds if table_exists(con, "raw", f.name)]
    staged_quarantine = existing(
        con,
        "staging",
        "quarantine",
        "SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS source_record_id, NULL::VARCHAR AS reason WHERE false",
    )
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW __activity AS
        WITH rows AS ({" UNION ALL BY NAME ".join(parts) if parts else _empty_sql(kind)}),
        staged_out AS (
            SELECT source || ':' || trim(source_record_id) AS record_key, min(reason) AS staged_reason
            FROM {staged_quarantine} WHERE source_record_id IS NOT NULL GROUP BY 1
        ),
        repeated AS (  -- rows sent more than once: the first copy counts
            SELECT feed, record_hash, min({{'file': source_file, 'row': source_row}}) AS first
            FROM rows GROUP BY ALL HAVING count(*) > 1
        ),
        checked AS (
            SELECT r.*, x.customer_id, q.staged_reason,
                   CASE WHEN r.source_file <> d.first.file OR r.source_row <> d.first.row
                        THEN d.first.file END AS first_file,
                   CASE WHEN r.source_file <> d.first.file OR r.source_row <> d.first.row
                        THEN d.first.row END AS first_row
            FROM rows r LEFT JOIN {CURRENT_XREF} x USING (record_key)
            LEFT JOIN staged_out q USING (record_key)
            LEFT JOIN repeated d ON d.feed = r.feed AND d.record_hash = r.record_hash
        )
        SELECT *, {_ok_sql(kind)} AS ok FROM checked
    """)
    values = ", ".join(f for f, _ in kind.fields)
    optional = [f for f, t in kind.fields if t in _PARSE and f not in kind.required]
    flags = (
        "nullif(concat_ws(';', "
        + ", ".join(
            f"CASE WHEN {f} IS NULL AND {f}_text IS NOT NULL THEN '{f}_unparseable' END"
            for f in optional
        )
        + "), '')"
        if optional
        else "NULL::VARCHAR"
    )
    create_table(
        con,
        "marts",
        kind.table,
        f"""SELECT feed || ':' || {kind.id_field} AS {kind.id_field.removesuffix("_id")}_key, customer_id,
                   {values}, record_key, feed, customer_source, source_file, source_row,
                   {flags} AS quality_flags
            FROM __activity WHERE ok""",
    )
    rejected = [
        f"SELECT '{f.name}' AS feed, source_file, source_row, reason, raw FROM raw.{f.name}__rejected"
        for f in feeds
        if table_exists(con, "raw", f"{f.name}__rejected")
    ]
    rejected_sql = (
        " UNION ALL ".join(rejected)
        if rejected
        else "SELECT NULL AS feed, NULL AS source_file, NULL::BIGINT AS source_row, NULL AS reason, NULL AS raw WHERE false"
    )
    texts = ", ".join(f"'{f}': {f}_text" for f, _ in kind.fields)
    create_table(
        con,
        "marts",
        f"{kind.table}_quarantine",
        f"""SELECT feed, source_file, source_row, record_key, {kind.id_field},
                   nullif(array_to_string(list_filter([p.field FOR p IN problems], lambda f: f IS NOT NULL), ', '), '') AS field,
                   feed || ': ' || source_file || ' row ' || source_row || ': '
                     || array_to_string([coalesce(p.field || ': ', '') || p.problem FOR p IN problems], '; ') AS reason,
                   to_json({{'source_record_id': source_record_id, {texts}}})::VARCHAR AS raw
            FROM (SELECT *, {_problems_sql(kind)} AS problems FROM __activity WHERE NOT ok)
            UNION ALL
            SELECT feed, source_file, source_row, NULL, NULL, NULL,
                   feed || ': ' || source_file || ' row ' || source_row || ': unreadable row (' || reason || ')', raw
            FROM ({rejected_sql})
            ORDER BY feed, source_file, source_row""",
    )
    con.execute("DROP VIEW __activity")
    return reconcile_activity(con, kind, feeds)


def reconcile_activity(
    con: duckdb.DuckDBPyConnection, kind: ActivityKind, feeds: list[ActivityFeed]
) -> pd.DataFrame:
    """Per feed: rows received (readable + rejected by the reader), kept in the mart, quarantined."""
    received = [
        f"SELECT '{f.name}' AS feed, (SELECT count(*) FROM raw.{f.name}) + "
        + (
            f"(SELECT count(*) FROM raw.{f.name}__rejected)"
            if table_exists(con, "raw", f"{f.name}__rejected")
            else "0"
        )
        + " AS received"
        for f in feeds
        if table_exists(con, "raw", f.name)
    ]
    if not received:
        return pd.DataFrame(columns=["feed", "received", "kept", "quarantined"])
    return con.sql(f"""
        SELECT r.feed, r.received, coalesce(k.n, 0) AS kept, coalesce(q.n, 0) AS quarantined
        FROM ({" UNION ALL ".join(received)}) r
        LEFT JOIN (SELECT feed, count(*) AS n FROM marts.{kind.table} GROUP BY 1) k USING (feed)
        LEFT JOIN (SELECT feed, count(*) AS n FROM marts.{kind.table}_quarantine GROUP BY 1) q USING (feed)
        ORDER BY r.feed""").df()

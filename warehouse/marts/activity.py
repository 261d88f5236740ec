"""Orders, interactions and open invoices of every source, attached to golden customers.

``marts.orders`` (one row per order line), ``marts.interactions`` (one row per call, visit,
complaint or survey) and ``marts.receivables`` (one row per open invoice) are the staged
activity (``staging.<kind>``, parsed and de-duplicated once by ``sources.activity_staging``)
with the ``customer_id`` of the source record each row was booked on
(``<customer_source>:<source_record_id>``, through the current xref). The master's roles
read the same staged rows, so the ``customer`` role and ``customer_value`` cannot disagree.

An order is one row: ``order_key`` (``<feed>:<order_id>``; a feed's name holds no ``:``)
names exactly one row of ``marts.orders``, since staging quarantines an order id that
repeats in its feed. The marts that count orders count rows (``customer_value``,
``sales_by_region_product_month``): de-duplicating the keys again cost the sales mart about
half its CPU.

Beside ``marts.orders`` and ``marts.interactions``, ``marts.<kind>__by_customer`` keeps each
customer's count of rows and the sum of their hashes (:func:`customer_rows`), updated with
the rows that came and went: the per-customer marts take it as their fingerprint of a
customer's orders or interactions, instead of each hashing every row of the mart again.

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
from warehouse.step_inputs import TableChanges
from warehouse.store import qualified, table_columns, table_exists, transaction
from warehouse.views import CURRENT_XREF

__all__ = [
    "INTERACTIONS",
    "KINDS",
    "ORDERS",
    "RECEIVABLES",
    "SUMMED_KINDS",
    "build_activity",
    "customer_rows",
    "customer_rows_table",
    "keep_customer_rows",
    "update_activity",
]


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


#: Where a staged row stands: a row of one file of one feed (unique in ``staging.<kind>``).
_POSITION = ("feed", "source_file", "source_row")


def _attach(con: duckdb.DuckDBPyConnection, kind: ActivityKind, only: str | None = None) -> None:
    """Temp view ``__attached``: every staged row of ``kind`` (those at the positions listed
    in the table ``only``, when given) with the ``customer_id`` of its customer record
    through the current xref (NULL when it is not a current record) and the reason that
    record was quarantined in staging, if it was."""
    staged = existing(con, "staging", kind.table, _empty_staged_sql(kind))
    if only is not None:
        staged = f"(SELECT * FROM {staged} SEMI JOIN {only} USING ({', '.join(_POSITION)}))"
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


#: The kinds whose rows the per-customer marts read, summed per customer beside their mart
#: (:func:`customer_rows`): orders (next order, lifecycle, follow-ups due) and interactions
#: (satisfaction, 360).
SUMMED_KINDS = (ORDERS, INTERACTIONS)


def customer_rows_table(kind: ActivityKind) -> str:
    """``marts.<kind>__by_customer``: per customer, how many rows of ``marts.<kind>`` it has
    and the sum of their hashes (``rows``, ``h``)."""
    return f"{kind.table}__by_customer"


def customer_rows(con: duckdb.DuckDBPyConnection, kind: ActivityKind) -> str:
    """Per ``customer_id`` of ``marts.<kind>``: ``rows`` and ``h``, the sum of the hashes of
    every column of each of its rows: a fingerprint of the customer's activity, which the
    per-customer marts take as theirs (``warehouse.marts.by_customer``) instead of hashing
    every row of the mart again, each for itself. The kept table the activity step writes
    (:func:`customer_rows_table`), or the same sums taken now when it has none (a mart
    written by other means, as the marts' tests do)."""
    kept = customer_rows_table(kind)
    if table_exists(con, "marts", kept):
        return qualified("marts", kept)
    return f"({_customer_rows_sql(con, kind)})"


def _row_hash(con: duckdb.DuckDBPyConnection, kind: ActivityKind) -> str:
    """SQL: the hash of every column of a row of ``marts.<kind>``, in the table's order (the
    rows computed now are hashed by the same names)."""
    return f"hash({', '.join(c for c, _ in table_columns(con, 'marts', kind.table))})"


def _customer_rows_sql(con: duckdb.DuckDBPyConnection, kind: ActivityKind) -> str:
    return f"""SELECT customer_id, count(*) AS rows, sum({_row_hash(con, kind)})::HUGEINT AS h
               FROM marts.{kind.table} GROUP BY customer_id"""


def keep_customer_rows(
    con: duckdb.DuckDBPyConnection, kind: ActivityKind, moved: str | None
) -> None:
    """Write :func:`customer_rows_table` whole (``moved`` None), or add to it the rows of
    ``moved`` (``customer_id``, ``rows``: +1 for a row that came, -1 for one that went,
    ``h``: its hash, negated when it went): a sum of hashes changes by the hashes of the rows
    that came and went, exactly (``HUGEINT``), and a customer with no row left has none.
    Nothing for a kind not in :data:`SUMMED_KINDS`."""
    if kind not in SUMMED_KINDS:
        return
    kept = qualified("marts", customer_rows_table(kind))
    if moved is None or not table_exists(con, "marts", customer_rows_table(kind)):
        con.execute(f"CREATE OR REPLACE TABLE {kept} AS {_customer_rows_sql(con, kind)}")
        return
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE __sums AS
        SELECT customer_id, coalesce(k.rows, 0) + m.rows AS rows, coalesce(k.h, 0) + m.h AS h
        FROM (SELECT customer_id, sum(rows)::BIGINT AS rows, sum(h)::HUGEINT AS h FROM {moved}
              GROUP BY customer_id) m
        LEFT JOIN {kept} k USING (customer_id)""")
    con.execute(f"DELETE FROM {kept} WHERE customer_id IN (SELECT customer_id FROM __sums)")
    con.execute(f"INSERT INTO {kept} SELECT customer_id, rows, h FROM __sums WHERE rows > 0")
    con.execute("DROP TABLE __sums")


def _kept_columns(kind: ActivityKind) -> str:
    """The columns of ``marts.<kind>``, as selected from ``__attached``."""
    values = ", ".join(f for f, _ in kind.fields)
    return (
        f"feed || ':' || {kind.id_field} AS {kind.id_field.removesuffix('_id')}_key, customer_id, "
        f"{values}, record_key, feed, customer_source, source_file, source_row, quality_flags"
    )


def _build_quarantine(con: duckdb.DuckDBPyConnection, kind: ActivityKind, unattached: str) -> None:
    """``marts.<kind>_quarantine``: the rows staging quarantined and those of ``unattached`` (a
    relation of the staged rows with no current customer record: their position,
    ``record_key``, id, ``raw`` and ``staged_reason``)."""
    staged_quarantine = existing(con, "staging", kind.quarantine_table, _empty_quarantine_sql(kind))
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
            FROM {unattached}
            ORDER BY feed, source_file, source_row""",
    )


def build_activity(con: duckdb.DuckDBPyConnection, kind: ActivityKind) -> pd.DataFrame:
    """Build ``marts.<kind>`` and ``marts.<kind>_quarantine`` from ``staging.<kind>`` (and its
    quarantine); return the reconciliation per feed (received, kept, quarantined)."""
    _attach(con, kind)
    create_table(
        con,
        "marts",
        kind.table,
        f"""SELECT {_kept_columns(kind)}
            FROM __attached WHERE customer_id IS NOT NULL ORDER BY feed, source_file, source_row""",
    )
    _build_quarantine(con, kind, "(FROM __attached WHERE customer_id IS NULL)")
    keep_customer_rows(con, kind, None)
    con.execute("DROP VIEW __attached")
    return reconcile_marts(con, kind)


def update_activity(
    con: duckdb.DuckDBPyConnection, kind: ActivityKind, changes: TableChanges | None = None
) -> pd.DataFrame:
    """Bring ``marts.<kind>`` up to date by rewriting only the rows that changed; the
    quarantine beside it is built whole (it is small), its rows kept out read in the same
    pass over the staged rows that finds the changes (a second pass attaching them again
    took about 0.03 s of CPU a kind at 100k records). The same rows as
    :func:`build_activity`, not in the same physical order (readers order what they read:
    the published files are sorted, the fingerprints ignore order; a sum of DOUBLE values,
    ``quantity`` or ``satisfaction_score``, may differ in its last bit when they are not whole
    numbers, as it already may between two multi-threaded runs of the same query).

    Writing the table is what costs: at 1M source records (3.2M order lines) building
    ``marts.orders`` took 15.0 s of CPU: 4.5 s computing and sorting the rows in memory,
    10.5 s more writing them, compressed, into the warehouse file (loaded machine). A day
    changes a few thousand of them. Each row of the mart is the staged row at one position
    (feed, file, row) with its customer: a row is kept when the row computed now at its
    position has the same content (``hash`` of every column, as the table fingerprints of
    ``warehouse.step_inputs`` compare tables), else deleted and the new one inserted. The
    positions now and in the mart are matched in one join (two anti-joins before: on the
    benchmark's 100k warehouse after a 1% day, load 2.9-4.0, the update took 0.30-0.33 s of
    CPU for orders instead of 0.37-0.39, 0.24-0.25 s for interactions instead of 0.29-0.30),
    in the statement that computes the rows now: only the positions that differ or are kept
    out are stored, not every position's hash first (same warehouse, ten runs each,
    alternated, load average 4-7: orders 0.28-0.32 s of CPU instead of 0.32-0.37 s,
    interactions 0.19-0.22 s instead of 0.21-0.23 s, the same tables). ``changes``: where
    the mart's fingerprint is carried through these writes (``warehouse.step_inputs``),
    moved by the hashes of the rows that came and went, taken in that one pass (not by
    returning the rows written and hashing them again).

    The customer and hash of each row that came or went, taken in that join, update the sums
    per customer (:func:`customer_rows`) in the same transaction.
    """
    changes = changes or TableChanges()
    mart = f"marts.{kind.table}"
    _attach(con, kind)
    position = ", ".join(_POSITION)
    row_hash = _row_hash(con, kind)
    out = ("record_key", kind.id_field, "raw", "staged_reason")
    # one pass over the staged rows and the xref (each position, kept or not, its content)
    # joined with the mart's positions (each unique on both sides): a row came where it is
    # kept with another content than the mart's, went where the mart's differs; a row kept
    # out, what its quarantine row says. The positions alike are not written anywhere.
    differs = "n.h IS DISTINCT FROM w.h"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE __differ AS
        SELECT {position}, {differs} AND coalesce(n.kept, false) AS came,
               {differs} AND w.h IS NOT NULL AS went, NOT coalesce(n.kept, true) AS kept_out,
               {", ".join(f"n.{c}" for c in out)},
               n.customer_id AS came_id, n.h AS came_h, w.customer_id AS went_id, w.h AS went_h
        FROM (SELECT {position}, customer_id, customer_id IS NOT NULL AS kept,
                     CASE WHEN customer_id IS NOT NULL THEN {row_hash} END AS h,
                     {", ".join(f"CASE WHEN customer_id IS NULL THEN {c} END AS {c}" for c in out)}
              FROM (SELECT {_kept_columns(kind)}, raw, staged_reason FROM __attached)) n
        FULL JOIN (SELECT {position}, customer_id, {row_hash} AS h FROM marts.{kind.table}) w
          USING ({position})
        WHERE {differs} OR NOT n.kept""")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE __came AS SELECT {position} FROM __differ WHERE came"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE __gone AS SELECT {position} FROM __differ WHERE went"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE __out AS SELECT {position}, {', '.join(out)} FROM __differ WHERE kept_out"
    )
    # the rows that came and went were hashed in that pass with the rule of a table's
    # fingerprint (every column in the table's order): the mart's sum moves by them
    moved_rows, moved_sum = con.execute(
        """SELECT count(*) FILTER (WHERE came) - count(*) FILTER (WHERE went),
                  coalesce(sum(came_h::HUGEINT) FILTER (WHERE came), 0)
                  - coalesce(sum(went_h::HUGEINT) FILTER (WHERE went), 0)
           FROM __differ"""
    ).fetchall()[0]
    try:
        with transaction(con):
            con.execute(f"DELETE FROM {mart} m USING __gone g WHERE {_same('m', 'g')}")
            _attach(con, kind, only="__came")
            con.execute(f"""
                INSERT INTO {mart} BY NAME
                SELECT {_kept_columns(kind)} FROM __attached ORDER BY {position}""")
            changes.add(mart, int(moved_rows), int(moved_sum))
            _build_quarantine(con, kind, "__out")  # read in the one pass: not attached again
            keep_customer_rows(
                con,
                kind,
                """(SELECT came_id AS customer_id, 1 AS rows, came_h::HUGEINT AS h FROM __differ WHERE came
                    UNION ALL
                    SELECT went_id, -1, -(went_h::HUGEINT) FROM __differ WHERE went)""",
            )
    finally:
        for temp in ("__differ", "__came", "__gone", "__out"):
            con.execute(f"DROP TABLE IF EXISTS {temp}")
        con.execute("DROP VIEW IF EXISTS __attached")
    return reconcile_marts(con, kind)


def _same(a: str, b: str) -> str:
    """Rows ``a`` and ``b`` stand at the same position."""
    return " AND ".join(f"{a}.{c} = {b}.{c}" for c in _POSITION)


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

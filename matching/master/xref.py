"""The cross-reference: which customer every source record belongs to, and since when.

``master.customer_xref`` keeps history (type-2): one row per source record and period in
which it belonged to one customer. The current rows have ``valid_to`` null. A run that
changes nothing writes nothing new; when a record moves to another customer its current
row is closed and a new one opened; a record that left the sources has its row closed.
A record's ``match_probability`` is refreshed when its customer gains or loses a record,
and otherwise kept.

The rules run as SQL in DuckDB over the warehouse's tables; :func:`update_xref` and
:func:`cluster_probabilities` give the same on frames.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd

XREF_COLUMNS = (
    "record_key",
    "customer_id",
    "entity_type",
    "source",
    "match_probability",
    "valid_from",
    "valid_to",
    "run_id",
)
#: The temporary table :func:`updated_xref` writes by default: the new history.
NEW_XREF = "__xref"
_EMPTY_XREF = """(SELECT NULL::VARCHAR AS record_key, NULL::VARCHAR AS customer_id,
    NULL::VARCHAR AS entity_type, NULL::VARCHAR AS source, NULL::DOUBLE AS match_probability,
    NULL::TIMESTAMP AS valid_from, NULL::TIMESTAMP AS valid_to, NULL::VARCHAR AS run_id
    WHERE false)"""


def empty_xref() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in XREF_COLUMNS})
    frame["match_probability"] = frame["match_probability"].astype("float64")
    frame["valid_from"] = pd.Series(dtype="datetime64[us]")
    frame["valid_to"] = pd.Series(dtype="datetime64[us]")
    return frame


def cluster_probability_query(clusters: str, links: str) -> str:
    """Per record: the highest probability linking it to another record of its own cluster
    (``record_key``, ``match_probability``). Records alone in their cluster have no row:
    nothing links them."""
    return f"""(SELECT record_key, max(match_probability) AS match_probability FROM (
            SELECT unnest([l.record_key_l, l.record_key_r]) AS record_key, l.match_probability
            FROM {links} l
            JOIN {clusters} a ON a.record_key = l.record_key_l
            JOIN {clusters} b ON b.record_key = l.record_key_r
            WHERE a.cluster_id = b.cluster_id)
        GROUP BY record_key)"""


def updated_xref(
    con: duckdb.DuckDBPyConnection,
    history: str | None,
    current: str,
    run_id: str,
    now: datetime,
    into: str = NEW_XREF,
    before: str | None = None,
) -> dict[str, int]:
    """Write the xref history after this run to the table ``into`` (ordered by record and
    period), or, when ``into`` is ``history`` itself, change only its rows this run changes.

    Args:
        history: the relation of every xref row so far (``XREF_COLUMNS``; None: no xref yet).
        current: a relation with this run's ``record_key``, ``customer_id``, ``entity_type``,
            ``source``, ``match_probability``.
        run_id, now: the run that made the change, and when.
        before: a relation of the current ``record_key`` → ``customer_id`` of ``history``
            this run may change (default: every current row); ``current`` then holds this
            run's rows of those records and of new ones, and every other record is
            unchanged.
    Returns:
        Counts of records added, moved, removed and unchanged.
    """
    history = history or _EMPTY_XREF
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE __xref_change AS
            SELECT coalesce(c.record_key, o.record_key) AS record_key, c.customer_id,
                   o.customer_id AS before, c.match_probability, c.entity_type, c.source,
                   CASE WHEN o.record_key IS NULL THEN 'added'
                        WHEN c.record_key IS NULL THEN 'removed'
                        WHEN o.customer_id <> c.customer_id THEN 'moved'
                        ELSE 'unchanged' END AS change
            FROM {current} c
            FULL JOIN {before or f"(SELECT record_key, customer_id FROM {history} WHERE valid_to IS NULL)"} o
                USING (record_key)"""
    )
    # unchanged rows keep their period. Their probability follows this run's clustering where
    # the customer gained or lost a record; elsewhere it stays, so that a few new records (which
    # shift the model's term frequencies a little for everyone) change only their customers' rows
    con.execute(
        """CREATE OR REPLACE TEMP TABLE __xref_touched AS
           SELECT customer_id FROM __xref_change WHERE change IN ('added', 'moved')
           UNION SELECT before FROM __xref_change WHERE change IN ('moved', 'removed')"""
    )
    if into == history:
        _update_in_place(con, history, run_id, now)
    else:
        con.execute(
            f"""CREATE OR REPLACE {"TEMP " if into == NEW_XREF else ""}TABLE {into} AS
            WITH touched AS (SELECT customer_id FROM __xref_touched)
            SELECT h.record_key, h.customer_id, h.entity_type, h.source,
                   CASE WHEN h.valid_to IS NULL AND x.change = 'unchanged'
                             AND h.customer_id IN (SELECT customer_id FROM touched)
                        THEN x.match_probability ELSE h.match_probability END
                       AS match_probability,
                   h.valid_from,
                   CASE WHEN h.valid_to IS NULL AND x.change IN ('moved', 'removed')
                        THEN $now ELSE h.valid_to END AS valid_to,
                   h.run_id
            FROM {history} h LEFT JOIN __xref_change x USING (record_key)
            UNION ALL
            SELECT record_key, customer_id, entity_type, source, match_probability,
                   $now, NULL, $run_id
            FROM {current} WHERE record_key IN (
                SELECT record_key FROM __xref_change WHERE change IN ('added', 'moved'))
            ORDER BY record_key, valid_from""",
            {"now": now, "run_id": run_id},
        )
    counts = dict(
        con.execute("SELECT change, count(*) FROM __xref_change GROUP BY change").fetchall()
    )
    con.execute("DROP TABLE __xref_change")
    con.execute("DROP TABLE __xref_touched")
    return {
        f"records_{change}": int(counts.get(change, 0))
        for change in ("added", "moved", "removed", "unchanged")
    }


def _update_in_place(
    con: duckdb.DuckDBPyConnection, history: str, run_id: str, now: datetime
) -> None:
    """The same new history as the rewrite in :func:`updated_xref`, written as changes to
    ``history`` itself: periods of moved and removed records closed, probabilities of the
    touched customers' records refreshed, new periods appended. A 1% delta writes about 1%
    of the rows, where the rewrite wrote all of them (rows are no longer in record order;
    every reader orders what it reads)."""
    con.execute(
        f"""UPDATE {history} h SET valid_to = $now FROM __xref_change x
            WHERE h.record_key = x.record_key AND h.valid_to IS NULL
              AND x.change IN ('moved', 'removed')""",
        {"now": now},
    )
    con.execute(
        f"""UPDATE {history} h SET match_probability = x.match_probability FROM __xref_change x
            WHERE h.record_key = x.record_key AND h.valid_to IS NULL AND x.change = 'unchanged'
              AND h.customer_id IN (SELECT customer_id FROM __xref_touched)
              AND h.match_probability IS DISTINCT FROM x.match_probability"""
    )
    con.execute(
        f"""INSERT INTO {history}
            SELECT record_key, customer_id, entity_type, source, match_probability,
                   $now, NULL, $run_id
            FROM __xref_change WHERE change IN ('added', 'moved')
            ORDER BY record_key""",
        {"now": now, "run_id": run_id},
    )


def update_xref(
    history: pd.DataFrame, current: pd.DataFrame, run_id: str, now: datetime
) -> tuple[pd.DataFrame, dict[str, int]]:
    """:func:`updated_xref` on frames (an in-memory DuckDB): the new history and the counts."""
    con = duckdb.connect()
    try:
        con.register("history", history[list(XREF_COLUMNS)])
        con.register("current", current)
        counts = updated_xref(con, "history", "current", run_id, now)
        return con.sql(f"FROM {NEW_XREF}").df(), counts
    finally:
        con.close()


def cluster_probabilities(clusters: pd.DataFrame, pairs: pd.DataFrame) -> pd.Series:
    """:func:`cluster_probability_query` on frames: per record of ``clusters``, in their
    order, the probability to its cluster (NaN when alone)."""
    con = duckdb.connect()
    try:
        con.register("clusters", clusters[["record_key", "cluster_id"]])
        con.register("pairs", pairs[["record_key_l", "record_key_r", "match_probability"]])
        found = con.sql(f"FROM {cluster_probability_query('clusters', 'pairs')}").df()
    finally:
        con.close()
    probability = found.set_index("record_key")["match_probability"]
    return probability.reindex(clusters["record_key"]).rename_axis("record_key")

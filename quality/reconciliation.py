"""Row accounting: every row a feed sent is staged or quarantined, never lost, and few are
quarantined.

For each customer source, the rows received (``raw.<source>`` plus the rows its reader
rejected, ``raw.<source>__rejected``) must equal the source records in
``staging.customers`` (derived contact persons excluded) plus the rows in
``staging.quarantine``. For each activity feed (orders, interactions, receivables) the
rows received must equal its rows in ``staging.<kind>`` plus ``staging.<kind>_quarantine``.
This is computed from the warehouse tables themselves, not from the staging code's own
counters, so it catches a bug in that code.

``quarantined_share``: a repeated key or an unreadable amount quarantines one row and the
sync carries on, but when more than ``quality.max_quarantined_share`` (default 1%) of a
feed's rows are quarantined (and more than one row) the export itself is broken, and the
check blocks.

The activity marts keep the same account per feed: rows staged (kept + quarantined in
staging) = rows in ``marts.<kind>`` + rows in ``marts.<kind>_quarantine``
(:func:`check_marts_reconciliation`).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from quality.results import ERROR, CheckDef, CheckOutcome
from sources.raw_files import files_table_name
from warehouse.store import count_rows, qualified, table_exists

RECONCILIATION_CHECK = "rows_reconcile"
QUARANTINED_SHARE_CHECK = "quarantined_share"
RECONCILIATION = CheckDef(
    RECONCILIATION_CHECK, ERROR, "rows received = staged + quarantined, per feed"
)
QUARANTINED_SHARE = CheckDef(
    QUARANTINED_SHARE_CHECK,
    ERROR,
    "no feed quarantined more than quality.max_quarantined_share of the rows it sent",
)
#: The checks on each staged activity table (``staging.orders`` etc.).
ACTIVITY_CHECKS = (RECONCILIATION, QUARANTINED_SHARE)


def _received(con: duckdb.DuckDBPyConnection, feed: str) -> int:
    """Rows of ``raw.<feed>`` plus those its reader rejected (0 for a feed never ingested)."""
    tables = (feed, f"{feed}__rejected")
    return sum(count_rows(con, "raw", t) for t in tables if table_exists(con, "raw", t))


def _count(con: duckdb.DuckDBPyConnection, table: str, where: str, value: str) -> int:
    schema, name = table.split(".")
    if not table_exists(con, schema, name):
        return 0
    return con.execute(f"SELECT count(*) FROM {table} WHERE {where}", [value]).fetchall()[0][0]


def _row(feed: str, received: int, staged: int, quarantined: int, column: str) -> dict:
    return {
        column: feed,
        "received": received,
        "staged": staged,
        "quarantined": quarantined,
        "difference": received - staged - quarantined,
    }


def reconcile_sources(con: duckdb.DuckDBPyConnection, sources: list[str]) -> pd.DataFrame:
    """One row per customer source: received, staged, quarantined, difference."""
    rows = [
        _row(
            source,
            _received(con, source),
            _count(
                con,
                "staging.customers",
                "source = ? AND derived_from_record_key IS NULL",
                source,
            ),
            _count(con, "staging.quarantine", "source = ?", source),
            "source",
        )
        for source in sources
    ]
    return pd.DataFrame(rows, columns=["source", "received", "staged", "quarantined", "difference"])


def reconcile_activity(
    con: duckdb.DuckDBPyConnection, table: str, feeds: list[str]
) -> pd.DataFrame:
    """One row per activity feed of ``staging.<table>``: received, staged, quarantined, difference."""
    rows = [
        _row(
            feed,
            _received(con, feed),
            _count(con, f"staging.{table}", "feed = ?", feed),
            _count(con, f"staging.{table}_quarantine", "feed = ?", feed),
            "feed",
        )
        for feed in feeds
    ]
    return pd.DataFrame(rows, columns=["feed", "received", "staged", "quarantined", "difference"])


def _per_file(con: duckdb.DuckDBPyConnection, table: str, where: str, value: str) -> pd.Series:
    schema, name = table.split(".")
    if not table_exists(con, schema, name):
        return pd.Series(dtype="int64")
    rows = con.execute(
        f"SELECT source_file, count(*) FROM {table} WHERE {where} GROUP BY 1", [value]
    ).fetchall()
    return pd.Series(dict(rows), dtype="int64")


def _received_per_file(con: duckdb.DuckDBPyConnection, feed: str) -> pd.Series:
    """Rows each file of ``feed`` sent (read or rejected by its reader), files that sent any.

    The raw step keeps them per file in ``raw.<feed>__files`` (``sources.raw_files``): counting
    ``raw.<feed>`` and its rejects by file again scanned every raw row at every sync (the
    report's per-file accounting, twelve feeds). A warehouse written before that table
    existed is counted.
    """
    files = files_table_name(feed)
    if not table_exists(con, "raw", files):
        return (
            pd.concat(
                [
                    _per_file(con, f"raw.{t}", "source = ?", feed)
                    for t in (feed, f"{feed}__rejected")
                ]
            )
            .groupby(level=0)
            .sum()
        )
    rows = con.execute(
        f"SELECT source_file, rows + rejected FROM {qualified('raw', files)} WHERE rows + rejected > 0"
    ).fetchall()
    return pd.Series(dict(rows), dtype="int64")


def reconcile_files(con: duckdb.DuckDBPyConnection, feed: str, table: str | None) -> pd.DataFrame:
    """The same account per file of one feed: ``source_file``, received, staged, quarantined.

    ``table`` is the activity table of the feed (``orders`` …), or None for a customer source
    (staged in ``staging.customers``, derived contact persons excluded)."""
    if table is None:
        staged = _per_file(
            con, "staging.customers", "source = ? AND derived_from_record_key IS NULL", feed
        )
        quarantined = _per_file(con, "staging.quarantine", "source = ?", feed)
    else:
        staged = _per_file(con, f"staging.{table}", "feed = ?", feed)
        quarantined = _per_file(con, f"staging.{table}_quarantine", "feed = ?", feed)
    received = _received_per_file(con, feed)
    frame = pd.DataFrame({"received": received, "staged": staged, "quarantined": quarantined})
    frame = frame.fillna(0).astype("int64").rename_axis("source_file").reset_index()
    return frame.sort_values("source_file", ignore_index=True)


def reconciliation_outcome(table: pd.DataFrame) -> CheckOutcome:
    """Blocking check: received = staged + quarantined for every feed of ``table``."""
    name = table.columns[0]
    broken = table[table["difference"] != 0]
    return CheckOutcome(
        name=RECONCILIATION_CHECK,
        passed=broken.empty,
        description=(
            "every received row is staged or quarantined"
            if broken.empty
            else "rows unaccounted for in: "
            + ", ".join(f"{r[name]} ({r['difference']:+d})" for _, r in broken.iterrows())
        ),
        metadata={f"per_{name}": table.to_dict(orient="records")},
    )


def check_quarantined_share(table: pd.DataFrame, limit: float) -> CheckOutcome:
    """Blocking check: no feed of ``table`` (a reconciliation) quarantined more than ``limit``
    of the rows it sent. One quarantined row never blocks: in a feed of 85 rows it is 1.2%,
    and stopping the sync for one bad line is what quarantine is there to avoid."""
    name = table.columns[0]
    shares = table.assign(
        share=(table["quarantined"] / table["received"].where(table["received"] > 0)).fillna(0.0)
    )
    over = shares[(shares["share"] > limit) & (shares["quarantined"] > 1)]
    return CheckOutcome(
        name=QUARANTINED_SHARE_CHECK,
        passed=over.empty,
        description=(
            f"every feed quarantined at most {limit:.1%} of its rows"
            if over.empty
            else f"more than {limit:.1%} of the rows quarantined in: "
            + ", ".join(
                f"{r[name]} ({r['quarantined']:,} of {r['received']:,}, {r['share']:.1%})"
                for _, r in over.iterrows()
            )
        ),
        metadata={
            "limit": limit,
            f"per_{name}": shares[[name, "received", "quarantined", "share"]].to_dict(
                orient="records"
            ),
        },
    )


#: The check on each activity mart (``marts.orders`` etc.): every staged row is kept or
#: quarantined beside the mart.
MARTS_RECONCILIATION = CheckDef(
    RECONCILIATION_CHECK, ERROR, "rows staged = kept + quarantined in the mart, per feed"
)


def check_marts_reconciliation(table: pd.DataFrame, mart: str) -> CheckOutcome:
    """Blocking check: every row staging received for ``mart`` (``marts.orders`` …) is kept in
    it or quarantined beside it; ``table`` is ``warehouse.marts.activity.reconcile_marts``."""
    lost = table[table["received"] != table["kept"] + table["quarantined"]]
    return CheckOutcome(
        name=RECONCILIATION_CHECK,
        passed=lost.empty,
        description=(
            "every received row is kept or quarantined"
            if lost.empty
            else f"{mart} does not reconcile: "
            + ", ".join(
                f"{r.feed} ({r.received - r.kept - r.quarantined:+d})" for r in lost.itertuples()
            )
        ),
        metadata={"per_feed": table.to_dict(orient="records")},
    )

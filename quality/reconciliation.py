"""Row accounting: every row a source sent is staged or quarantined, never lost.

For each customer source, the rows received (``raw.<source>`` plus the rows its reader
rejected, ``raw.<source>__rejected``) must equal the source records in
``staging.customers`` (derived contact persons excluded) plus the rows in
``staging.quarantine``. This is computed from the warehouse tables themselves, not from
the staging code's own counters, so it catches a bug in that code.

The activity marts keep the same account per feed: rows received (``raw.<feed>`` plus
``raw.<feed>__rejected``) = rows kept in ``marts.<kind>`` + rows in
``marts.<kind>_quarantine`` (:func:`check_activity_reconciliation`).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from quality.results import ERROR, CheckDef, CheckOutcome
from sources.config import ActivityFeed
from warehouse.marts.activity import ActivityKind, reconcile_activity
from warehouse.store import table_exists

RECONCILIATION_CHECK = "rows_reconcile"
RECONCILIATION = CheckDef(
    RECONCILIATION_CHECK, ERROR, "Rows received = staged + quarantined, per source."
)
ACTIVITY_RECONCILIATION = CheckDef(
    RECONCILIATION_CHECK, ERROR, "Rows received = kept + quarantined, per feed."
)


def reconcile_sources(con: duckdb.DuckDBPyConnection, sources: list[str]) -> pd.DataFrame:
    """One row per source: received, staged, quarantined, difference."""
    rows = []
    for source in sources:
        received = con.execute(f"SELECT count(*) FROM raw.{source}").fetchall()[0][0]
        if table_exists(con, "raw", f"{source}__rejected"):
            received += con.execute(f"SELECT count(*) FROM raw.{source}__rejected").fetchall()[0][0]
        staged = con.execute(
            "SELECT count(*) FROM staging.customers WHERE source = ? AND derived_from_record_key IS NULL",
            [source],
        ).fetchall()[0][0]
        quarantined = con.execute(
            "SELECT count(*) FROM staging.quarantine WHERE source = ?", [source]
        ).fetchall()[0][0]
        rows.append(
            {
                "source": source,
                "received": received,
                "staged": staged,
                "quarantined": quarantined,
                "difference": received - staged - quarantined,
            }
        )
    return pd.DataFrame(rows)


def check_reconciliation(con: duckdb.DuckDBPyConnection, sources: list[str]) -> CheckOutcome:
    """Blocking check: received = staged + quarantined for every source."""
    table = reconcile_sources(con, sources)
    broken = table[table["difference"] != 0]
    return CheckOutcome(
        name=RECONCILIATION_CHECK,
        passed=broken.empty,
        description=(
            "every received row is staged or quarantined"
            if broken.empty
            else "rows unaccounted for in: "
            + ", ".join(f"{r.source} ({r.difference:+d})" for r in broken.itertuples())
        ),
        metadata={"per_source": table.to_dict(orient="records")},
    )


def check_activity_reconciliation(
    con: duckdb.DuckDBPyConnection, kind: ActivityKind, feeds: list[ActivityFeed]
) -> CheckOutcome:
    """Blocking check: received = kept + quarantined for every feed of ``marts.<kind>``."""
    table = reconcile_activity(con, kind, feeds)
    lost = table[table["received"] != table["kept"] + table["quarantined"]]
    return CheckOutcome(
        name=RECONCILIATION_CHECK,
        passed=lost.empty,
        description=(
            "every received row is kept or quarantined"
            if lost.empty
            else f"marts.{kind.table} does not reconcile: "
            + ", ".join(
                f"{r.feed} ({r.received - r.kept - r.quarantined:+d})" for r in lost.itertuples()
            )
        ),
        metadata={"per_feed": table.to_dict(orient="records")},
    )

"""The marts in the pipeline: built from the demo, reconciled with the exports, stable on rerun."""

import csv
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from demo_warehouse import query

from sources.config import load_config
from sources.demo import REFERENCE_DATE
from warehouse.marts import MART_TABLES, build_lifecycle, value_sets

MARTS = MART_TABLES


@pytest.fixture
def demo(demo_run, demo_for) -> Path:
    """The shared demo after one run (``demo_run``); a copy for a test that rebuilds a mart."""
    return demo_for(demo_run.folder)


def exported(demo: Path, kind: str) -> dict[str, list[dict]]:
    """The demo's own export files of one kind, read with the csv module: feed → rows."""
    out = {}
    for path in sorted((demo / "exports" / kind).glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as f:
            out[f"{path.stem}_{kind}"] = list(csv.DictReader(f))
    return out


def test_every_mart_is_built_for_the_demo_day(demo):
    counts = query(
        demo,
        " UNION ALL ".join(f"SELECT '{t}' AS mart, count(*) AS n FROM marts.{t}" for t in MARTS),
    ).set_index("mart")["n"]
    golden = query(demo, "SELECT count(*) AS n FROM master.customers").n[0]
    assert counts["customer_value"] == counts["customer_360"] == golden
    assert (
        counts["lifecycle_history"] == counts["customer_lifecycle"] > 0
    )  # first run: one row each
    empty = [t for t in MARTS if counts[t] == 0 and not t.endswith("_quarantine")]
    assert not empty
    as_of = query(demo, "SELECT DISTINCT as_of FROM marts.customer_value").as_of.tolist()
    assert [d.date() for d in as_of] == [REFERENCE_DATE]


@pytest.mark.parametrize("kind", ["orders", "interactions", "receivables"])
def test_every_exported_row_is_in_its_mart_or_quarantined(demo, kind):
    files = exported(demo, kind)
    marts = (
        query(demo, f"SELECT feed, count(*) AS n FROM marts.{kind} GROUP BY 1").set_index("feed").n
    )
    quarantined = (
        query(demo, f"SELECT feed, count(*) AS n FROM marts.{kind}_quarantine GROUP BY 1")
        .set_index("feed")
        .n
    )
    for feed, rows in files.items():
        assert marts.get(feed, 0) + quarantined.get(feed, 0) == len(rows), feed
    unknown = query(
        demo,
        f"SELECT count(*) AS n FROM marts.{kind} k ANTI JOIN master.customers c USING (customer_id)",
    )
    assert unknown.n[0] == 0


def test_order_amounts_reconcile_with_the_exports(demo):
    sent = {
        (feed, r["order_id"]): Decimal(r["amount"])
        for feed, rows in exported(demo, "orders").items()
        for r in rows
    }
    kept = query(demo, "SELECT feed, order_id, amount FROM marts.orders")
    assert all(sent[(f, o)] == a for f, o, a in kept.itertuples(index=False))
    value = query(demo, "SELECT sum(lifetime_revenue) AS total FROM marts.customer_value").total[0]
    on_or_before = query(
        demo, "SELECT sum(amount) AS total FROM marts.orders WHERE order_date <= DATE '2026-09-30'"
    ).total[0]
    assert value == on_or_before


def test_followup_list_has_every_reason_with_someone_to_call_best_customers_first(demo):
    rows = query(demo, "FROM marts.followup_today ORDER BY priority")
    assert set(rows["reason"]) == {
        "consumables_due",
        "service_due",
        "dormant_care",
        "open_complaint",
        "satisfaction_drop",
    }
    assert not rows.duplicated(["customer_id", "reason"]).any()
    assert rows["contact_phone"].notna().mean() > 0.9
    revenue = rows["revenue"].astype(float).tolist()
    assert revenue == sorted(revenue, reverse=True)
    stages = query(demo, "SELECT customer_id, stage FROM marts.customer_lifecycle").set_index(
        "customer_id"
    )["stage"]
    dormant_care = rows.loc[rows["reason"] == "dormant_care", "customer_id"]
    assert (stages[dormant_care] == "dormant").all()
    satisfaction = query(
        demo, "SELECT customer_id, trend, abc_class FROM marts.customer_satisfaction"
    )
    dropped = satisfaction.set_index("customer_id").loc[
        rows.loc[rows["reason"] == "satisfaction_drop", "customer_id"]
    ]
    assert (dropped["trend"] == "dropped").all() and set(dropped["abc_class"]) <= {"A", "B"}


def test_segment_columns_hold_only_their_known_values(demo):
    config = load_config(demo / "customer_master.yaml")
    for table, columns in value_sets(config.marts).items():
        for column, allowed in columns.items():
            seen = set(
                query(demo, f"SELECT DISTINCT {column} AS v FROM {table} WHERE v IS NOT NULL").v
            )
            assert seen <= set(allowed), (table, column, seen - set(allowed))
    stages = set(query(demo, "SELECT DISTINCT stage FROM marts.customer_lifecycle").stage)
    assert stages == {"prospect", "new", "active", "reactivated", "dormant", "churned"}


@pytest.mark.writes_demo
def test_lifecycle_history_is_kept_and_only_changes_are_added(demo):
    config = load_config(demo / "customer_master.yaml")
    before = query(demo, "SELECT count(*) AS n FROM marts.lifecycle_history").n[0]
    con = duckdb.connect(str(config.warehouse_path))
    try:
        same = build_lifecycle(con, config.marts, REFERENCE_DATE, "again", datetime(2026, 11, 1))
        later = build_lifecycle(
            con, config.marts, date(2027, 1, 15), "later", datetime(2027, 1, 15)
        )
        added = con.sql(
            "SELECT stage, previous_stage FROM marts.lifecycle_history WHERE run_id = 'later'"
        ).df()
    finally:
        con.close()
    assert same["stage_changes"] == 0
    assert later["stage_changes"] == len(added) > 0
    assert (added["stage"] != added["previous_stage"]).all()
    total = query(demo, "SELECT count(*) AS n FROM marts.lifecycle_history").n[0]
    assert total == before + len(added)

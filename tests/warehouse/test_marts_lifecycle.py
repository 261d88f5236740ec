"""Lifecycle stages with the day each was entered, and a history that survives runs and merges."""

from datetime import datetime, timedelta

from marts_tables import AS_OF, add_customers, add_orders, days_ago, table, warehouse

from sources.config import LifecycleConfig, MartsConfig
from warehouse.marts import build_lifecycle

RUN_1 = datetime(2026, 9, 30, 6, 0)


def stages(con, as_of=AS_OF, run="r1", at=RUN_1, marts: MartsConfig | None = None) -> dict:
    build_lifecycle(con, marts or MartsConfig(), as_of, run, at)
    return {
        c: (r["stage"], r["stage_since"].date())
        for c, r in table(con, "customer_lifecycle").items()
    }


def history(con) -> list[tuple]:
    return con.sql(
        "SELECT customer_id, stage, previous_stage, run_id, note FROM marts.lifecycle_history "
        "ORDER BY recorded_at, customer_id"
    ).fetchall()


def lifecycle_demo():
    con = warehouse()
    add_customers(
        con,
        *({"customer_id": c} for c in ("NEW", "ACTIVE", "DORMANT", "CHURNED", "BACK", "BACK_OLD")),
        {"customer_id": "PROSPECT", "first_seen": datetime(2025, 1, 2)},
        {"customer_id": "CONTACT", "entity_type": "person"},
    )
    add_orders(con, ("NEW", days_ago(30), 1), ("NEW", days_ago(5), 1))
    add_orders(con, *[("ACTIVE", days_ago(d), 1) for d in (200, 150, 100, 60, 20)])
    add_orders(con, ("DORMANT", days_ago(500), 1), ("DORMANT", days_ago(120), 1))
    add_orders(con, ("CHURNED", days_ago(800), 1), ("CHURNED", days_ago(400), 1))
    add_orders(con, *[("BACK", days_ago(d), 1) for d in (400, 250, 40)])
    add_orders(
        con,
        *[("BACK_OLD", days_ago(d), 1) for d in (600, 400, 350, 300, 250, 200, 150, 100, 50, 10)],
    )
    con.execute(
        "CREATE TABLE master.customer_roles AS SELECT 'CONTACT' AS customer_id, 'contact' AS role"
    )
    return con


def test_every_stage_with_the_day_it_was_entered():
    con = lifecycle_demo()
    assert stages(con) == {
        "PROSPECT": ("prospect", datetime(2025, 1, 2).date()),  # never ordered: since first seen
        "NEW": ("new", days_ago(30)),  # first order 30 days ago
        "ACTIVE": ("active", days_ago(200 - 90)),  # since its new period ended
        "DORMANT": ("dormant", days_ago(120 - 90)),  # 90 days after the last order
        "CHURNED": ("churned", days_ago(400 - 365)),
        "BACK": ("reactivated", days_ago(40)),  # 210 days without an order, then one 40 days ago
        "BACK_OLD": ("active", days_ago(400 - 90)),  # reactivated 400 days ago, active again since
    }  # CONTACT is only a company's contact person: no stage
    row = table(con, "customer_lifecycle")["BACK"]
    assert (row["reactivated_on"].date(), row["days_in_stage"], row["order_days"]) == (
        days_ago(40),
        40,
        3,
    )


def test_configured_days_move_the_boundaries():
    con = lifecycle_demo()
    short = LifecycleConfig(new_days=10, dormant_days=30, churned_days=100, reactivated_days=15)
    got = stages(con, marts=MartsConfig(lifecycle=short))
    assert got["NEW"] == ("active", days_ago(30 - 10))
    assert got["DORMANT"] == ("churned", days_ago(120 - 100))
    assert got["BACK"] == ("dormant", days_ago(40 - 30))
    assert got["ACTIVE"] == ("active", days_ago(20 - 15))  # gaps of 40 days now reactivate it
    assert got["BACK_OLD"] == ("reactivated", days_ago(10))


def test_history_appends_only_changes_across_runs():
    con = lifecycle_demo()
    stages(con, run="r1", at=RUN_1)
    first = history(con)
    assert len(first) == 7 and all(previous is None for _, _, previous, _, _ in first)

    stages(con, run="r2", at=RUN_1 + timedelta(days=1))  # same data, same day: nothing changed
    assert history(con) == first

    later = AS_OF + timedelta(days=60)
    stages(con, as_of=later, run="r3", at=RUN_1 + timedelta(days=60))
    changes = [row for row in history(con) if row[3] == "r3"]
    assert changes == [  # ACTIVE ordered 80 days before: still active, nothing recorded
        ("BACK", "dormant", "reactivated", "r3", None),
        ("NEW", "active", "new", "r3", None),
    ]
    assert table(con, "customer_lifecycle")["BACK"]["previous_stage"] == "reactivated"
    assert table(con, "customer_lifecycle")["CHURNED"]["previous_stage"] is None  # since run 1


def test_history_follows_a_merge_to_the_surviving_customer():
    con = lifecycle_demo()
    stages(con, run="r1")  # NEW and DORMANT are two customers
    # a steward merges DORMANT into NEW: its orders now belong to NEW, its ID resolves to NEW
    con.execute("UPDATE marts.orders SET customer_id = 'NEW' WHERE customer_id = 'DORMANT'")
    con.execute("DELETE FROM master.customers WHERE customer_id = 'DORMANT'")
    con.execute(
        """CREATE TABLE master.customer_ids AS SELECT customer_id,
               CASE customer_id WHEN 'DORMANT' THEN 'merged' ELSE 'active' END AS status,
               CASE customer_id WHEN 'DORMANT' THEN 'NEW' END AS merged_into
           FROM (SELECT customer_id FROM master.customers UNION ALL SELECT 'DORMANT')"""
    )
    got = stages(con, run="r2", at=RUN_1 + timedelta(hours=1))
    assert got["NEW"][0] == "reactivated" and "DORMANT" not in got  # 115 days' gap, then an order
    assert [row for row in history(con) if row[3] == "r2"] == [
        ("DORMANT", "merged", "dormant", "r2", "merged into NEW"),
        ("NEW", "reactivated", "new", "r2", None),
    ]
    stages(con, run="r3", at=RUN_1 + timedelta(hours=2))
    assert [row for row in history(con) if row[3] == "r3"] == []  # the merge is recorded once


def test_a_customer_without_history_of_its_own_continues_the_merged_one():
    con = lifecycle_demo()
    stages(con, run="r1")
    con.execute("UPDATE marts.orders SET customer_id = 'CM_NEW' WHERE customer_id = 'BACK'")
    con.execute("UPDATE master.customers SET customer_id = 'CM_NEW' WHERE customer_id = 'BACK'")
    con.execute(
        """CREATE TABLE master.customer_ids AS
           SELECT 'BACK' AS customer_id, 'merged' AS status, 'CM_NEW' AS merged_into"""
    )
    stages(con, run="r2", at=RUN_1 + timedelta(hours=1))
    assert [row for row in history(con) if row[3] == "r2"] == [
        ("BACK", "merged", "reactivated", "r2", "merged into CM_NEW")
    ]  # CM_NEW is still reactivated, as BACK was: no change to record


def a_day_of_changes(con) -> None:
    """CHURNED gone from the master (retired), DORMANT merged into NEW, an order of ACTIVE in
    an old month, BACK moved to another province."""
    con.execute("UPDATE marts.orders SET customer_id = 'NEW' WHERE customer_id = 'DORMANT'")
    con.execute("DELETE FROM master.customers WHERE customer_id IN ('DORMANT', 'CHURNED')")
    con.execute("DELETE FROM marts.orders WHERE customer_id = 'CHURNED'")
    con.execute(
        """CREATE TABLE master.customer_ids AS SELECT customer_id,
               CASE customer_id WHEN 'DORMANT' THEN 'merged' WHEN 'CHURNED' THEN 'retired'
                    ELSE 'active' END AS status,
               CASE customer_id WHEN 'DORMANT' THEN 'NEW' END AS merged_into
           FROM (SELECT customer_id FROM master.customers UNION ALL SELECT 'DORMANT'
                 UNION ALL SELECT 'CHURNED')"""
    )
    add_orders(con, ("ACTIVE", days_ago(700), 1))
    con.execute("UPDATE master.customers SET province = '广东省' WHERE customer_id = 'BACK'")


def test_a_day_of_changes_computed_by_customer_records_the_history_a_whole_build_does():
    """Only the changed customers' stages are computed again, and only their IDs' history
    (and that of the IDs merged into them or gone) is read: the same stages and history rows
    as a whole build, the retired and the merged IDs recorded once."""
    updated, whole = lifecycle_demo(), lifecycle_demo()
    for con in (updated, whole):
        build_lifecycle(con, MartsConfig(), AS_OF, "r1", RUN_1)
        a_day_of_changes(con)
    at = RUN_1 + timedelta(hours=1)
    build_lifecycle(updated, MartsConfig(), AS_OF, "r2", at, changes_only=True)
    build_lifecycle(whole, MartsConfig(), AS_OF, "r2", at)

    assert history(updated) == history(whole)
    assert sorted(updated.sql("FROM marts.customer_lifecycle").fetchall(), key=repr) == sorted(
        whole.sql("FROM marts.customer_lifecycle").fetchall(), key=repr
    )
    assert [row for row in history(updated) if row[3] == "r2"] == [
        ("CHURNED", "retired", "churned", "r2", None),
        ("DORMANT", "merged", "dormant", "r2", "merged into NEW"),
        ("NEW", "reactivated", "new", "r2", None),
    ]
    build_lifecycle(updated, MartsConfig(), AS_OF, "r3", at + timedelta(hours=1), changes_only=True)
    assert [row for row in history(updated) if row[3] == "r3"] == []

"""A sync that works on what changed computes again only the per-customer marts' rows of the
customers whose inputs changed (``warehouse.marts.by_customer``, ``customer_360`` among
them), and ends with the very rows a whole build gives: on the same day and on a later one (ages, due dates and stages move for every
customer)."""

from collections.abc import Callable
from datetime import date, datetime, timedelta

import pytest
from marts_tables import AS_OF, add_customers, add_interactions, add_orders, days_ago, warehouse

from sources.config import ConsumablesFollowup, FollowupConfig, MartsConfig, ServiceFollowup
from warehouse.marts import (
    build_customer_360,
    build_customer_satisfaction,
    build_customer_value,
    build_followup_today,
    build_lifecycle,
    build_next_order,
    build_sales_by_region_product_month,
    by_customer,
)
from warehouse.marts.activity import SUMMED_KINDS, keep_customer_rows
from warehouse.marts.customer_360 import relationship_counts_query

#: Paper and ink re-ordered on a rhythm, toner cartridges serviced: B's paper is due, C's
#: cartridge bought 40 days ago is due for its 45-day service.
MARTS = MartsConfig(
    followup=FollowupConfig(
        consumables=ConsumablesFollowup(products=["墨盒", "纸"]),
        service=ServiceFollowup(intervals={"硒鼓": 45}),
    )
)
#: The marts a delta touches, and the fingerprints kept beside the per-customer ones.
TABLES = (
    "customer_value", "customer_lifecycle", "lifecycle_history", "next_order",
    "customer_satisfaction", "satisfaction_by_tier_region", "followup_today",
    "sales_by_region_product_month", "customer_360", "next_order__inputs",
    "customer_lifecycle__inputs", "customer_satisfaction__inputs", "customer_360__inputs",
    "followup_due", "followup_due__inputs",
)  # fmt: skip


def build_all(con, as_of: date, run: str, *, changes_only: bool, kept_sums: bool = False) -> None:
    """The marts in the order the assets build them (value, the follow-up list and sales stay
    whole); ``kept_sums``: the activity's sums per customer kept beside its marts first, as
    the activity step leaves them (else the per-customer marts take them from the marts)."""
    at = datetime.combine(as_of, datetime.min.time()) + timedelta(hours=6)
    if kept_sums:
        for kind in SUMMED_KINDS:
            keep_customer_rows(con, kind, None)
    build_customer_value(con, MARTS, as_of)
    build_lifecycle(con, MARTS, as_of, run, at, changes_only=changes_only)
    build_next_order(con, MARTS.next_order, as_of, changes_only=changes_only)
    build_customer_satisfaction(con, MARTS, as_of, changes_only=changes_only)
    build_followup_today(con, MARTS, as_of, changes_only=changes_only)
    build_sales_by_region_product_month(con)
    build_customer_360(con, MARTS, changes_only=changes_only)


def first_day(*, kept_sums: bool = False):
    con = warehouse()
    add_customers(con, *({"customer_id": c, "province": "福建省", "city": "厦门市"}
                         for c in ("A", "B", "C", "D")),
                  {"customer_id": "P", "first_seen": datetime(2025, 1, 2)})  # fmt: skip
    add_orders(con, *[("A", days_ago(d), 100, "墨盒") for d in (300, 200, 100, 10)])
    add_orders(con, *[("B", days_ago(d), 50, "纸") for d in (400, 250, 130)])
    add_orders(con, ("C", days_ago(40), 900, "硒鼓"), ("D", days_ago(700), 30, "纸"))
    add_interactions(con, ("B", days_ago(20), "complaint", "open", "送货延迟"))
    con.execute("""INSERT INTO marts.interactions (customer_id, interaction_date, interaction_type,
                   satisfaction_score) VALUES ('A', ?, 'survey', 5), ('A', ?, 'survey', 2)""",
                [days_ago(90), days_ago(5)])  # fmt: skip
    build_all(con, AS_OF, "day 1", changes_only=False, kept_sums=kept_sums)
    return con


def a_day_of_changes(con) -> None:
    """New orders for A, C and a new customer, B renamed and moved, D gone, a complaint for C,
    a survey for A."""
    add_customers(con, {"customer_id": "E", "province": "广东省"})
    add_orders(
        con,
        ("A", days_ago(1), 120, "墨盒"),
        ("E", days_ago(2), 5000, "纸"),
        ("C", days_ago(3), 900, "硒鼓"),
    )
    con.execute(
        "UPDATE master.customers SET name = 'B 新名', city = '福州市' WHERE customer_id = 'B'"
    )
    con.execute("DELETE FROM master.customers WHERE customer_id = 'D'")
    con.execute("DELETE FROM marts.orders WHERE customer_id = 'D'")
    add_interactions(con, ("C", days_ago(3), "complaint", "open", "缺货"))
    con.execute("""INSERT INTO marts.interactions (customer_id, interaction_date, interaction_type,
                   satisfaction_score) VALUES ('A', ?, 'survey', 4)""", [days_ago(1)])  # fmt: skip


def marts_of(con) -> dict[str, list[tuple]]:
    return {t: sorted(con.sql(f"FROM marts.{t}").fetchall(), key=repr) for t in TABLES}


@pytest.fixture(scope="module")
def built_whole() -> Callable[[date], dict[str, list[tuple]]]:
    """``built_whole(as_of)``: the marts of the day of changes built whole on ``as_of``, made
    once per module for each day. They depend on nothing else: ``WHOLE_SHARE`` and the kept
    sums serve only a build by changes (``by_customer.customers_to_build``)."""
    made: dict[date, dict[str, list[tuple]]] = {}

    def built_whole(as_of: date) -> dict[str, list[tuple]]:
        if as_of not in made:
            whole = first_day()
            a_day_of_changes(whole)
            build_all(whole, as_of, "day 2", changes_only=False)
            made[as_of] = marts_of(whole)
        return made[as_of]

    return built_whole


@pytest.mark.parametrize("kept_sums", [False, True], ids=["sums taken", "sums kept"])
@pytest.mark.parametrize("whole_share", [1.0, 0.3], ids=["by customer", "whole past 30%"])
@pytest.mark.parametrize("later", [0, 1, 45], ids=["same day", "next day", "45 days later"])
def test_updating_the_marts_by_their_changes_equals_building_them_whole(
    later, whole_share, kept_sums, monkeypatch, built_whole
):
    monkeypatch.setattr(by_customer, "WHOLE_SHARE", whole_share)
    as_of = AS_OF + timedelta(days=later)
    updated = first_day(kept_sums=kept_sums)
    a_day_of_changes(updated)
    build_all(updated, as_of, "day 2", changes_only=True, kept_sums=kept_sums)
    got, expected = marts_of(updated), built_whole(as_of)
    for table in TABLES:
        assert got[table] == expected[table], table
    assert {r[0] for r in got["customer_360"]} == {"A", "B", "C", "E", "P"}
    if later == 0:  # B's paper still due, C's two cartridges
        assert {(r[0], r[1]) for r in got["followup_due"]} == {
            ("B", "consumables_due"),
            ("C", "service_due"),
        }


def test_only_the_customers_whose_inputs_changed_are_computed_again(monkeypatch):
    monkeypatch.setattr(by_customer, "WHOLE_SHARE", 1.0)
    con = first_day()
    # a row no input explains: kept, as no input of C changed; B's row is computed again
    for table in ("next_order", "customer_lifecycle"):
        con.execute(f"UPDATE marts.{table} SET name = 'kept' WHERE customer_id IN ('A', 'B', 'C')")
    add_orders(con, ("B", days_ago(1), 50, "纸"))
    build_lifecycle(con, MARTS, AS_OF, "day 2", datetime(2026, 9, 30, 7), changes_only=True)
    build_next_order(con, MARTS.next_order, AS_OF, changes_only=True)
    names = dict(con.sql("SELECT customer_id, name FROM marts.customer_lifecycle").fetchall())
    assert (names["A"], names["B"], names["C"]) == ("kept", "B", "kept")
    assert dict(con.sql("SELECT customer_id, name FROM marts.next_order").fetchall()) == {
        "A": "kept", "B": "B"}  # fmt: skip


def test_only_the_customers_whose_orders_changed_get_their_due_reasons_again(monkeypatch):
    monkeypatch.setattr(by_customer, "WHOLE_SHARE", 1.0)
    con = first_day()
    # a detail no order explains: kept for C, whose orders did not change; B's computed again
    con.execute("UPDATE marts.followup_due SET detail = 'kept'")
    add_orders(con, ("B", days_ago(1), 50, "纸"))
    build_followup_today(con, MARTS, AS_OF, changes_only=True)
    due = con.sql("SELECT customer_id, reason, detail FROM marts.followup_due").fetchall()
    assert due == [("C", "service_due", "kept")]  # B ordered paper yesterday: no longer due
    listed = con.sql("SELECT detail FROM marts.followup_today WHERE customer_id = 'C'").fetchall()
    assert listed == [("kept",)]


def test_a_relationship_that_changes_kind_or_side_computes_its_customers_360_rows_again(
    monkeypatch,
):
    """The 360's fingerprint hashes each relationship's kind and side (its counts are a
    function of them): a relationship of another kind, or turned around, computes the rows
    of its two customers again, and no other row."""
    monkeypatch.setattr(by_customer, "WHOLE_SHARE", 1.0)
    con = first_day()
    con.execute("""CREATE TABLE master.relationships AS SELECT * FROM (VALUES
                   ('A', 'B', 'employment'), ('C', 'P', 'referral'), ('D', 'A', 'family')
                   ) t(from_customer_id, to_customer_id, relationship_type)""")  # fmt: skip
    build_customer_360(con, MARTS, changes_only=True)
    # a name no input explains: kept where no input of the customer changed
    con.execute("UPDATE marts.customer_360 SET name = 'kept'")
    con.execute("""UPDATE master.relationships SET relationship_type = 'referral'
                   WHERE from_customer_id = 'A'""")
    con.execute("""UPDATE master.relationships SET from_customer_id = 'P', to_customer_id = 'C'
                   WHERE from_customer_id = 'C'""")
    build_customer_360(con, MARTS, changes_only=True)
    names = dict(con.sql("SELECT customer_id, name FROM marts.customer_360").fetchall())
    assert names == {"A": "A", "B": "B", "C": "C", "P": "P", "D": "kept"}
    counts = """SELECT customer_id, relationships, employees, referred_customers, referred_by,
                       family_members FROM marts.customer_360"""
    got = sorted(con.sql(counts).fetchall())
    build_customer_360(con, MARTS)
    assert got == sorted(con.sql(counts).fetchall())
    assert ("C", 1, 0, 0, 1, 0) in got and ("P", 1, 0, 1, 0, 0) in got


def test_a_360_row_is_computed_again_for_a_change_in_any_one_input_of_its_customer(
    monkeypatch,
):
    """The 360's fingerprint sums a hash of every input row tagged with its input: a new
    interaction of A, a new role of B or another stage of C computes those three rows
    again and no other; an interaction of a customer with no golden record adds no row."""
    monkeypatch.setattr(by_customer, "WHOLE_SHARE", 1.0)
    con = first_day()
    con.execute("CREATE TABLE master.customer_roles (customer_id VARCHAR, role VARCHAR)")
    build_customer_360(con, MARTS, changes_only=True)
    con.execute("UPDATE marts.customer_360 SET name = 'kept'")
    add_interactions(con, ("A", days_ago(2), "call"), ("Z", days_ago(2), "call"))
    con.execute("INSERT INTO master.customer_roles VALUES ('B', 'dealer')")
    con.execute("UPDATE marts.customer_lifecycle SET stage = 'churned' WHERE customer_id = 'C'")
    build_customer_360(con, MARTS, changes_only=True)
    names = dict(con.sql("SELECT customer_id, name FROM marts.customer_360").fetchall())
    assert names == {"A": "A", "B": "B", "C": "C", "D": "kept", "P": "kept"}
    got = sorted(con.sql("FROM marts.customer_360 WHERE name <> 'kept'").fetchall(), key=repr)
    build_customer_360(con, MARTS)
    whole = con.sql("FROM marts.customer_360 WHERE customer_id IN ('A', 'B', 'C')").fetchall()
    assert got == sorted(whole, key=repr)
    inputs = {r[0] for r in con.sql("FROM marts.customer_360__inputs").fetchall()}
    assert inputs == {"A", "B", "C", "D", "P"}


def test_relationship_counts_for_some_customers_are_their_rows_of_the_whole_counts():
    """The 360 computed again for some customers counts their relationships only, each side
    for its own customer: A's rows equal the whole count's, though B and C are not
    counted; a relationship between two other customers adds no row."""
    con = warehouse()
    con.execute("""CREATE TABLE master.relationships AS SELECT * FROM (VALUES
                   ('A', 'B', 'employment'), ('C', 'A', 'family'), ('B', 'C', 'referral')
                   ) t(from_customer_id, to_customer_id, relationship_type)""")  # fmt: skip
    con.execute("CREATE TEMP TABLE chosen AS SELECT 'A' AS customer_id")
    some = con.sql(relationship_counts_query("master.relationships", "chosen")).fetchall()
    whole = con.sql(relationship_counts_query("master.relationships")).fetchall()
    assert some == [row for row in whole if row[0] == "A"]
    assert some[0][:2] == ("A", 2)

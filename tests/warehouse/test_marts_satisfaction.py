"""Satisfaction per customer (latest score, trend, complaints), per value tier and region, and
the follow-up of valuable customers whose satisfaction dropped."""

from datetime import datetime

from marts_tables import (
    AS_OF,
    add_customers,
    add_interactions,
    add_orders,
    days_ago,
    table,
    warehouse,
)

from sources.config import MartsConfig
from warehouse.marts import (
    build_customer_satisfaction,
    build_customer_value,
    build_followup_today,
    build_lifecycle,
)

MARTS = MartsConfig()


def _surveys(con, customer: str, *scores: tuple[int, float]) -> None:
    """Survey scores as (days ago, score)."""
    for ago, score in scores:
        con.execute(
            """INSERT INTO marts.interactions (customer_id, interaction_date, interaction_type, satisfaction_score)
               VALUES (?, ?, 'survey', ?)""",
            [customer, days_ago(ago), score],
        )


def satisfied(con) -> dict:
    build_customer_value(con, MARTS, AS_OF)
    build_customer_satisfaction(con, MARTS, AS_OF)
    return table(con, "customer_satisfaction")


def _demo():
    con = warehouse()
    add_customers(con, {"customer_id": "BIG", "province": "福建省"}, {"customer_id": "MID", "province": "福建省"},
                  {"customer_id": "SMALL", "province": "广东省"}, {"customer_id": "QUIET"})  # fmt: skip
    add_orders(con, ("BIG", days_ago(30), 100_000), ("MID", days_ago(30), 30_000),
               ("SMALL", days_ago(30), 100), ("QUIET", days_ago(30), 10))  # fmt: skip
    _surveys(con, "BIG", (300, 5), (200, 5), (100, 4), (10, 2))  # 2 against (5+5+4)/3: dropped
    _surveys(con, "MID", (400, 1), (100, 3), (50, 4))  # 4 against (1+3)/2 = 2: improved
    _surveys(con, "SMALL", (300, 5), (20, 1))  # dropped, but class C
    add_interactions(con, ("SMALL", days_ago(20), "complaint", "open", "送货延迟"),
                     ("SMALL", days_ago(60), "complaint", "closed", "发票开错"))  # fmt: skip
    con.execute(
        "UPDATE marts.interactions SET closed_date = ? WHERE status = 'closed'", [days_ago(50)]
    )
    return con


def test_latest_score_trend_and_complaints_per_customer():
    rows = satisfied(_demo())
    assert set(rows) == {"BIG", "MID", "SMALL"}  # QUIET: no survey, no complaint
    big, mid, small = rows["BIG"], rows["MID"], rows["SMALL"]
    assert (big["latest_score"], big["surveys"], big["trend"], big["abc_class"]) == (
        2,
        4,
        "dropped",
        "A",
    )
    assert big["score_change"] == 2 - 14 / 3 and big["latest_survey_date"].date() == days_ago(10)
    assert (mid["earlier_score"], mid["trend"]) == (2.0, "improved")
    assert (small["trend"], small["open_complaints"], small["closed_complaints"]) == (
        "dropped",
        1,
        1,
    )
    assert small["avg_days_to_close"] == 10 and small["oldest_open_complaint"].date() == days_ago(
        20
    )


def test_a_single_survey_has_no_trend_and_small_changes_are_steady():
    con = warehouse()
    add_customers(con, {"customer_id": "ONE"}, {"customer_id": "EVEN"}, {"customer_id": "GRUMBLE"})
    _surveys(con, "ONE", (5, 3))
    _surveys(con, "EVEN", (90, 4), (60, 5), (30, 4), (5, 4))  # 4 against 13/3: steady
    add_interactions(con, ("GRUMBLE", days_ago(5), "complaint", "open"))
    rows = satisfied(con)
    assert {c: r["trend"] for c, r in rows.items()} == {
        "ONE": "single_survey",
        "EVEN": "steady",
        "GRUMBLE": "no_survey",
    }


def test_averages_per_value_tier_and_region():
    con = _demo()
    satisfied(con)
    frame = con.sql("FROM marts.satisfaction_by_tier_region").df()
    rows = {(r["value_tier"], r["province"]): r for r in frame.to_dict("records")}
    assert set(rows) == {("gold", "福建省"), ("silver", "福建省"), ("bronze", "广东省")}
    bronze = rows[("bronze", "广东省")]
    assert (bronze["customers"], bronze["avg_latest_score"], bronze["dropped"]) == (1, 1.0, 1)
    assert (
        bronze["open_complaints"],
        bronze["closed_complaints"],
        bronze["avg_days_to_close"],
    ) == (1, 1, 10)


def test_valuable_customers_whose_satisfaction_dropped_are_followed_up():
    con = _demo()
    satisfied(con)
    build_lifecycle(con, MARTS, AS_OF, "run", datetime(2026, 9, 30, 6))
    build_followup_today(con, MARTS, AS_OF)
    rows = (
        con.sql("FROM marts.followup_today WHERE reason = 'satisfaction_drop'")
        .df()
        .to_dict("records")
    )
    drops = {r["customer_id"]: r for r in rows}
    assert set(drops) == {"BIG"}  # SMALL dropped too, but is class C
    assert drops["BIG"]["due_date"].date() == days_ago(10)
    assert drops["BIG"]["detail"] == (
        "satisfaction 2.0 on 2026-09-20, down from 4.7 (mean of the 3 surveys before); ABC class A"
    )

"""Who to call today and why: consumables due, service due, dormant care, open complaints."""

from datetime import datetime, timedelta

from marts_tables import (
    AS_OF,
    add_customers,
    add_interactions,
    add_orders,
    days_ago,
    warehouse,
)

from sources.config import (
    ConsumablesFollowup,
    DormantCareFollowup,
    FollowupConfig,
    MartsConfig,
    ServiceFollowup,
)
from warehouse.marts import build_customer_value, build_followup_today, build_lifecycle

MARTS = MartsConfig(
    followup=FollowupConfig(
        consumables=ConsumablesFollowup(products=["墨盒"], min_orders=3, lead_days=7, max_overdue_days=60),
        service=ServiceFollowup(intervals={"复印机": 90}, lead_days=14, max_overdue_days=30),
    )
)  # fmt: skip


def followups(con, marts: MartsConfig = MARTS) -> list[dict]:
    build_customer_value(con, marts, AS_OF)
    build_lifecycle(con, marts, AS_OF, "run", datetime(2026, 9, 30, 6))
    build_followup_today(con, marts, AS_OF)
    return con.sql("FROM marts.followup_today ORDER BY priority").df().to_dict("records")


def reasons(rows: list[dict]) -> set[tuple[str, str]]:
    return {(r["customer_id"], r["reason"]) for r in rows}


def test_consumables_due_from_the_customers_own_rhythm():
    con = warehouse()
    names = ("DUE", "LATER", "FEW", "LOST", "PAPER", "SLOW")
    add_customers(con, *({"customer_id": c} for c in names))
    add_orders(con, *[("DUE", days_ago(d), 100, "墨盒") for d in (85, 55, 25)])  # next: in 5 days
    add_orders(con, *[("LATER", days_ago(d), 100, "墨盒") for d in (70, 40, 10)])  # in 20 days
    add_orders(con, *[("FEW", days_ago(d), 100, "墨盒") for d in (60, 30)])  # too few to predict
    add_orders(con, *[("LOST", days_ago(d), 100, "墨盒") for d in (200, 170, 140)])  # 110 days late
    add_orders(con, *[("PAPER", days_ago(d), 100, "纸") for d in (85, 55, 25)])  # not a consumable
    add_orders(
        con, *[("SLOW", days_ago(d), 100, "墨盒") for d in (250, 150, 100, 50)]
    )  # every 50: today
    rows = [r for r in followups(con) if r["reason"] == "consumables_due"]
    assert {r["customer_id"]: r["due_date"].date() for r in rows} == {
        "DUE": AS_OF + timedelta(days=5),
        "SLOW": AS_OF,
    }
    slow = next(r for r in rows if r["customer_id"] == "SLOW")
    assert slow["detail"] == f"墨盒: every 50 days, last {days_ago(50)}, next {AS_OF}"


def test_service_due_every_interval_after_the_purchase():
    con = warehouse()
    add_customers(con, *({"customer_id": c} for c in ("FIRST", "SECOND", "LATE", "NOT_YET", "OLD")))
    add_orders(con, ("FIRST", days_ago(80), 9000, "复印机"),  # first service in 10 days
               ("SECOND", days_ago(175), 9000, "复印机"),  # second service in 5 days
               ("LATE", days_ago(115), 9000, "复印机"),  # first service 25 days ago, not done
               ("NOT_YET", days_ago(125), 9000, "复印机"),  # 35 days late: next one in 55 days
               ("OLD", days_ago(6 * 365 - 5), 9000, "复印机"))  # fmt: skip  # beyond its service life
    rows = {r["customer_id"]: r for r in followups(con) if r["reason"] == "service_due"}
    assert {c: r["due_date"].date() for c, r in rows.items()} == {
        "FIRST": days_ago(-10),
        "SECOND": days_ago(-5),
        "LATE": days_ago(25),
    }
    assert rows["SECOND"]["detail"] == (
        f"复印机 bought {days_ago(175)}: service every 90 days, next {days_ago(-5)}"
    )


def test_dormant_customers_nobody_called_lately_and_open_complaints():
    con = warehouse()
    names = ("QUIET", "CALLED", "LONG_QUIET", "GONE", "UNHAPPY", "HEARD")
    add_customers(con, *({"customer_id": c} for c in names))
    for c in ("QUIET", "CALLED"):
        add_orders(con, (c, days_ago(200), 500), (c, days_ago(100), 500))
    add_orders(con, ("LONG_QUIET", days_ago(300), 500), ("LONG_QUIET", days_ago(150), 500))
    add_orders(con, ("GONE", days_ago(400), 500), ("UNHAPPY", days_ago(5), 500))
    add_interactions(con, ("CALLED", days_ago(10), "call", None, "回访"),
                     ("UNHAPPY", days_ago(20), "complaint", "open", "墨盒漏墨"),
                     ("UNHAPPY", days_ago(60), "complaint", "closed", "送货延迟"),
                     ("HEARD", days_ago(30), "complaint", "closed", "发票开错"))  # fmt: skip
    rows = followups(con)
    assert reasons(rows) == {("QUIET", "dormant_care"), ("UNHAPPY", "open_complaint")}
    complaint = next(r for r in rows if r["reason"] == "open_complaint")
    assert complaint["detail"] == f"1 open since {days_ago(20)}: 墨盒漏墨"
    quiet = next(r for r in rows if r["reason"] == "dormant_care")
    assert quiet["due_date"].date() == days_ago(10)  # dormant since 90 days after its last order

    # LONG_QUIET went dormant 60 days ago: past the default 30 days, listed when every
    # dormant customer is to be called
    backlog = MARTS.model_copy(update={"followup": MARTS.followup.model_copy(
        update={"dormant_care": DormantCareFollowup(max_days_dormant=None)})})  # fmt: skip
    assert ("LONG_QUIET", "dormant_care") in reasons(followups(con, backlog))


def test_one_row_per_customer_and_reason_best_customers_first_with_whom_to_call():
    con = warehouse()
    add_customers(
        con,
        {"customer_id": "BIG", "name": "洪来文印店", "phone": "+8659255512345", "owner": "林小燕"},
        {"customer_id": "SMALL", "name": "快心电脑", "mobile": "+8613800138000"},
        {"customer_id": "P1", "entity_type": "person", "name": "张伟", "mobile": "+8613911112222"},
        {"customer_id": "P2", "entity_type": "person", "name": "李娜"},  # named less, no number
        {"customer_id": "ME", "entity_type": "person", "name": "王芳", "mobile": "+8613700001111"},
    )
    con.execute(
        """CREATE TABLE master.relationships AS SELECT * FROM (VALUES
           ('BIG', 'P1', 'employment', ['dealers:1:contact']),
           ('BIG', 'P2', 'employment', ['dealers:1:contact', 'regional:2:contact'])
           ) t(from_customer_id, to_customer_id, relationship_type, evidence)"""
    )
    add_orders(con, *[("BIG", days_ago(d), 5000, "墨盒") for d in (85, 55, 25)])
    add_orders(con, ("SMALL", days_ago(80), 900, "复印机"), ("ME", days_ago(30), 10))
    add_interactions(con, ("BIG", days_ago(3), "complaint", "open", "打印机卡纸"),
                     ("BIG", days_ago(2), "complaint", "open", "打印机卡纸"),
                     ("ME", days_ago(1), "Complaint", "open", None))  # fmt: skip
    rows = followups(con)
    assert [(r["priority"], r["customer_id"], r["reason"]) for r in rows] == [
        (1, "BIG", "consumables_due"),
        (2, "BIG", "open_complaint"),
        (3, "SMALL", "service_due"),
    ]  # ME's complaint type is spelled 'Complaint' in marts.interactions here: not a complaint
    big = rows[0]
    assert (big["contact_name"], big["contact_phone"], big["contact_customer_id"]) == (
        "张伟", "+8613911112222", "P1")  # fmt: skip  # P2 is named more often but has no number
    assert big["owner"] == "林小燕" and big["value_tier"] == "silver" and big["abc_class"] == "A"
    assert rows[1]["detail"] == f"2 open since {days_ago(3)}: 打印机卡纸"
    assert (rows[2]["contact_name"], rows[2]["contact_phone"]) == ("快心电脑", "+8613800138000")


def test_open_complaints_are_listed_in_the_order_they_were_raised():
    con = warehouse()
    add_customers(con, {"customer_id": "UNHAPPY"})
    add_orders(con, ("UNHAPPY", days_ago(5), 500))
    add_interactions(con, ("UNHAPPY", days_ago(3), "complaint", "open", "打印机卡纸"),
                     ("UNHAPPY", days_ago(40), "complaint", "open", "墨盒漏墨"),
                     ("UNHAPPY", days_ago(2), "complaint", "open", "打印机卡纸"))  # fmt: skip
    (complaint,) = [r for r in followups(con) if r["reason"] == "open_complaint"]
    assert complaint["detail"] == f"3 open since {days_ago(40)}: 墨盒漏墨; 打印机卡纸"

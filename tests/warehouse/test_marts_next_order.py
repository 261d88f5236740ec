"""Each customer's next order from its own rhythm."""

from marts_tables import AS_OF, add_customers, add_orders, days_ago, table, warehouse

from sources.config import NextOrderConfig
from warehouse.marts import build_next_order


def test_next_order_from_the_median_gap_and_the_recent_amounts():
    con = warehouse()
    add_customers(con, *({"customer_id": c} for c in ("RHYTHM", "TWO", "LATE", "GONE")))
    # gaps 30, 30, 40 → median 30; last order 10 days ago → expected in 20 days
    add_orders(con, ("RHYTHM", days_ago(110), 100), ("RHYTHM", days_ago(80), 200),
               ("RHYTHM", days_ago(50), 300), ("RHYTHM", days_ago(10), 1000))  # fmt: skip
    add_orders(con, ("TWO", days_ago(60), 100), ("TWO", days_ago(30), 100))  # one gap: no rhythm
    # gaps 20, 20 → expected 5 days ago: overdue; GONE: gaps 10, 10, last 40 days ago ≥ 3 gaps
    add_orders(con, *[("LATE", days_ago(d), 50) for d in (65, 45, 25)])
    add_orders(con, *[("GONE", days_ago(d), 50) for d in (60, 50, 40)])
    build_next_order(con, NextOrderConfig(min_orders=3, amount_orders=3), AS_OF)
    rows = table(con, "next_order")
    assert set(rows) == {"RHYTHM", "LATE", "GONE"}
    r = rows["RHYTHM"]
    assert (r["order_days"], r["usual_gap_days"], r["days_until_expected"], r["status"]) == (
        4,
        30,
        20,
        "upcoming",
    )
    assert r["expected_date"].date() == days_ago(-20)
    assert float(r["expected_amount"]) == 300.0  # median of the last three: 200, 300, 1000
    assert (rows["LATE"]["days_until_expected"], rows["LATE"]["status"]) == (-5, "overdue")
    assert (rows["GONE"]["days_until_expected"], rows["GONE"]["status"]) == (-30, "lapsed")


def test_lines_of_one_order_are_one_order_and_one_day_is_one_step():
    """Two lines of one order are one amount; two orders on one day are one step of the rhythm."""
    con = warehouse()
    add_customers(con, {"customer_id": "S"})
    add_orders(con, ("S", days_ago(60), 10), ("S", days_ago(40), 10), ("S", days_ago(20), 10),
               ("S", days_ago(20), 30))  # fmt: skip
    con.execute(
        "UPDATE marts.orders SET order_key = 'o:3' WHERE order_key = 'o:4'"
    )  # one order, two lines
    build_next_order(con, NextOrderConfig(), AS_OF)
    r = table(con, "next_order")["S"]
    assert (r["order_days"], r["usual_gap_days"], float(r["expected_amount"])) == (3, 20, 10.0)

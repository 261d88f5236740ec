"""Customer value: ABC by cumulative revenue share, RFM scores and segments, value and credit tiers."""

from marts_tables import (
    AS_OF,
    add_customers,
    add_orders,
    add_receivables,
    days_ago,
    table,
    warehouse,
)

from sources.config import AbcConfig, CreditConfig, MartsConfig, RfmConfig, RfmSegment
from warehouse.marts import build_customer_value


def value(con, marts: MartsConfig | None = None) -> dict:
    build_customer_value(con, marts or MartsConfig(), AS_OF)
    return table(con, "customer_value")


def test_abc_classes_follow_the_cumulative_revenue_share():
    con = warehouse()
    add_customers(con, *({"customer_id": c} for c in ("CA", "CB", "CC", "CD", "CE", "CF")))
    add_orders(con, ("CA", days_ago(10), 50), ("CB", days_ago(20), 30), ("CC", days_ago(30), 15),
               ("CD", days_ago(40), 5), ("CE", days_ago(400), 1000))  # fmt: skip
    rows = value(con)
    # before CA nothing, before CB 50%, before CC 80% (not below 80%), before CD 95%
    assert {c: rows[c]["abc_class"] for c in ("CA", "CB", "CC", "CD")} == {
        "CA": "A", "CB": "A", "CC": "B", "CD": "C"}  # fmt: skip
    assert rows["CE"]["abc_class"] is None  # revenue only outside the 365-day window
    assert float(rows["CE"]["lifetime_revenue"]) == 1000 and float(rows["CE"]["revenue"]) == 0
    assert rows["CF"]["abc_class"] is None and rows["CF"]["rfm_segment"] == "never_ordered"
    assert rows["CB"]["cumulative_share"] == 0.8 and rows["CB"]["revenue_share"] == 0.3

    tighter = value(con, MartsConfig(abc=AbcConfig(a_share=0.5, b_share=0.9)))
    assert [tighter[c]["abc_class"] for c in ("CA", "CB", "CC", "CD")] == ["A", "B", "B", "C"]


def test_window_counts_orders_and_first_and_last_order():
    con = warehouse()
    add_customers(con, {"customer_id": "C1"})
    add_orders(con, ("C1", days_ago(500), 10), ("C1", days_ago(364), 20), ("C1", days_ago(3), 30),
               ("C1", days_ago(-5), 999))  # fmt: skip  # after as_of: not yet
    row = value(con)["C1"]
    assert (row["orders"], float(row["revenue"])) == (2, 50.0)
    assert (row["lifetime_orders"], float(row["lifetime_revenue"])) == (3, 60.0)
    assert row["first_order_date"].date() == days_ago(500)
    assert row["last_order_date"].date() == days_ago(3) and row["days_since_last_order"] == 3


def test_rfm_scores_rank_customers_and_ties_share_a_score():
    con = warehouse()
    add_customers(con, *({"customer_id": f"C{i}"} for i in range(1, 7)))
    for i in range(1, 6):  # C5: most recent, most frequent, biggest; C1 the opposite
        add_orders(con, *[(f"C{i}", days_ago(60 - 10 * i - k), 100 * i) for k in range(i)])
    add_orders(con, ("C6", days_ago(10), 100), ("C6", days_ago(11), 100))  # C6 like C2 in F
    rows = value(con)
    scores = {
        c: (r["recency_score"], r["frequency_score"], r["monetary_score"]) for c, r in rows.items()
    }
    assert scores["C1"] == (1, 1, 1) and scores["C5"] == (5, 5, 5)
    assert scores["C2"][1] == scores["C6"][1]  # two orders each: the same frequency score
    assert rows["C5"]["rfm_score"] == "555" and rows["C5"]["rfm_segment"] == "champions"
    assert rows["C1"]["rfm_segment"] == "hibernating"

    custom = RfmConfig(bins=3, segments=[RfmSegment(name="top", monetary=(3, 3))], unmatched="rest")
    rows = value(con, MartsConfig(rfm=custom))
    assert {c: r["rfm_segment"] for c, r in rows.items()} == {
        "C1": "rest", "C2": "rest", "C3": "rest", "C4": "top", "C5": "top", "C6": "rest"}  # fmt: skip
    assert max(r["recency_score"] for r in rows.values()) == 3


def test_value_tiers_from_window_revenue():
    con = warehouse()
    add_customers(con, *({"customer_id": c} for c in ("P", "G", "S", "B", "N")))
    add_orders(con, ("P", days_ago(1), 200_000), ("G", days_ago(1), 199_999.99),
               ("S", days_ago(1), 10_000), ("B", days_ago(1), 0.01))  # fmt: skip
    tiers = {c: r["value_tier"] for c, r in value(con).items()}
    assert tiers == {"P": "platinum", "G": "gold", "S": "silver", "B": "bronze", "N": "none"}


def test_credit_tiers_from_limit_and_overdue_receivables():
    con = warehouse()
    add_customers(con, {"customer_id": "RATIO", "credit_limit": 10_000},
                  {"customer_id": "OLD", "credit_limit": 100_000},
                  {"customer_id": "LATE", "credit_limit": 100_000},
                  {"customer_id": "OVER", "credit_limit": 1_000},
                  {"customer_id": "PRIME", "credit_limit": 150_000},
                  {"customer_id": "STD", "credit_limit": 20_000},
                  {"customer_id": "OPEN"}, {"customer_id": "CASH"})  # fmt: skip
    add_receivables(con, ("RATIO", days_ago(5), 5_000),  # overdue half the limit
                    ("OLD", days_ago(95), 100),  # a small invoice 95 days overdue
                    ("LATE", days_ago(10), 300), ("LATE", days_ago(-20), 900),
                    ("OVER", days_ago(-10), 1_500),  # not due, but above the limit
                    ("PRIME", days_ago(-30), 50_000), ("OPEN", days_ago(-30), 400))  # fmt: skip
    rows = value(
        con, MartsConfig(credit=CreditConfig(block_overdue_ratio=0.5, block_overdue_days=90))
    )
    assert {c: r["credit_tier"] for c, r in rows.items()} == {
        "RATIO": "blocked", "OLD": "blocked", "LATE": "watch", "OVER": "watch",
        "PRIME": "prime", "STD": "standard", "OPEN": "standard", "CASH": "no_credit"}  # fmt: skip
    late = rows["LATE"]
    assert (float(late["open_amount"]), float(late["overdue_amount"])) == (1200.0, 300.0)
    assert (late["overdue_invoices"], late["max_days_overdue"]) == (1, 10)
    assert late["overdue_ratio"] == 300 / 100_000
    assert rows["OPEN"]["overdue_ratio"] == 0  # no limit: overdue share of the open amount

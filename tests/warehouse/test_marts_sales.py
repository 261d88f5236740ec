"""Sales by region, product and month; largest and fastest-growing customers; the 360 view."""

import random
from datetime import date, datetime, timedelta

import pandas as pd
import pytest
from marts_tables import AS_OF, add_customers, add_interactions, add_orders, warehouse

from sources.config import GrowthConfig, MartsConfig
from warehouse.marts import (
    build_customer_360,
    build_customer_growth,
    build_customer_value,
    build_followup_today,
    build_lifecycle,
    build_sales_by_region_product_month,
)
from warehouse.marts.sales import period_starts


def growth_demo():
    con = warehouse()
    add_customers(con, {"customer_id": "A", "province": "福建省", "city": "厦门市"},
                  {"customer_id": "B", "province": "福建省", "city": "福州市"},
                  {"customer_id": "C", "province": "广东省", "city": "广州市"})  # fmt: skip
    add_orders(con, ("A", date(2026, 2, 1), 100, "纸"), ("A", date(2026, 5, 1), 100, "纸"),
               ("A", date(2026, 8, 1), 100, "纸"), ("B", date(2026, 5, 2), 50, "墨盒"),
               ("B", date(2026, 8, 2), 200, "墨盒"), ("B", date(2026, 9, 30), 300, "纸"),
               ("C", date(2026, 7, 3), 300, "墨盒"), ("C", date(2026, 10, 1), 9999, "纸"))  # fmt: skip
    return con


def test_sales_per_month_region_and_product():
    con = growth_demo()
    add_orders(con, ("B", date(2026, 8, 20), 25, "墨盒"))
    build_sales_by_region_product_month(con)
    rows = con.sql(
        """SELECT month, city, product, orders, customers, revenue FROM marts.sales_by_region_product_month
           WHERE month = DATE '2026-08-01' ORDER BY city"""
    ).fetchall()
    assert [(r[1], r[2], r[3], r[4], float(r[5])) for r in rows] == [
        ("厦门市", "纸", 1, 1, 100.0),
        ("福州市", "墨盒", 2, 1, 225.0),
    ]


def growth(con, as_of=AS_OF, **settings) -> dict:
    build_customer_growth(con, MartsConfig(growth=GrowthConfig(**settings)), as_of)
    frame = con.sql("FROM marts.customer_growth").df()
    return {
        (r["period"].date(), r["scope"], r["scope_value"], r["customer_id"]): r
        for r in frame.to_dict("records")
    }


def test_largest_and_fastest_growing_customers_per_complete_period():
    con = growth_demo()
    rows = growth(con, period="quarter", periods=2, top_n=2)
    q3 = date(2026, 7, 1)
    overall = {k[3]: r for k, r in rows.items() if k[0] == q3 and k[1] == "overall"}
    assert set(overall) == {"B", "C"}  # A is third both by revenue and growth
    assert float(overall["B"]["revenue"]) == 500 and float(overall["B"]["growth"]) == 450
    assert overall["B"]["growth_rate"] == 9.0 and pd.isna(overall["C"]["growth_rate"])  # new in Q3
    assert overall["B"]["revenue_rank"] == 1 and overall["B"]["growth_rank"] == 1
    assert overall["C"]["is_largest"] and overall["C"]["is_fastest_growing"]
    assert {k[0] for k in rows} == {date(2026, 4, 1), q3}  # Q2 and Q3; Q1 only to compare
    region = {k[3] for k in rows if k[0] == q3 and k[1] == "region" and k[2] == "福建省"}
    assert region == {"A", "B"}
    product = rows[(q3, "product", "纸", "A")]
    assert float(product["previous_revenue"]) == 100 and not product["is_fastest_growing"]

    shorter = growth(con, as_of=date(2026, 9, 29), period="quarter", periods=1, top_n=5)
    assert {k[0] for k in shorter} == {date(2026, 4, 1)}  # Q3 is not over on 29 September


#: The growth ranking as a rank over every row of each ranking, as the mart first computed
#: it: the reference the ranking over the candidate rows only must equal.
_EVERY_ROW_RANKED = """
    WITH o AS (
        SELECT date_trunc('{period}', o.order_date)::DATE AS period, o.customer_id,
               coalesce(c.province, '') AS province, coalesce(o.product, '') AS product, o.amount
        FROM marts.orders o LEFT JOIN master.customers c USING (customer_id)
        WHERE o.order_date >= $starts[1] AND o.order_date < ($starts[-1] + {step})::DATE
    ),
    scoped AS (
        SELECT period, 'overall' AS scope, '' AS scope_value, customer_id, sum(amount) AS revenue
        FROM o GROUP BY ALL
        UNION ALL SELECT period, 'region', province, customer_id, sum(amount) FROM o GROUP BY ALL
        UNION ALL SELECT period, 'product', product, customer_id, sum(amount) FROM o GROUP BY ALL
    ),
    compared AS (
        SELECT cur.*, coalesce(prev.revenue, 0) AS previous_revenue,
               cur.revenue - coalesce(prev.revenue, 0) AS growth,
               ((cur.revenue - prev.revenue) / nullif(prev.revenue, 0))::DOUBLE AS growth_rate
        FROM scoped cur
        LEFT JOIN scoped prev ON prev.scope = cur.scope AND prev.scope_value = cur.scope_value
             AND prev.customer_id = cur.customer_id AND prev.period = (cur.period - {step})::DATE
        WHERE cur.period >= $starts[2]
    ),
    ranked AS (
        SELECT *,
               rank() OVER (PARTITION BY period, scope, scope_value ORDER BY revenue DESC) AS revenue_rank,
               rank() OVER (PARTITION BY period, scope, scope_value ORDER BY growth DESC) AS growth_rank
        FROM compared
    )
    SELECT r.period, '{period}' AS period_type, r.scope, nullif(r.scope_value, '') AS scope_value,
           r.customer_id, c.name, r.revenue::DECIMAL(18, 2) AS revenue,
           r.previous_revenue::DECIMAL(18, 2) AS previous_revenue, r.growth::DECIMAL(18, 2) AS growth,
           r.growth_rate, r.revenue_rank, CASE WHEN r.growth > 0 THEN r.growth_rank END AS growth_rank,
           r.revenue_rank <= $top_n AS is_largest, r.growth > 0 AND r.growth_rank <= $top_n AS is_fastest_growing
    FROM ranked r LEFT JOIN master.customers c USING (customer_id)
    WHERE r.revenue_rank <= $top_n OR (r.growth > 0 AND r.growth_rank <= $top_n)
    ORDER BY r.period, r.scope, r.scope_value, r.revenue_rank, r.customer_id
"""


@pytest.mark.parametrize(
    ("period", "step", "top_n", "seed"),
    [("quarter", "INTERVAL 3 MONTH", 3, 1), ("month", "INTERVAL 1 MONTH", 2, 2),
     ("quarter", "INTERVAL 3 MONTH", 40, 3), ("year", "INTERVAL 1 YEAR", 5, 4)],
)  # fmt: skip
def test_growth_ranks_equal_a_rank_over_every_row(period, step, top_n, seed):
    """Only the rows that can be listed are ranked: the rows, ranks and ties are those of a
    rank over every customer of each ranking (amounts from a short list, so that revenues
    and growths tie; credit notes, so that growth is negative and revenue may be). A
    customer's region row is its overall row under its province (none: the empty region,
    also for the customers C60-C64 the master does not hold)."""
    rnd = random.Random(seed)
    con = warehouse()
    provinces, products = ["福建省", "广东省", None], ["纸", "墨盒", "打印机", None]
    add_customers(
        con, *({"customer_id": f"C{i:02}", "province": rnd.choice(provinces)} for i in range(60))
    )
    add_orders(con, *(
        (f"C{rnd.randrange(65):02}", AS_OF - timedelta(days=rnd.randrange(900)),
         rnd.choice([100, 100, 200, 250, 50, 0, -50]), rnd.choice(products))
        for _ in range(900)
    ))  # fmt: skip
    rows = growth(con, period=period, periods=3, top_n=top_n)
    assert rows  # something is listed
    starts = period_starts(con, period, 3, AS_OF)
    expected = con.execute(
        _EVERY_ROW_RANKED.format(period=period, step=step), {"starts": starts, "top_n": top_n}
    ).fetchall()
    assert con.execute("FROM marts.customer_growth").fetchall() == expected


def test_customer_360_joins_master_value_lifecycle_and_relationships():
    con = growth_demo()
    add_customers(con, {"customer_id": "P", "entity_type": "person", "name": "张伟"})
    con.execute(
        """CREATE TABLE master.relationships AS SELECT * FROM (VALUES
           ('A', 'P', 'employment'), ('A', 'B', 'holding'), ('A', 'C', 'holding'), ('B', 'A', 'served_by_dealer')
           ) t(from_customer_id, to_customer_id, relationship_type), LATERAL (SELECT ['x'] AS evidence)"""
    )
    con.execute(
        """CREATE TABLE master.customer_roles AS SELECT * FROM (VALUES
           ('A', 'customer'), ('A', 'dealer'), ('P', 'contact')) t(customer_id, role)"""
    )
    add_interactions(con, ("A", date(2026, 9, 1), "complaint", "open", "送货延迟"))
    marts = MartsConfig()
    build_customer_value(con, marts, AS_OF)
    build_lifecycle(con, marts, AS_OF, "run", datetime(2026, 9, 30))
    build_followup_today(con, marts, AS_OF)
    build_customer_360(con, marts)
    rows = {r["customer_id"]: r for r in con.sql("FROM marts.customer_360").df().to_dict("records")}
    assert set(rows) == {"A", "B", "C", "P"}
    a = rows["A"]
    assert list(a["roles"]) == ["customer", "dealer"]
    assert a["lifecycle_stage"] == "reactivated"  # 92 days between its last two orders
    assert (a["employees"], a["subsidiaries"], a["serving_dealers"], a["served_customers"]) == (
        1,
        2,
        0,
        1,
    )
    assert a["relationships"] == 4 and a["open_complaints"] == 1 and a["interactions"] == 1
    assert list(a["followup_reasons"]) == ["open_complaint"]
    assert float(a["lifetime_revenue"]) == 300 and a["value_tier"] == "bronze"
    assert rows["B"]["parent_companies"] == 1 and rows["B"]["serving_dealers"] == 1
    assert rows["P"]["employers"] == 1 and rows["P"]["lifecycle_stage"] is None  # a contact only

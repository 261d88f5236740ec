"""Sales over time: ``marts.sales_by_region_product_month`` and ``marts.customer_growth``.

``sales_by_region_product_month``: one row per month, province, city and product (region
from the golden customer's address; empty when unknown) with order lines, orders,
customers, quantity and revenue, over every order in ``marts.orders``.

``customer_growth``: the largest and the fastest-growing customers of each of the last
``periods`` complete periods (month, quarter or year ending on or before ``as_of``),
overall, per province and per product. Growth is the revenue gained over the previous
period (``growth_rate`` relative to it, empty when the customer bought nothing then). A
row is listed when the customer ranks within ``top_n`` by revenue or, with positive
growth, by growth.
"""

from __future__ import annotations

from datetime import date

import duckdb

from sources.config import MartsConfig
from warehouse.marts._sql import create_table

_STEP = {"month": "INTERVAL 1 MONTH", "quarter": "INTERVAL 3 MONTH", "year": "INTERVAL 1 YEAR"}


def build_sales_by_region_product_month(con: duckdb.DuckDBPyConnection) -> int:
    """Create ``marts.sales_by_region_product_month`` from ``marts.orders`` and the master."""
    return create_table(
        con,
        "marts",
        "sales_by_region_product_month",
        """SELECT date_trunc('month', o.order_date)::DATE AS month, c.province, c.city, o.product,
                  count(*) AS order_lines, count(DISTINCT o.order_key) AS orders,
                  count(DISTINCT o.customer_id) AS customers, sum(o.quantity) AS quantity,
                  sum(o.amount)::DECIMAL(18, 2) AS revenue
           FROM marts.orders o LEFT JOIN master.customers c USING (customer_id)
           GROUP BY ALL ORDER BY ALL""",
    )


def build_customer_growth(con: duckdb.DuckDBPyConnection, marts: MartsConfig, as_of: date) -> int:
    """Create ``marts.customer_growth`` from ``marts.orders`` and the master."""
    growth = marts.growth
    step = _STEP[growth.period]
    sql = f"""
        WITH bounds AS (
            SELECT date_trunc('{growth.period}', $as_of + 1)::DATE AS period_end,
                   (date_trunc('{growth.period}', $as_of + 1) - {step} * ($periods + 1))::DATE AS compare_from,
                   (date_trunc('{growth.period}', $as_of + 1) - {step} * $periods)::DATE AS report_from
        ),
        o AS (
            SELECT date_trunc('{growth.period}', o.order_date)::DATE AS period, o.customer_id,
                   coalesce(c.province, '') AS province, coalesce(o.product, '') AS product, o.amount
            FROM marts.orders o LEFT JOIN master.customers c USING (customer_id), bounds b
            WHERE o.order_date >= b.compare_from AND o.order_date < b.period_end
        ),
        scoped AS (
            SELECT period, 'overall' AS scope, '' AS scope_value, customer_id, sum(amount) AS revenue
            FROM o GROUP BY ALL
            UNION ALL
            SELECT period, 'region', province, customer_id, sum(amount) FROM o GROUP BY ALL
            UNION ALL
            SELECT period, 'product', product, customer_id, sum(amount) FROM o GROUP BY ALL
        ),
        compared AS (
            SELECT cur.*, coalesce(prev.revenue, 0) AS previous_revenue,
                   cur.revenue - coalesce(prev.revenue, 0) AS growth,
                   ((cur.revenue - prev.revenue) / nullif(prev.revenue, 0))::DOUBLE AS growth_rate
            FROM scoped cur
            LEFT JOIN scoped prev ON prev.scope = cur.scope AND prev.scope_value = cur.scope_value
                 AND prev.customer_id = cur.customer_id AND prev.period = (cur.period - {step})::DATE
            WHERE cur.period >= (SELECT report_from FROM bounds)
        ),
        ranked AS (
            SELECT *,
                   rank() OVER (PARTITION BY period, scope, scope_value ORDER BY revenue DESC) AS revenue_rank,
                   rank() OVER (PARTITION BY period, scope, scope_value ORDER BY growth DESC) AS growth_rank
            FROM compared
        )
        SELECT r.period, '{growth.period}' AS period_type, r.scope, nullif(r.scope_value, '') AS scope_value,
               r.customer_id, c.name, r.revenue::DECIMAL(18, 2) AS revenue,
               r.previous_revenue::DECIMAL(18, 2) AS previous_revenue, r.growth::DECIMAL(18, 2) AS growth,
               r.growth_rate, r.revenue_rank, CASE WHEN r.growth > 0 THEN r.growth_rank END AS growth_rank,
               r.revenue_rank <= $top_n AS is_largest, r.growth > 0 AND r.growth_rank <= $top_n AS is_fastest_growing
        FROM ranked r LEFT JOIN master.customers c USING (customer_id)
        WHERE r.revenue_rank <= $top_n OR (r.growth > 0 AND r.growth_rank <= $top_n)
        ORDER BY r.period, r.scope, r.scope_value, r.revenue_rank, r.customer_id
    """
    return create_table(
        con,
        "marts",
        "customer_growth",
        sql,
        {"as_of": as_of, "periods": growth.periods, "top_n": growth.top_n},
    )

"""Sales over time: ``marts.sales_by_region_product_month`` and ``marts.customer_growth``.

``sales_by_region_product_month``: one row per month, province, city and product (region
from the golden customer's address; empty when unknown) with order lines, orders,
customers, quantity and revenue, over every order in ``marts.orders``. The orders are summed
per month, customer and product first, so that a group's customers are its rows rather than
a distinct count in every group (after the benchmark's 1% day at 100k records, six runs
each, load average 9: 0.14-0.16 s of CPU instead of 0.17-0.21 s).

``customer_growth``: the largest and the fastest-growing customers of each of the last
``periods`` complete periods (month, quarter or year ending on or before ``as_of``),
overall, per province and per product. Growth is the revenue gained over the previous
period (``growth_rate`` relative to it, empty when the customer bought nothing then). A
row is listed when the customer ranks within ``top_n`` by revenue or, with positive
growth, by growth.

How growth is computed cheaply: each customer's revenue in every period of the window is
summed in one aggregate per scope (a column per period), so the period before is in the
same row, not found by joining the periods to themselves; and only the rows that can be
listed are ranked. A ranking's ``top_n``-th revenue (and growth) is found by a hash
aggregate (``max(revenue, top_n)``), which gives the listed rows without sorting; a listed
row's rank counts the rows above it, which all have at least the least revenue (growth)
of a listed row, so only those are sorted. After the benchmark's 1% day at 100k records
(403,194 customer-period rows in 100 rankings; 2,820 sorted by revenue, 16,371 by growth)
the mart took 0.29-0.32 s of CPU instead of 0.51-0.53 s (load average 3.7, five runs
each), the same rows. A customer has one province, so its region row is its overall row
under that province: the orders are summed per customer once for both, and only those
sums (not every order line) are joined to the golden records for the province (after the
same day at 100k, eight runs each, alternated, load average 9: 0.24-0.27 s of CPU instead
of 0.29-0.34 s, the same rows). The rows a listed row's ranks count are taken from the
customer-period rows in one join (``ranked_rows``), and ranked and joined back from there,
not from every row twice more: on the benchmark's 100k warehouse copied ten times (3.4M
customer-period rows; one thread, four runs each, two builds a run, alternated, load
average 12-16) 1.63-2.13 s of CPU instead of 1.98-2.30 s, the same rows.
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
        """WITH per_customer AS (  -- customers counted as groups, not by a distinct per group
               SELECT date_trunc('month', order_date)::DATE AS month, customer_id, product,
                      count(*) AS orders, sum(quantity) AS quantity, sum(amount) AS revenue
               FROM marts.orders GROUP BY ALL
           )
           SELECT o.month, c.province, c.city, o.product,
                  sum(o.orders)::BIGINT AS order_lines, sum(o.orders)::BIGINT AS orders,  -- an order is a row
                  count(*) AS customers, sum(o.quantity) AS quantity,
                  sum(o.revenue)::DECIMAL(18, 2) AS revenue
           FROM per_customer o LEFT JOIN master.customers c USING (customer_id)
           GROUP BY ALL ORDER BY ALL""",
    )


def build_customer_growth(con: duckdb.DuckDBPyConnection, marts: MartsConfig, as_of: date) -> int:
    """Create ``marts.customer_growth`` from ``marts.orders`` and the master."""
    growth = marts.growth
    starts = period_starts(con, growth.period, growth.periods, as_of)
    end = f"(DATE '{starts[-1]}' + {_STEP[growth.period]})::DATE"
    # per customer and scope, its revenue in each period (r0: the one compared against)
    sums = ", ".join(
        f"sum(amount) FILTER (WHERE period = DATE '{start}') AS r{i}"
        for i, start in enumerate(starts)
    )
    # each reported period with its revenue and the period's before
    periods = ", ".join(
        f"{{'period': DATE '{start}', 'revenue': r{i}, 'previous': r{i - 1}}}"
        for i, start in enumerate(starts)
        if i > 0
    )
    partition = "period, scope, scope_value"
    sql = f"""
        WITH o AS (
            SELECT date_trunc('{growth.period}', order_date)::DATE AS period, customer_id,
                   coalesce(product, '') AS product, amount
            FROM marts.orders WHERE order_date >= DATE '{starts[0]}' AND order_date < {end}
        ),
        overall AS (SELECT customer_id, {sums} FROM o GROUP BY ALL),
        scoped AS (  -- a customer's region is one province: its region row is its overall row
            SELECT 'overall' AS scope, '' AS scope_value, * FROM overall
            UNION ALL
            SELECT 'region', coalesce(c.province, ''), s.* FROM overall s LEFT JOIN master.customers c USING (customer_id)
            UNION ALL
            SELECT 'product', product, customer_id, {sums} FROM o GROUP BY ALL
        ),
        compared AS MATERIALIZED (
            SELECT period, scope, scope_value, customer_id, revenue,
                   coalesce(previous, 0) AS previous_revenue, revenue - coalesce(previous, 0) AS growth,
                   ((revenue - previous) / nullif(previous, 0))::DOUBLE AS growth_rate
            FROM (SELECT scope, scope_value, customer_id, unnest([{periods}], recursive := true) FROM scoped)
            WHERE revenue IS NOT NULL
        ),
        cuts AS (  -- the top_n-th revenue and growth of each ranking (its least when shorter)
            SELECT {partition}, list_min(max(revenue, $top_n)) AS revenue_cut,
                   list_min(max(growth, $top_n)) AS growth_cut
            FROM compared GROUP BY ALL
        ),
        listed AS (  -- the least revenue and positive growth whose rank a listed row shows
            SELECT {partition}, min(revenue) AS min_revenue, min(growth) FILTER (WHERE growth > 0) AS min_growth
            FROM compared JOIN cuts USING ({partition})
            WHERE revenue >= revenue_cut OR (growth > 0 AND growth >= growth_cut)
            GROUP BY ALL
        ),
        ranked_rows AS MATERIALIZED (  -- every row a listed row's rank counts, in one pass
            SELECT c.*, c.revenue >= l.min_revenue AS by_revenue, c.growth >= l.min_growth AS by_growth
            FROM compared c JOIN listed l USING ({partition})
            WHERE c.revenue >= l.min_revenue OR c.growth >= l.min_growth
        ),
        by_revenue AS (
            SELECT {partition}, customer_id,
                   rank() OVER (PARTITION BY {partition} ORDER BY revenue DESC) AS revenue_rank
            FROM ranked_rows WHERE by_revenue
        ),
        by_growth AS (
            SELECT {partition}, customer_id,
                   rank() OVER (PARTITION BY {partition} ORDER BY growth DESC) AS growth_rank
            FROM ranked_rows WHERE by_growth
        ),
        ranked AS (
            SELECT c.* EXCLUDE (by_revenue, by_growth), r.revenue_rank, g.growth_rank
            FROM ranked_rows c JOIN by_revenue r USING ({partition}, customer_id)
            LEFT JOIN by_growth g USING ({partition}, customer_id)
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
    return create_table(con, "marts", "customer_growth", sql, {"top_n": growth.top_n})


def period_starts(
    con: duckdb.DuckDBPyConnection, period: str, periods: int, as_of: date
) -> list[date]:
    """The first days of the last ``periods`` complete periods (month, quarter or year ending
    on or before ``as_of``) and of the one before them (compared against), oldest first."""
    (starts,) = con.execute(
        f"""SELECT list((date_trunc('{period}', $as_of + 1) - {_STEP[period]} * k)::DATE ORDER BY k DESC)
            FROM range(1, $periods + 2) t(k)""",
        {"as_of": as_of, "periods": periods},
    ).fetchall()[0]
    return list(starts)

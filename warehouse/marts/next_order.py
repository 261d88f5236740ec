"""``marts.next_order``: when each customer is expected to order next, and for how much.

A customer's own rhythm predicts it, as a salesperson who knows the account would: the
usual gap is the median of the days between its consecutive order days, the expected date
is its last order day plus that gap, and the expected amount is the median of its latest
``amount_orders`` orders (an order's lines summed). Only customers with orders on at least
``min_orders`` distinct days up to ``as_of`` are listed: two orders are one gap, not a
rhythm.

``status``: ``upcoming`` when the expected date is on or after ``as_of``, ``overdue`` when
it has passed, ``lapsed`` when no order came for ``lapsed_after_gaps`` usual gaps (the
customer is more likely lost than late: lifecycle and dormant care deal with it).

The median and not the mean: one order placed in a rush after a long holiday (a gap of 200
days among gaps of 30) moves the mean gap of a 6-order customer from 30 to 64 days and
the median not at all.

One sort serves both: each customer's orders in date order give the gaps (a gap of 0 is a
second order on a day already counted, so the gaps between order days are the non-zero
ones) and, counted from the end, the latest orders. It sorted them twice before (the
distinct order days, then the orders newest first): at 1M source records (3.2M order
lines, a loaded machine, two runs each) the mart took 6.4-6.6 s of CPU instead of
8.6-10.4 s, the same rows.
"""

from __future__ import annotations

from datetime import date

import duckdb

from sources.config import NextOrderConfig
from warehouse.marts.activity import ORDERS, customer_rows
from warehouse.marts.by_customer import within, write_by_customer

STATUSES = ("upcoming", "overdue", "lapsed")


def _inputs_sql(orders: str) -> str:
    """Per customer with orders: a fingerprint of what its row is computed from (its rows of
    ``marts.orders``, as ``orders`` sums them: :func:`~warehouse.marts.activity.customer_rows`;
    its golden name)."""
    return f"""SELECT o.customer_id, hash(o.h, c.name) AS h
               FROM {orders} o LEFT JOIN master.customers c USING (customer_id)"""


def _rows_sql(customers: str | None) -> str:
    """The mart's rows for ``customers`` (None: every customer)."""
    return f"""
        WITH orders AS (
            SELECT customer_id, order_key, min(order_date) AS order_date, sum(amount) AS amount
            FROM marts.orders WHERE order_date <= $as_of AND {within("customer_id", customers)}
            GROUP BY ALL
        ),
        sequence AS (  -- one sort: the gaps between days and the latest orders read it
            SELECT customer_id, order_date, amount, order_date - lag(order_date) OVER w AS gap,
                   row_number() OVER w AS n, count(*) OVER (PARTITION BY customer_id) AS total
            FROM orders WINDOW w AS (PARTITION BY customer_id ORDER BY order_date, order_key)
        ),
        per AS (  -- a gap of 0 is a second order on the same day: not a new order day
            SELECT customer_id, count(*) FILTER (WHERE gap IS NULL OR gap > 0) AS order_days,
                   max(order_date) AS last_order_date,
                   round(median(gap) FILTER (WHERE gap > 0))::INTEGER AS usual_gap_days,
                   median(amount) FILTER (WHERE n > total - $amount_orders) AS amount
            FROM sequence GROUP BY customer_id
        ),
        rhythm AS (SELECT * EXCLUDE (amount) FROM per WHERE order_days >= $min_orders),
        recent AS (SELECT customer_id, amount FROM per)
        SELECT $as_of AS as_of, r.customer_id, c.name, r.order_days, r.last_order_date,
               r.usual_gap_days, (r.last_order_date + r.usual_gap_days)::DATE AS expected_date,
               (r.last_order_date + r.usual_gap_days) - $as_of AS days_until_expected,
               a.amount::DECIMAL(18, 2) AS expected_amount,
               CASE WHEN r.last_order_date + r.usual_gap_days >= $as_of THEN 'upcoming'
                    WHEN $as_of - r.last_order_date >= $lapsed * r.usual_gap_days THEN 'lapsed'
                    ELSE 'overdue' END AS status
        FROM rhythm r JOIN recent a USING (customer_id) LEFT JOIN master.customers c USING (customer_id)
        ORDER BY expected_date, customer_id
        """


def build_next_order(
    con: duckdb.DuckDBPyConnection, cfg: NextOrderConfig, as_of: date, *, changes_only: bool = False
) -> int:
    """Create ``marts.next_order`` from ``marts.orders`` and the master (``changes_only``:
    compute again only the rows of the customers whose orders, name or day changed,
    :func:`~warehouse.marts.by_customer.write_by_customer`)."""
    return write_by_customer(
        con,
        "next_order",
        _rows_sql,
        _inputs_sql(customer_rows(con, ORDERS)),
        {
            "as_of": as_of,
            "min_orders": cfg.min_orders,
            "amount_orders": cfg.amount_orders,
            "lapsed": cfg.lapsed_after_gaps,
        },
        changes_only=changes_only,
    )

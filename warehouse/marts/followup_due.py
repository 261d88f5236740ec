"""The follow-up reasons read from a customer's own orders: ``consumables_due`` and
``service_due`` (:mod:`warehouse.marts.followup` says what each means), kept per customer in
``marts.followup_due`` and computed again only for the customers whose orders changed.

A customer's due consumables and services are a function of its orders of consumable and
serviced products (product and day) and of the day and the settings alone, so they are a
per-customer mart (:mod:`warehouse.marts.by_customer`): a sync that works on what changed
computes them only for the customers whose fingerprint of those orders changed, are new or
are gone. The follow-up list itself stays whole: its priorities rank every customer.

Why: the two reasons were about 60% of the list's CPU, most of it the sort of every
consumable order line by customer, product and day to find each rhythm (at 100k records
after a 1% day, 0.16 s of the list's 0.27-0.32 s; loaded machine, load average 9-10).
"""

from __future__ import annotations

from datetime import date

import duckdb

from sources.config import FollowupConfig
from warehouse.marts.activity import ORDERS, customer_rows
from warehouse.marts.by_customer import within, write_by_customer

#: The table of the order reasons, one row per customer and reason.
TABLE = "followup_due"


def _inputs_sql(orders: str) -> str:
    """Per customer with orders: a fingerprint of its rows of ``marts.orders``, as ``orders``
    sums them (:func:`~warehouse.marts.activity.customer_rows`): they hold the orders of
    consumable and serviced products (product and day), all the two reasons read."""
    return f"SELECT customer_id, h FROM {orders}"


def _rows_sql(customers: str | None) -> str:
    """The order reasons of ``customers`` (None: every customer): ``customer_id``,
    ``reason``, ``due_date``, ``detail``."""
    return f"""
        WITH consumable_orders AS (  -- order lines: a gap of 0 is another line of an order day already counted
            SELECT customer_id, product, order_date,
                   order_date - lag(order_date) OVER (PARTITION BY customer_id, product ORDER BY order_date) AS gap
            FROM marts.orders
            WHERE order_date <= $as_of AND list_contains($consumables::VARCHAR[], product)
              AND {within("customer_id", customers)}
        ),
        rhythm AS (
            SELECT customer_id, product, count(*) FILTER (WHERE gap IS NULL OR gap > 0) AS n,
                   max(order_date) AS last_order, round(median(gap) FILTER (WHERE gap > 0))::INTEGER AS every
            FROM consumable_orders
            GROUP BY ALL HAVING n >= $min_orders
        ),
        consumables_due AS (
            SELECT customer_id, 'consumables_due' AS reason, min(last_order + every) AS due_date,
                   string_agg(product || ': every ' || every || ' days, last ' || last_order || ', next '
                              || (last_order + every), '; ' ORDER BY last_order + every, product) AS detail
            FROM rhythm
            WHERE last_order + every - $consumables_lead <= $as_of
              AND $as_of - (last_order + every) <= $consumables_overdue
            GROUP BY customer_id
        ),
        machines AS (
            SELECT o.customer_id, o.product, o.order_date, s.every
            FROM marts.orders o JOIN (SELECT unnest($service_products::VARCHAR[]) AS product,
                                             unnest($service_days::INTEGER[]) AS every) s USING (product)
            WHERE o.order_date <= $as_of AND $as_of - o.order_date <= $max_age
              AND {within("o.customer_id", customers)}
        ),
        services AS (
            SELECT *, order_date + every * greatest(1, ceil(($as_of - $service_overdue - order_date) / every))::INTEGER
                      AS next_service
            FROM machines
        ),
        service_due AS (
            SELECT customer_id, 'service_due' AS reason, min(next_service) AS due_date,
                   string_agg(product || ' bought ' || order_date || ': service every ' || every
                              || ' days, next ' || next_service, '; ' ORDER BY next_service, product, order_date) AS detail
            FROM services WHERE next_service <= $as_of + $service_lead
            GROUP BY customer_id
        )
        SELECT * FROM consumables_due UNION ALL SELECT * FROM service_due"""


def build_followup_due(
    con: duckdb.DuckDBPyConnection,
    followup: FollowupConfig,
    as_of: date,
    *,
    changes_only: bool = False,
) -> int:
    """Create ``marts.followup_due`` from ``marts.orders`` (``changes_only``: compute again
    only the rows of the customers whose consumable or serviced orders changed); row count."""
    service = followup.service.intervals
    return write_by_customer(
        con,
        TABLE,
        _rows_sql,
        _inputs_sql(customer_rows(con, ORDERS)),
        {
            "as_of": as_of,
            "consumables": list(followup.consumables.products),
            "min_orders": followup.consumables.min_orders,
            "consumables_lead": followup.consumables.lead_days,
            "consumables_overdue": followup.consumables.max_overdue_days,
            "service_products": list(service),
            "service_days": list(service.values()),
            "service_lead": followup.service.lead_days,
            "service_overdue": followup.service.max_overdue_days,
            "max_age": followup.service.max_equipment_age_days,
        },
        changes_only=changes_only,
    )

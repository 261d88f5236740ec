"""``marts.lead_funnel``: which acquisition channels and sources turn prospects into customers.

Every customer of ``marts.customer_lifecycle`` (contacts of companies are not leads) is
counted once, where it was first met: its *first-contact record* is, among its current
source records, the one created first (``created_at``, else the day the sync first saw it;
on a tie, one that names a channel, then the record key). That record gives the
``acquisition_channel`` (as the source wrote it; empty when it does not say) and the
``source``; the first-contact day is that record's day, or the first order when a source
recorded the customer only after it ordered.

Per channel, source and month of first contact: ``prospects`` (customers first met that
month), ``became_customers`` (have ordered by ``as_of``) and ``still_prospects`` (have not:
the two add up to ``prospects``), the conversion rate, the days from first contact to
first order (mean and median), and the first-year spend: the orders of the 365 days from
the first order, over the converted customers whose first year has ended by ``as_of``
(``first_year_customers``), so that a customer won last month does not pull the mean down.

The first-contact record is the least of each customer's records by (day unknown, day, no
channel, record key), found in a hash aggregate, not a window sorting every record by
customer: the four are written as one text that sorts the same way (:data:`_FIRST_KEY`),
whose ``min`` per customer names the record, then read back by its key. The ``arg_min``
of a struct by a struct it replaces was most of the mart's CPU at scale: on the
benchmark's 100k warehouse copied ten times (1,375,870 current records, 774,920
customers; load average about 9, four runs each, alternated) the mart took 1.87-2.07 s of
CPU instead of 2.35-2.60 s, the same rows. (Against a window sorting every record, the
``arg_min`` had taken 0.10-0.11 s of CPU instead of 0.13 s at 100k.)
"""

from __future__ import annotations

from datetime import date

import duckdb

from warehouse.marts._sql import create_table
from warehouse.views import CURRENT_XREF

FIRST_YEAR_DAYS = 365

#: A record's place in the order of first contact, as one text that sorts as the tuple (day
#: unknown, day, no channel, record key): a flag, the day as ten digits (days since 1970
#: plus 10^9: every DATE DuckDB holds), a flag, the key (:data:`_KEY_AT` on).
_FIRST_KEY = """(CASE WHEN coalesce(s.created_at, s.ingested_at::DATE) IS NULL THEN '1' ELSE '0' END
    || lpad((coalesce(s.created_at, s.ingested_at::DATE, DATE '1970-01-01') - DATE '1970-01-01'
             + 1000000000)::VARCHAR, 10, '0')
    || CASE WHEN s.acquisition_channel IS NULL THEN '1' ELSE '0' END || s.record_key)"""
_KEY_AT = 13


def build_lead_funnel(con: duckdb.DuckDBPyConnection, as_of: date) -> int:
    """Create ``marts.lead_funnel`` from the staged customers, the xref, the lifecycle and the orders."""
    return create_table(
        con,
        "marts",
        "lead_funnel",
        f"""
        WITH firsts AS (  -- the least (day, no channel, record key) as one text: days unknown last
            SELECT x.customer_id, min({_FIRST_KEY}) AS first
            FROM staging.customers s JOIN {CURRENT_XREF} x USING (record_key)
            GROUP BY x.customer_id
        ),
        first_record AS (
            SELECT f.customer_id, s.source, s.acquisition_channel,
                   coalesce(s.created_at, s.ingested_at::DATE) AS contacted
            FROM firsts f JOIN staging.customers s ON s.record_key = substr(f.first, {_KEY_AT})
        ),
        leads AS (
            SELECT l.customer_id, f.source, f.acquisition_channel, l.first_order_date,
                   least(f.contacted, coalesce(l.first_order_date, f.contacted)) AS first_contact
            FROM marts.customer_lifecycle l JOIN first_record f USING (customer_id)
        ),
        first_year AS (
            SELECT l.customer_id, sum(o.amount) AS spend
            FROM leads l JOIN marts.orders o USING (customer_id)
            WHERE l.first_order_date + {FIRST_YEAR_DAYS} <= $as_of + 1
              AND o.order_date >= l.first_order_date AND o.order_date < l.first_order_date + {FIRST_YEAR_DAYS}
            GROUP BY l.customer_id
        )
        SELECT $as_of AS as_of, l.acquisition_channel, l.source,
               date_trunc('month', l.first_contact)::DATE AS first_contact_month,
               count(*) AS prospects,
               count(l.first_order_date) AS became_customers,
               count(*) - count(l.first_order_date) AS still_prospects,
               count(l.first_order_date) / count(*) AS conversion_rate,
               avg(l.first_order_date - l.first_contact) AS avg_days_to_convert,
               median(l.first_order_date - l.first_contact) AS median_days_to_convert,
               count(y.customer_id) AS first_year_customers,
               coalesce(sum(y.spend), 0)::DECIMAL(18, 2) AS first_year_revenue,
               avg(y.spend)::DECIMAL(18, 2) AS avg_first_year_revenue
        FROM leads l LEFT JOIN first_year y USING (customer_id)
        WHERE l.first_contact <= $as_of
        GROUP BY ALL ORDER BY ALL
        """,
        {"as_of": as_of},
    )

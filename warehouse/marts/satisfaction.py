"""``marts.customer_satisfaction`` and ``marts.satisfaction_by_tier_region``: who is unhappy.

Per customer with a survey score or a complaint up to ``as_of``:

- the latest survey score and its day, the number of surveys and their mean;
- the trend: the latest score minus the mean of the ``trend_surveys`` scores before it
  (``score_change``); ``dropped`` when it fell by at least ``min_drop``, ``improved`` when
  it rose by as much, else ``steady``; ``single_survey`` with one score, ``no_survey``
  without any. Against a mean of a few, not the one score before: a customer who answers
  4, 5, 4, 3 has not "dropped" by 2 from its best answer, and one who went 5, 5, 4, 2 has;
- complaints (interactions of a type in ``followup.open_complaints.types``): open (status
  in ``open_statuses``) and closed (status in ``satisfaction.closed_statuses``), the mean
  days from a complaint to its ``closed_date``, the oldest open one;
- the customer's ``value_tier``, ``abc_class`` and province (``marts.customer_value``).

``satisfaction_by_tier_region``: per value tier and province, the customers, how many
were surveyed, the mean latest score, how many dropped, open and closed complaints and
the mean days to close (over every closed complaint with a closing day).

The complaint rule (types and open statuses) is the one the follow-up list reads, so a
complaint open here is open there.
"""

from __future__ import annotations

from datetime import date

import duckdb

from sources.config import MartsConfig
from warehouse.marts._sql import create_table
from warehouse.marts.activity import INTERACTIONS, customer_rows
from warehouse.marts.by_customer import within, write_by_customer

TRENDS = ("dropped", "improved", "steady", "single_survey", "no_survey")


def _inputs_sql(interactions: str) -> str:
    """Per customer with interactions: a fingerprint of what its row is computed from (its
    rows of ``marts.interactions``, which hold its surveys and complaints, as
    ``interactions`` sums them: :func:`~warehouse.marts.activity.customer_rows`; its golden
    name and province, its value tier and ABC class)."""
    return f"""SELECT i.customer_id, hash(i.h, c.name, c.province, v.value_tier, v.abc_class) AS h
               FROM {interactions} i
               LEFT JOIN master.customers c USING (customer_id)
               LEFT JOIN marts.customer_value v USING (customer_id)"""


def _rows_sql(customers: str | None) -> str:
    """The rows of ``marts.customer_satisfaction`` for ``customers`` (None: every customer),
    from ``__complaints``."""
    return f"""
        WITH surveys AS (
            SELECT customer_id, interaction_date, satisfaction_score AS score,
                   row_number() OVER (PARTITION BY customer_id
                                      ORDER BY interaction_date DESC, satisfaction_score) AS n
            FROM marts.interactions
            WHERE satisfaction_score IS NOT NULL AND interaction_date <= $as_of
              AND {within("customer_id", customers)}
        ),
        scored AS (
            SELECT customer_id, count(*) AS surveys, avg(score) AS avg_score,
                   any_value(score) FILTER (WHERE n = 1) AS latest_score,
                   any_value(interaction_date) FILTER (WHERE n = 1) AS latest_survey_date,
                   avg(score) FILTER (WHERE n BETWEEN 2 AND 1 + $trend_surveys) AS earlier_score
            FROM surveys GROUP BY customer_id
        ),
        complained AS (
            SELECT customer_id, count(*) FILTER (WHERE is_open) AS open_complaints,
                   count(*) FILTER (WHERE is_closed) AS closed_complaints,
                   avg(days_to_close) AS avg_days_to_close,
                   min(interaction_date) FILTER (WHERE is_open) AS oldest_open_complaint
            FROM __complaints WHERE {within("customer_id", customers)} GROUP BY customer_id
        ),
        both_ AS (SELECT customer_id FROM scored UNION SELECT customer_id FROM complained)
        SELECT $as_of AS as_of, b.customer_id, c.name, c.province, v.value_tier, v.abc_class,
               s.latest_score, s.latest_survey_date, coalesce(s.surveys, 0) AS surveys, s.avg_score,
               s.earlier_score, s.latest_score - s.earlier_score AS score_change,
               CASE WHEN s.surveys IS NULL THEN 'no_survey'
                    WHEN s.surveys = 1 THEN 'single_survey'
                    WHEN s.latest_score - s.earlier_score <= -$min_drop THEN 'dropped'
                    WHEN s.latest_score - s.earlier_score >= $min_drop THEN 'improved'
                    ELSE 'steady' END AS trend,
               coalesce(k.open_complaints, 0) AS open_complaints,
               coalesce(k.closed_complaints, 0) AS closed_complaints,
               k.avg_days_to_close, k.oldest_open_complaint
        FROM both_ b LEFT JOIN scored s USING (customer_id) LEFT JOIN complained k USING (customer_id)
        LEFT JOIN master.customers c USING (customer_id)
        LEFT JOIN marts.customer_value v USING (customer_id)
        ORDER BY b.customer_id
        """


def build_customer_satisfaction(
    con: duckdb.DuckDBPyConnection, marts: MartsConfig, as_of: date, *, changes_only: bool = False
) -> dict[str, int]:
    """Create both satisfaction marts from ``marts.interactions`` and ``marts.customer_value``
    (``changes_only``: compute again only the rows of ``customer_satisfaction`` of the
    customers whose surveys, complaints, golden name or province, value tier or ABC class
    changed, :mod:`warehouse.marts.by_customer`; the averages per tier and province, a few
    rows over every customer, are built whole)."""
    s, complaints = marts.satisfaction, marts.followup.open_complaints
    params = {
        "as_of": as_of,
        "trend_surveys": s.trend_surveys,
        "min_drop": s.min_drop,
        "complaint_types": [t.lower() for t in complaints.types],
        "open_statuses": [t.lower() for t in complaints.open_statuses],
        "closed_statuses": [t.lower() for t in s.closed_statuses],
    }
    con.execute(
        """CREATE OR REPLACE TEMP TABLE __complaints AS
           SELECT customer_id, interaction_date,
                  list_contains($open_statuses::VARCHAR[], status) AS is_open,
                  list_contains($closed_statuses::VARCHAR[], status) AS is_closed,
                  CASE WHEN list_contains($closed_statuses::VARCHAR[], status)
                            AND closed_date >= interaction_date
                       THEN closed_date - interaction_date END AS days_to_close
           FROM marts.interactions
           WHERE list_contains($complaint_types::VARCHAR[], interaction_type) AND interaction_date <= $as_of""",
        {k: params[k] for k in ("as_of", "complaint_types", "open_statuses", "closed_statuses")},
    )
    customers = write_by_customer(
        con,
        "customer_satisfaction",
        _rows_sql,
        _inputs_sql(customer_rows(con, INTERACTIONS)),
        {k: params[k] for k in ("as_of", "trend_surveys", "min_drop", "complaint_types")},
        changes_only=changes_only,
    )
    groups = create_table(
        con,
        "marts",
        "satisfaction_by_tier_region",
        """
        WITH closing AS (
            SELECT v.value_tier, c.province, avg(k.days_to_close) AS avg_days_to_close
            FROM __complaints k LEFT JOIN marts.customer_value v USING (customer_id)
            LEFT JOIN master.customers c USING (customer_id)
            GROUP BY ALL
        )
        SELECT $as_of AS as_of, s.value_tier, s.province, count(*) AS customers,
               count(s.latest_score) AS surveyed_customers, avg(s.latest_score) AS avg_latest_score,
               count(*) FILTER (WHERE s.trend = 'dropped') AS dropped,
               sum(s.open_complaints)::BIGINT AS open_complaints,
               sum(s.closed_complaints)::BIGINT AS closed_complaints,
               any_value(k.avg_days_to_close) AS avg_days_to_close
        FROM marts.customer_satisfaction s
        LEFT JOIN closing k ON k.value_tier IS NOT DISTINCT FROM s.value_tier
             AND k.province IS NOT DISTINCT FROM s.province
        GROUP BY s.value_tier, s.province ORDER BY ALL
        """,
        {"as_of": as_of},
    )
    con.execute("DROP TABLE __complaints")
    return {"customers": customers, "groups": groups}

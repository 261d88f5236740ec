"""``marts.followup_today``: who to call on ``as_of`` and why, with the person and number to call.

One row per customer and reason, best customers first (window revenue, then lifetime):

- ``consumables_due``: for every consumable product the customer has ordered at least
  ``min_orders`` times, its own rhythm (the median days between its orders of that
  product) predicts the next order, as a dealer knows when a print shop's last cartridge
  runs out. Due from ``lead_days`` before that day until ``max_overdue_days`` after it;
- ``service_due``: a machine with a service interval (``service.intervals``) is due every
  interval after its purchase; due from ``lead_days`` before until ``max_overdue_days``
  after, for machines younger than ``max_equipment_age_days``;
- ``dormant_care``: a customer dormant for at most ``max_days_dormant`` days (lifetime
  revenue at least ``min_lifetime_revenue``) whom nobody called or visited in the last
  ``skip_if_contacted_within_days``;
- ``open_complaint``: a complaint still open;
- ``satisfaction_drop``: a customer of an ABC class in ``satisfaction_drop.abc_classes``
  (A and B) whose latest survey score dropped (``marts.customer_satisfaction``: by at least
  ``satisfaction.min_drop`` below the mean of the scores before it).

The first two are read from the customer's own orders alone and kept per customer in
``marts.followup_due`` (:mod:`warehouse.marts.followup_due`), computed again on a day of
changes only for the customers whose orders changed; the list is built whole.

The contact: for a company, its employee (``employment`` relationship) named on most of
its records who has a number, else the company's own number; for a person, the person.
"""

from __future__ import annotations

from datetime import date

import duckdb

from sources.config import MartsConfig
from warehouse.marts._sql import create_table, existing
from warehouse.marts.followup_due import build_followup_due

REASONS = ("consumables_due", "service_due", "dormant_care", "open_complaint", "satisfaction_drop")

_EMPTY_RELATIONSHIPS = (
    "SELECT NULL::VARCHAR AS from_customer_id, NULL::VARCHAR AS to_customer_id, "
    "NULL::VARCHAR AS relationship_type, NULL::VARCHAR[] AS evidence WHERE false"
)

_EMPTY_SATISFACTION = (
    "SELECT NULL::VARCHAR AS customer_id, NULL::VARCHAR AS abc_class, NULL::VARCHAR AS trend, "
    "NULL::DOUBLE AS latest_score, NULL::DATE AS latest_survey_date, NULL::DOUBLE AS earlier_score, "
    "NULL::BIGINT AS surveys WHERE false"
)

_REASONS_SQL = """
    dormant_care AS (
        SELECT l.customer_id, 'dormant_care' AS reason, l.stage_since AS due_date,
               'no order since ' || l.last_order_date || ' (' || l.days_since_last_order
               || ' days); lifetime revenue ' || v.lifetime_revenue AS detail
        FROM marts.customer_lifecycle l JOIN marts.customer_value v USING (customer_id)
        WHERE $dormant_care AND l.stage = 'dormant' AND v.lifetime_revenue >= $min_lifetime
          AND coalesce(l.days_in_stage <= $max_days_dormant::INTEGER, true)
          AND l.customer_id NOT IN (
              SELECT customer_id FROM marts.interactions
              WHERE list_contains($contact_types::VARCHAR[], interaction_type)
                AND interaction_date BETWEEN $as_of - $contact_window AND $as_of)
    ),
    open_complaint AS (  -- each complaint named once, in the order they were first raised
        SELECT customer_id, 'open_complaint' AS reason, min(raised) AS due_date,
               sum(n) || ' open since ' || min(raised) || ': '
               || string_agg(what, '; ' ORDER BY raised, what) AS detail
        FROM (SELECT customer_id, coalesce(note, interaction_type) AS what,
                     min(interaction_date) AS raised, count(*) AS n
              FROM marts.interactions
              WHERE list_contains($complaint_types::VARCHAR[], interaction_type)
                AND list_contains($open_statuses::VARCHAR[], status)
                AND interaction_date <= $as_of
              GROUP BY ALL)
        GROUP BY customer_id
    ),
    satisfaction_drop AS (
        SELECT customer_id, 'satisfaction_drop' AS reason, latest_survey_date AS due_date,
               'satisfaction ' || latest_score || ' on ' || latest_survey_date || ', down from '
               || round(earlier_score, 1) || ' (mean of the ' || least(surveys - 1, $trend_surveys)
               || ' surveys before); ABC class ' || abc_class AS detail
        FROM {satisfaction}
        WHERE $satisfaction_drop AND trend = 'dropped'
          AND list_contains($drop_classes::VARCHAR[], abc_class)
    ),
    reasons AS (
        SELECT customer_id, reason, due_date, detail FROM marts.followup_due
        UNION ALL SELECT * FROM dormant_care UNION ALL SELECT * FROM open_complaint
        UNION ALL SELECT * FROM satisfaction_drop
    )"""

_CONTACT_SQL = """
    employee AS (
        SELECT r.from_customer_id AS customer_id, p.customer_id AS contact_customer_id,
               p.name AS contact_name, coalesce(p.mobile, p.phone) AS contact_phone
        FROM {relationships} r JOIN master.customers p ON p.customer_id = r.to_customer_id
        WHERE r.relationship_type = 'employment'
        QUALIFY row_number() OVER (
            PARTITION BY r.from_customer_id
            ORDER BY coalesce(p.mobile, p.phone) IS NOT NULL DESC, len(r.evidence) DESC, p.customer_id) = 1
    )"""


def build_followup_today(
    con: duckdb.DuckDBPyConnection, marts: MartsConfig, as_of: date, *, changes_only: bool = False
) -> int:
    """Create ``marts.followup_today`` from the orders, interactions, value and lifecycle marts
    (``changes_only``: the consumables and services due, ``marts.followup_due``, computed
    again only for the customers whose orders of those products changed,
    :mod:`warehouse.marts.followup_due`; the list is built whole)."""
    f = marts.followup
    build_followup_due(con, f, as_of, changes_only=changes_only)
    relationships = existing(con, "master", "relationships", _EMPTY_RELATIONSHIPS)
    satisfaction = existing(con, "marts", "customer_satisfaction", _EMPTY_SATISFACTION)
    sql = f"""
        WITH {_REASONS_SQL.format(satisfaction=satisfaction)}, {_CONTACT_SQL.format(relationships=relationships)},
        listed AS (
            SELECT r.customer_id, c.entity_type, c.name, r.reason, r.due_date, r.detail,
                   CASE WHEN e.contact_phone IS NOT NULL THEN e.contact_name ELSE c.name END AS contact_name,
                   coalesce(e.contact_phone, c.mobile, c.phone) AS contact_phone,
                   CASE WHEN e.contact_phone IS NOT NULL THEN e.contact_customer_id ELSE c.customer_id END
                       AS contact_customer_id,
                   c.owner, v.value_tier, v.abc_class, v.revenue, v.lifetime_revenue,
                   list_position({list(REASONS)}, r.reason) AS reason_order
            FROM reasons r JOIN master.customers c USING (customer_id)
            LEFT JOIN marts.customer_value v USING (customer_id)
            LEFT JOIN employee e USING (customer_id)
        )
        SELECT row_number() OVER (ORDER BY revenue DESC NULLS LAST, lifetime_revenue DESC NULLS LAST,
                                  customer_id, reason_order) AS priority,
               $as_of AS as_of, * EXCLUDE (reason_order)
        FROM listed ORDER BY priority
    """
    return create_table(
        con,
        "marts",
        "followup_today",
        sql,
        {
            "as_of": as_of,
            "dormant_care": f.dormant_care.enabled,
            "min_lifetime": f.dormant_care.min_lifetime_revenue,
            "max_days_dormant": f.dormant_care.max_days_dormant,
            "contact_types": [t.lower() for t in f.dormant_care.contact_types],
            "contact_window": f.dormant_care.skip_if_contacted_within_days,
            "complaint_types": [t.lower() for t in f.open_complaints.types],
            "open_statuses": [s.lower() for s in f.open_complaints.open_statuses],
            "satisfaction_drop": f.satisfaction_drop.enabled,
            "drop_classes": list(f.satisfaction_drop.abc_classes),
            "trend_surveys": marts.satisfaction.trend_surveys,
        },
    )

"""``marts.customer_360``: one wide row per golden customer, for analysts.

Everything known about a customer in one place: the golden record (identity, address,
contact points, owner, sources), its roles, its value (revenue, ABC, RFM, tiers, open and
overdue amounts), its lifecycle stage, how many relationships of each kind it has, its
interactions (count, last, open complaints, average satisfaction) and today's follow-up
reasons.

On a delta only the rows of the customers whose shown inputs changed are computed again
(:mod:`warehouse.marts.by_customer`): the fingerprint covers exactly the columns the row
shows of each input, so a customer whose value shares moved but whose revenue, classes and
tiers did not keeps its row. After the benchmark's 1% day at 100k records (77,492
customers, loaded machine, three runs each) the mart took 0.29-0.31 s of CPU instead of
0.52-0.55 s comparing every computed row with the stored one; built whole it costs 0.83 s
instead of 0.64 s, the fingerprints taken and kept besides. Every input is read for the
customers computed again only, the value and lifecycle rows and the relationships' sides
too (a side counts for its own customer), not joined whole and filtered after: on the
benchmark's 100k warehouse copied ten times after its 1% day (11,334 of 774,920 customers
computed again; load average 9-12, four runs each, alternated) writing their rows took
0.54-0.63 s of CPU instead of 0.70-0.77 s, the same rows.

The rows are stored in no particular order (the published file is sorted on every column):
at 1M source records (778,293 customers, a loaded machine, two runs each) the mart took
10.1-10.4 s of CPU instead of 11.4-11.5 s sorted by customer.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from sources.config import MartsConfig
from warehouse.marts._sql import existing
from warehouse.marts.activity import INTERACTIONS, customer_rows
from warehouse.marts.by_customer import within, write_by_customer

_EMPTY = {
    (
        "master",
        "customer_roles",
    ): "SELECT NULL::VARCHAR AS customer_id, NULL::VARCHAR AS role WHERE false",
    ("master", "relationships"): (
        "SELECT NULL::VARCHAR AS from_customer_id, NULL::VARCHAR AS to_customer_id, "
        "NULL::VARCHAR AS relationship_type WHERE false"
    ),
    (
        "marts",
        "followup_today",
    ): "SELECT NULL::VARCHAR AS customer_id, NULL::VARCHAR AS reason WHERE false",
}

#: Relationship counts: column → (relationship type, the side this customer is on).
RELATIONSHIP_COUNTS = {
    "employees": ("employment", "from"),
    "employers": ("employment", "to"),
    "parent_companies": ("holding", "to"),
    "subsidiaries": ("holding", "from"),
    "family_members": ("family", "either"),
    "referred_customers": ("referral", "from"),
    "referred_by": ("referral", "to"),
    "serving_dealers": ("served_by_dealer", "from"),
    "served_customers": ("served_by_dealer", "to"),
}


def _relationship_counts() -> str:
    terms = []
    for column, (kind, side) in RELATIONSHIP_COUNTS.items():
        sides = ["from", "to"] if side == "either" else [side]
        test = " OR ".join(f"side = '{s}'" for s in sides)
        terms.append(
            f"count(*) FILTER (WHERE relationship_type = '{kind}' AND ({test})) AS {column}"
        )
    return ", ".join(terms)


def relationship_sides(relationships: str) -> str:
    """Each relationship of the relation ``relationships`` once for each of its customers:
    ``customer_id``, ``relationship_type`` and the ``side`` it is on (``from``, ``to``)."""
    return f"""
        SELECT from_customer_id AS customer_id, relationship_type, 'from' AS side FROM {relationships}
        UNION ALL
        SELECT to_customer_id, relationship_type, 'to' FROM {relationships}"""


def relationship_counts_query(relationships: str, customers: str | None = None) -> str:
    """Per customer, its relationships (either side) and their count by kind
    (``RELATIONSHIP_COUNTS``) in the relation ``relationships`` (for the customers of the
    table ``customers`` only, when given: :func:`~warehouse.marts.by_customer.within`); the
    role exports count again over the relationships a role sees."""
    return f"""
        WITH sides AS ({relationship_sides(relationships)})
        SELECT customer_id, count(*) AS relationships, {_relationship_counts()}
        FROM sides WHERE {within("customer_id", customers)} GROUP BY customer_id"""


#: The golden record's columns the mart shows.
_CUSTOMER_COLUMNS = (
    "entity_type", "name", "name_pinyin", "uscc", "province", "city", "district", "address_detail",
    "phone", "mobile", "email", "industry", "customer_category", "owner", "dealer_code",
    "record_count", "sources", "first_seen", "last_updated",
)  # fmt: skip
#: The columns of ``marts.customer_value`` the mart shows.
_VALUE_COLUMNS = (
    "revenue", "orders", "lifetime_revenue", "lifetime_orders", "first_order_date",
    "last_order_date", "abc_class", "rfm_score", "rfm_segment", "value_tier", "credit_limit",
    "credit_tier", "open_amount", "overdue_amount", "as_of",
)  # fmt: skip


def _inputs(con: duckdb.DuckDBPyConnection) -> tuple[str, str, str]:
    """The roles, relationships and follow-ups to read (typed empty relations when missing)."""
    roles, relationships, followup = (existing(con, s, t, sql) for (s, t), sql in _EMPTY.items())
    return roles, relationships, followup


def _rows_sql(con: duckdb.DuckDBPyConnection) -> Callable[[str | None], str]:
    """The mart's rows for the customers of a table (None: every customer)."""
    roles, relationships, followup = _inputs(con)

    def rows(customers: str | None) -> str:
        # every input read for the customers computed again only: each side of a
        # relationship counts for its own customer; the value and lifecycle rows of the
        # others are not joined (on a day of changes at 1M records: see the module's doc)
        return f"""
        WITH roles AS (
            SELECT customer_id, list(role ORDER BY role) AS roles FROM {roles}
            WHERE {within("customer_id", customers)} GROUP BY customer_id
        ),
        related AS ({relationship_counts_query(relationships, customers)}),
        contacts AS (
            SELECT customer_id, count(*) AS interactions, max(interaction_date) AS last_interaction_date,
                   count(*) FILTER (WHERE list_contains($complaint_types::VARCHAR[], interaction_type)
                                    AND list_contains($open_statuses::VARCHAR[], status)) AS open_complaints,
                   avg(satisfaction_score) AS avg_satisfaction
            FROM marts.interactions WHERE {within("customer_id", customers)} GROUP BY customer_id
        ),
        today AS (
            SELECT customer_id, list(reason ORDER BY reason) AS followup_reasons FROM {followup}
            WHERE {within("customer_id", customers)} GROUP BY customer_id
        ),
        v AS (SELECT * FROM marts.customer_value WHERE {within("customer_id", customers)}),
        l AS (SELECT * FROM marts.customer_lifecycle WHERE {within("customer_id", customers)})
        SELECT c.customer_id, {", ".join(f"c.{col}" for col in _CUSTOMER_COLUMNS)},
               coalesce(r.roles, []) AS roles,
               {", ".join(f"v.{col}" for col in _VALUE_COLUMNS[:-1])},
               l.stage AS lifecycle_stage, l.stage_since,
               coalesce(rel.relationships, 0) AS relationships,
               {", ".join(f"coalesce(rel.{c}, 0) AS {c}" for c in RELATIONSHIP_COUNTS)},
               coalesce(i.interactions, 0) AS interactions, i.last_interaction_date,
               coalesce(i.open_complaints, 0) AS open_complaints, i.avg_satisfaction,
               coalesce(t.followup_reasons, []) AS followup_reasons, v.as_of
        FROM master.customers c
        LEFT JOIN roles r USING (customer_id)
        LEFT JOIN v USING (customer_id)
        LEFT JOIN l USING (customer_id)
        LEFT JOIN related rel USING (customer_id)
        LEFT JOIN contacts i USING (customer_id)
        LEFT JOIN today t USING (customer_id)
        WHERE {within("c.customer_id", customers)}
        """

    return rows


def _inputs_sql(con: duckdb.DuckDBPyConnection) -> str:
    """Per golden customer, a fingerprint of exactly what its row shows: its golden record's
    columns, roles, value columns, lifecycle stage, relationships (the kind and side of
    each: its counts are a function of them), interactions (the sum of its rows' hashes kept
    beside ``marts.interactions``, :func:`~warehouse.marts.activity.customer_rows`: their
    day, type, status and score among every column) and follow-up reasons
    (:mod:`warehouse.marts.by_customer`).

    The relationships are hashed as they are, not counted first: after the benchmark's 1%
    day at 100k records (79,185 relationships; load average 6-9, runs alternated) their
    fingerprints took 0.019-0.020 s of CPU instead of 0.045 s, the mart's update 0.28-0.30 s
    instead of 0.30-0.37 s (eight runs each), the same rows.

    Every input row is hashed with the number of its input and the hashes summed per
    customer in one aggregate over them all, not summed per input and the seven sums joined
    by customer: on the benchmark's 100k warehouse copied ten times (774,920 customers,
    2.1M interactions; load average about 9, four runs each, alternated) the fingerprints
    took 1.09-1.10 s of CPU instead of 1.38-2.01 s, most of the mart's work on a day of
    changes."""
    roles, relationships, followup = _inputs(con)
    parts = {
        "master.customers": _CUSTOMER_COLUMNS,
        roles: ("role",),
        "marts.customer_value": _VALUE_COLUMNS,
        "marts.customer_lifecycle": ("stage", "stage_since"),
        f"({relationship_sides(relationships)})": ("relationship_type", "side"),
        # its interactions (day, type, status, score among every column): one row a customer
        customer_rows(con, INTERACTIONS): ("h",),
        followup: ("reason",),
    }
    rows = " UNION ALL ".join(
        f"SELECT customer_id, {n} AS part, hash({n}, {', '.join(columns)}) AS h FROM {relation}"
        for n, (relation, columns) in enumerate(parts.items())
    )
    # the golden customers (part 0) have a row; another part's rows of no golden customer none
    return f"""SELECT customer_id, sum(h)::HUGEINT AS h FROM ({rows})
               GROUP BY customer_id HAVING bool_or(part = 0)"""


def build_customer_360(
    con: duckdb.DuckDBPyConnection, marts: MartsConfig, *, changes_only: bool = False
) -> int:
    """Create ``marts.customer_360`` from the master and the other marts (``changes_only``:
    compute again only the rows of the customers whose shown inputs changed,
    :func:`~warehouse.marts.by_customer.write_by_customer`)."""
    complaints = marts.followup.open_complaints
    params = {
        "complaint_types": [t.lower() for t in complaints.types],
        "open_statuses": [s.lower() for s in complaints.open_statuses],
    }
    return write_by_customer(
        con, "customer_360", _rows_sql(con), _inputs_sql(con), params, changes_only=changes_only
    )

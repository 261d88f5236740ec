"""Survivorship: the best value of every attribute of a golden customer, and where it came from.

A customer's records disagree: one dealer has the old phone, the key-account team the
legal name, a regional office the full address. For each golden attribute, the
candidates are the values its records carry, ranked by the attribute's rules in order:

- ``valid``: values that passed validation first (a phone that is a real number beats
  one flagged invalid); a USCC or resident ID failing its check digit never survives;
- ``trust``: the value from the more trusted source (``trust`` of the source in the config,
  e.g. key_account 3 > regional 2 > dealer 1);
- ``recent``: the value from the most recently updated record;
- ``frequent``: the value most of the customer's records carry;
- ``complete``: the longest, most complete value (for an address: most parts filled).

Ties after every rule go to the smallest record key, so the result is deterministic. The
rule recorded as the reason is the first rule that told the winner from the runner-up.
Attributes that belong together survive together: name core, legal form and pinyin with
the name; city, district and street with the address.

All work is SQL in DuckDB on the warehouse connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import pandas as pd
import pyarrow as pa

from sources.schema import GOLDEN_ATTRIBUTE_GROUPS, SURVIVORSHIP_RULES

#: Identifiers whose invalid values never survive, whatever the rules say.
NEVER_INVALID = ("uscc", "id_number")
#: Quality flag that marks a value of the attribute invalid.
INVALID_FLAG = {
    "uscc": "uscc_invalid",
    "id_number": "id_number_invalid",
    "phone": "phone_invalid",
    "mobile": "mobile_invalid",
    "fax": "fax_invalid",
    "email": "email_invalid",
}
DEFAULT_RULES = SURVIVORSHIP_RULES
#: Defaults where the general order is not what the business wants: legal names from the
#: most trusted source, the fullest address, the contact details most recently confirmed.
DEFAULT_RULES_BY_ATTRIBUTE: dict[str, tuple[str, ...]] = {
    "name": ("trust", "frequent", "recent", "complete"),
    "address": ("complete", "recent", "trust", "frequent"),
    "phone": ("valid", "recent", "frequent", "trust"),
    "mobile": ("valid", "recent", "frequent", "trust"),
    "email": ("valid", "recent", "frequent", "trust"),
    "uscc": ("valid", "frequent", "trust", "recent"),
    "id_number": ("valid", "frequent", "trust", "recent"),
}


def rules_for(
    attribute: str, configured: dict[str, tuple[str, ...]] | None = None
) -> tuple[str, ...]:
    """The rules of ``attribute``: configured, else its default, else ``DEFAULT_RULES``."""
    configured = configured or {}
    return tuple(
        configured.get(attribute) or DEFAULT_RULES_BY_ATTRIBUTE.get(attribute, DEFAULT_RULES)
    )


@dataclass(frozen=True)
class GoldenRecords:
    """``customers``: one row per customer; ``lineage``: one row per customer and attribute.

    Arrow tables: at a million customers they go from DuckDB back into DuckDB, and pandas
    would double the step's time on the way."""

    customers: pa.Table
    lineage: pa.Table


def _order_terms(rules: tuple[str, ...]) -> list[str]:
    terms = {
        "valid": "is_valid DESC",
        "trust": "trust DESC",
        "recent": "recency DESC NULLS LAST",
        "frequent": "frequency DESC",
        "complete": "completeness DESC",
    }
    return [terms[r] for r in rules]


def _winners_sql(attribute: str, columns: tuple[str, ...], rules: tuple[str, ...]) -> str:
    """Per customer, the value of ``attribute`` (with the columns that survive with it) that
    the rules rank first, its record and source, and the first rule that told it from the
    runner-up (``agreed`` when the runner-up carries the same value; ``only value``)."""
    value = columns[0]
    flag = INVALID_FLAG.get(attribute)
    # flags are ';'-separated codes: 'contact_mobile_invalid' must not read as 'mobile_invalid'
    is_valid = (
        f"NOT list_contains(string_split(coalesce(s.quality_flags, ''), ';'), '{flag}')"
        if flag
        else "true"
    )
    keep = f" AND {is_valid}" if attribute in NEVER_INVALID else ""
    completeness = (
        " + ".join(f"(s.{c} IS NOT NULL)::int" for c in columns)
        + f" * 1000 + length(s.{value}::varchar)"
    )
    group = ", ".join(f"s.{c}" for c in columns)
    order = ", ".join([*_order_terms(rules), "record_key"])
    told_apart = "".join(
        f" WHEN {RULE_COLUMNS[r]} IS DISTINCT FROM runner_up_{RULE_COLUMNS[r]} THEN '{r}'"
        for r in rules
    )
    runner_up = ", ".join(
        f"lead({c}) OVER customer AS runner_up_{c}"
        for c in ("record_key", value, *RULE_COLUMNS.values())
    )
    return f"""
        WITH candidates AS (
            SELECT s.customer_id, s.record_key, s.source, {group},
                   {is_valid} AS is_valid,
                   coalesce(t.trust, 0) AS trust,
                   coalesce(s.updated_at, s.created_at, s.first_seen_at::date, s.ingested_at::date) AS recency,
                   count(*) OVER (PARTITION BY s.customer_id, s.{value}) AS frequency,
                   {completeness} AS completeness
            FROM {RECORDS} s
            LEFT JOIN __trust t USING (source)
            WHERE s.{value} IS NOT NULL{keep}
        ), ranked AS (
            SELECT *, row_number() OVER customer AS rank, {runner_up}
            FROM candidates
            WINDOW customer AS (PARTITION BY customer_id ORDER BY {order})
        )
        SELECT customer_id, {", ".join(columns)}, record_key, source,
               CASE WHEN runner_up_record_key IS NULL THEN 'only value'
                    WHEN {value} IS NOT DISTINCT FROM runner_up_{value} THEN 'agreed'
                    {told_apart}
                    ELSE 'tie: first record key' END AS rule
        FROM ranked WHERE rank = 1
    """


#: Temporary table of the staged values of the customers being built, with their customer.
RECORDS = "__survivor_records"
#: The ranking column each rule compares.
RULE_COLUMNS = {
    "valid": "is_valid",
    "trust": "trust",
    "recent": "recency",
    "frequent": "frequency",
    "complete": "completeness",
}


@contextmanager
def golden_queries(
    con: duckdb.DuckDBPyConnection,
    xref: pd.DataFrame | pa.Table,
    source_trust: dict[str, int],
    rules: dict[str, tuple[str, ...]] | None = None,
) -> Iterator[tuple[str, str]]:
    """The golden records of the customers of ``xref``, as two queries on ``con`` that hold
    inside the ``with`` block: one row per customer (ordered by ``customer_id``) and one
    row per customer and attribute (the lineage, ordered by customer and attribute).

    The build writes them into the master with SQL, so the golden rows never leave DuckDB:
    as Arrow tables, cast and loaded back, they held about 82 MiB outside DuckDB's memory
    limit at 100k records (77k customers), for no gain in time (at 100k, loaded machine,
    the build costs 7-8 s of CPU either way; the 18 rankings about 2.6 s of it).

    Args:
        con: the warehouse connection (reads ``staging.customers``).
        xref: ``record_key`` → ``customer_id`` (and ``entity_type``) for this run; optionally
            ``first_seen_at``, when the record first entered the master. A record without
            created / updated dates dates from then (else from this run's ingestion), so
            ``first_seen`` and ``last_updated`` do not move from one sync to the next.
        source_trust: source name → trust (higher wins the ``trust`` rule).
        rules: attribute → rule names in order; attributes not named use their defaults.
    """
    columns = xref.column_names if isinstance(xref, pa.Table) else list(xref.columns)
    first_seen = "first_seen_at" if "first_seen_at" in columns else "NULL::TIMESTAMP"
    con.register("__xref_frame", xref)
    con.register(
        "__trust_frame",
        pd.DataFrame({"source": list(source_trust), "trust": list(source_trust.values())}),
    )
    attributes = list(GOLDEN_ATTRIBUTE_GROUPS.items())
    try:
        # read once into DuckDB: every attribute's ranking scans it again
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE __xref AS
                SELECT record_key, customer_id, entity_type, {first_seen} AS first_seen_at
                FROM __xref_frame"""
        )
        con.execute("CREATE OR REPLACE TEMP TABLE __trust AS FROM __trust_frame")
        # the staged values every ranking reads, joined to their customers once: each of the
        # attributes' rankings scanned and joined the whole staged table again (at 1M records
        # 18 hash joins of 1M rows; for the few customers of a delta, 18 scans of every record)
        read = dict.fromkeys(
            ("record_key", "source", "quality_flags", "updated_at", "created_at", "ingested_at")
            + tuple(c for _, group in attributes for c in group)
        )
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {RECORDS} AS
                SELECT x.customer_id, x.entity_type, x.first_seen_at,
                       {", ".join(f"s.{c}" for c in read)}
                FROM staging.customers s JOIN __xref x USING (record_key)"""
        )
        for i, (attribute, group) in enumerate(attributes):
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE __winners_{i} AS "
                + _winners_sql(attribute, group, rules_for(attribute, rules))
            )
        joins = " ".join(
            f"LEFT JOIN __winners_{i} w{i} USING (customer_id)" for i in range(len(attributes))
        )
        values = ", ".join(f"w{i}.{c}" for i, (_, group) in enumerate(attributes) for c in group)
        customers = f"""WITH base AS (
                SELECT s.customer_id, any_value(s.entity_type) AS entity_type,
                       count(*) AS record_count,
                       list(DISTINCT s.source ORDER BY s.source) AS sources,
                       min(coalesce(s.created_at, s.first_seen_at::date, s.ingested_at::date)) AS first_seen,
                       max(coalesce(s.updated_at, s.created_at, s.first_seen_at::date, s.ingested_at::date)) AS last_updated
                FROM {RECORDS} s
                GROUP BY s.customer_id)
            SELECT base.*, {values} FROM base {joins} ORDER BY customer_id"""
        lineage = (
            " UNION ALL ".join(
                f"""SELECT customer_id, '{attribute}' AS attribute,
                           {group[0]}::varchar AS value, record_key, source, rule
                    FROM __winners_{i}"""
                for i, (attribute, group) in enumerate(attributes)
            )
            + " ORDER BY customer_id, attribute"
        )
        yield customers, lineage
    finally:
        for i in range(len(attributes)):
            con.execute(f"DROP TABLE IF EXISTS __winners_{i}")
        con.execute("DROP TABLE IF EXISTS __xref")
        con.execute(f"DROP TABLE IF EXISTS {RECORDS}")
        con.execute("DROP TABLE IF EXISTS __trust")
        con.unregister("__xref_frame")
        con.unregister("__trust_frame")


def survive(
    con: duckdb.DuckDBPyConnection,
    xref: pd.DataFrame | pa.Table,
    source_trust: dict[str, int],
    rules: dict[str, tuple[str, ...]] | None = None,
) -> GoldenRecords:
    """The golden records of :func:`golden_queries` (same arguments) as Arrow tables, for a
    caller that keeps them outside the warehouse."""
    with golden_queries(con, xref, source_trust, rules) as (customers, lineage):
        return GoldenRecords(con.sql(customers).to_arrow_table(), con.sql(lineage).to_arrow_table())

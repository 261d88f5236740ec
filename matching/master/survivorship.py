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

from dataclasses import dataclass

import duckdb
import pandas as pd

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
    """``customers``: one row per customer; ``lineage``: one row per customer and attribute."""

    customers: pd.DataFrame
    lineage: pd.DataFrame


def _order_terms(rules: tuple[str, ...]) -> list[str]:
    terms = {
        "valid": "is_valid DESC",
        "trust": "trust DESC",
        "recent": "recency DESC NULLS LAST",
        "frequent": "frequency DESC",
        "complete": "completeness DESC",
    }
    return [terms[r] for r in rules]


def _candidates_sql(attribute: str, columns: tuple[str, ...], rules: tuple[str, ...]) -> str:
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
    return f"""
        WITH candidates AS (
            SELECT x.customer_id, s.record_key, s.source, {group},
                   {is_valid} AS is_valid,
                   coalesce(t.trust, 0) AS trust,
                   coalesce(s.updated_at, s.created_at, x.first_seen_at::date, s.ingested_at::date) AS recency,
                   count(*) OVER (PARTITION BY x.customer_id, s.{value}) AS frequency,
                   {completeness} AS completeness
            FROM staging.customers s
            JOIN __xref x USING (record_key)
            LEFT JOIN __trust t USING (source)
            WHERE s.{value} IS NOT NULL{keep}
        )
        SELECT *, row_number() OVER (PARTITION BY customer_id ORDER BY {order}) AS rank
        FROM candidates
        QUALIFY rank <= 2
    """


def _deciding_rule(top: pd.DataFrame, rules: tuple[str, ...]) -> pd.Series:
    """Per customer: the first rule that told the winner from the runner-up."""
    columns = {
        "valid": "is_valid",
        "trust": "trust",
        "recent": "recency",
        "frequent": "frequency",
        "complete": "completeness",
    }
    first = top[top["rank"] == 1].set_index("customer_id")
    second = top[top["rank"] == 2].set_index("customer_id").reindex(first.index)
    reason = pd.Series("only value", index=first.index, dtype=object)
    has_rival = second["record_key"].notna()
    agreed = has_rival & (first["value"].astype(str) == second["value"].astype(str))
    reason[agreed] = "agreed"  # the runner-up carries the same value: no rule had to choose
    undecided = has_rival & ~agreed
    reason[undecided] = "tie: first record key"
    for rule in rules:
        column = columns[rule]
        differs = undecided & (first[column].astype(str) != second[column].astype(str))
        reason[differs] = rule
        undecided &= ~differs
    return reason


def survive(
    con: duckdb.DuckDBPyConnection,
    xref: pd.DataFrame,
    source_trust: dict[str, int],
    rules: dict[str, tuple[str, ...]] | None = None,
) -> GoldenRecords:
    """Build golden records from ``staging.customers`` for the customers of ``xref``.

    Args:
        con: the warehouse connection (reads ``staging.customers``).
        xref: ``record_key`` → ``customer_id`` (and ``entity_type``) for this run; optionally
            ``first_seen_at``, when the record first entered the master. A record without
            created / updated dates dates from then (else from this run's ingestion), so
            ``first_seen`` and ``last_updated`` do not move from one sync to the next.
        source_trust: source name → trust (higher wins the ``trust`` rule).
        rules: attribute → rule names in order; attributes not named use their defaults.
    """
    if "first_seen_at" not in xref:
        xref = xref.assign(first_seen_at=pd.NaT)
    con.register("__xref", xref[["record_key", "customer_id", "entity_type", "first_seen_at"]])
    con.register(
        "__trust",
        pd.DataFrame({"source": list(source_trust), "trust": list(source_trust.values())}),
    )
    try:
        golden = (
            con.sql(
                """SELECT x.customer_id, any_value(x.entity_type) AS entity_type,
                          count(*) AS record_count,
                          list(DISTINCT s.source ORDER BY s.source) AS sources,
                          min(coalesce(s.created_at, x.first_seen_at::date, s.ingested_at::date)) AS first_seen,
                          max(coalesce(s.updated_at, s.created_at, x.first_seen_at::date, s.ingested_at::date)) AS last_updated
                   FROM __xref x JOIN staging.customers s USING (record_key)
                   GROUP BY x.customer_id ORDER BY x.customer_id"""
            )
            .df()
            .set_index("customer_id")
        )
        lineage_parts = []
        for attribute, columns in GOLDEN_ATTRIBUTE_GROUPS.items():
            order = rules_for(attribute, rules)
            top = (
                con.sql(_candidates_sql(attribute, columns, order))
                .df()
                .rename(columns={columns[0]: "value"})
            )
            winners = top[top["rank"] == 1].set_index("customer_id")
            for i, column in enumerate(columns):
                golden[column] = winners["value" if i == 0 else column].reindex(golden.index)
            lineage_parts.append(
                pd.DataFrame(
                    {
                        "customer_id": winners.index,
                        "attribute": attribute,
                        "value": winners["value"].to_numpy(),
                        "record_key": winners["record_key"].to_numpy(),
                        "source": winners["source"].to_numpy(),
                        "rule": _deciding_rule(top, order).reindex(winners.index).to_numpy(),
                    }
                )
            )
    finally:
        con.unregister("__xref")
        con.unregister("__trust")
    lineage = pd.concat(lineage_parts, ignore_index=True).sort_values(["customer_id", "attribute"])
    return GoldenRecords(golden.reset_index(), lineage.reset_index(drop=True))

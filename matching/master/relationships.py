"""Relationships between golden customers, each with its evidence and a confidence.

Built fresh from the current xref on every run, so a relationship always points to live
customer IDs (after a merge, to the survivor) and never to a retired one.

- ``employment`` (company → person): the person is named as contact on the company's
  records; evidence: the contact records. Stated by the source: confidence 1.
- ``family`` (person → person): two customers with the same surname, at the same address
  and sharing one landline; evidence: one record of each. Inferred: confidence 0.8.
- ``served_by_dealer`` (customer → dealer): a record of the customer carries the dealer
  code of a customer who is that dealer (``own_dealer_code``); evidence: those records.

- ``holding`` (parent → subsidiary): a record names its parent company; the name is
  resolved to a golden company by the company model (``matching.master.mentions``), not by exact
  string; confidence: the match probability of that resolution.
- ``referral`` (referrer → referred): a record names who referred the customer; resolved
  to a golden person the same way.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from matching.linkage.junk import JunkRules
from matching.master.mentions import resolve_names
from warehouse.views import CURRENT_XREF

RELATIONSHIP_COLUMNS = (
    "from_customer_id",
    "to_customer_id",
    "relationship_type",
    "evidence",
    "confidence",
    "inferred",
)
FAMILY_CONFIDENCE = 0.8


_EMPLOYMENT = f"""
    SELECT company.customer_id AS from_customer_id, person.customer_id AS to_customer_id,
           'employment' AS relationship_type,
           list(s.record_key ORDER BY s.record_key) AS evidence, 1.0 AS confidence, false AS inferred
    FROM staging.customers s
    JOIN {CURRENT_XREF} person ON person.record_key = s.record_key
    JOIN {CURRENT_XREF} company ON company.record_key = s.derived_from_record_key
    WHERE s.derived_from_record_key IS NOT NULL
    GROUP BY ALL
"""

_FAMILY = f"""
    WITH people AS (
        SELECT x.customer_id, s.record_key, left(s.name, 1) AS surname, s.phone,
               s.city, replace(s.address_detail, ' ', '') AS street
        FROM staging.customers s JOIN {CURRENT_XREF} x USING (record_key)
        WHERE s.entity_type = 'person' AND s.phone IS NOT NULL AND s.address_detail IS NOT NULL
          AND s.name IS NOT NULL AND s.derived_from_record_key IS NULL
    )
    SELECT a.customer_id AS from_customer_id, b.customer_id AS to_customer_id,
           'family' AS relationship_type,
           [min(a.record_key), min(b.record_key)] AS evidence,
           {FAMILY_CONFIDENCE} AS confidence, true AS inferred
    FROM people a JOIN people b
      ON a.surname = b.surname AND a.phone = b.phone AND a.street = b.street
     AND a.city IS NOT DISTINCT FROM b.city AND a.customer_id < b.customer_id
    GROUP BY ALL
"""

_SERVED_BY_DEALER = f"""
    WITH dealers AS (
        SELECT DISTINCT s.own_dealer_code AS code, x.customer_id
        FROM staging.customers s JOIN {CURRENT_XREF} x USING (record_key)
        WHERE s.own_dealer_code IS NOT NULL
    )
    SELECT x.customer_id AS from_customer_id, d.customer_id AS to_customer_id,
           'served_by_dealer' AS relationship_type,
           list(s.record_key ORDER BY s.record_key) AS evidence, 1.0 AS confidence, false AS inferred
    FROM staging.customers s JOIN {CURRENT_XREF} x USING (record_key)
    JOIN dealers d ON d.code = s.dealer_code
    WHERE x.customer_id <> d.customer_id
    GROUP BY ALL
"""


def mentioned_relationships(
    con: duckdb.DuckDBPyConnection, models: dict[str, dict[str, Any]], junk: JunkRules | None = None
) -> list[pd.DataFrame]:
    """Holding and referral relationships from names mentioned on records, resolved by the models."""
    out = []
    for column, entity_type, kind in (
        ("parent_company_name", "company", "holding"),
        ("referrer_name", "person", "referral"),
    ):
        if entity_type not in models:
            continue
        records = con.sql(
            f"""SELECT s.*, x.customer_id FROM staging.customers s JOIN {CURRENT_XREF} x USING (record_key)
                WHERE s.entity_type = '{entity_type}'"""
        ).df()
        mentioning = con.sql(
            f"""SELECT s.record_key, x.customer_id, s.{column} AS name
                FROM staging.customers s JOIN {CURRENT_XREF} x USING (record_key) WHERE s.{column} IS NOT NULL"""
        ).df()
        if mentioning.empty:
            continue
        resolved = resolve_names(
            mentioning["name"], records, models[entity_type], entity_type, junk
        )
        joined = mentioning.merge(resolved, on="name", suffixes=("", "_named"))
        joined = joined[joined["customer_id_named"] != joined["customer_id"]]
        if joined.empty:
            continue
        grouped = joined.groupby(["customer_id_named", "customer_id"])
        out.append(
            pd.DataFrame(
                {
                    "from_customer_id": [k[0] for k in grouped.groups],
                    "to_customer_id": [k[1] for k in grouped.groups],
                    "relationship_type": kind,
                    "evidence": [sorted(g["record_key"]) for _, g in grouped],
                    "confidence": [float(g["probability"].max()) for _, g in grouped],
                    "inferred": False,
                }
            )
        )
    return out


def build_relationships(
    con: duckdb.DuckDBPyConnection,
    models: dict[str, dict[str, Any]] | None = None,
    junk: JunkRules | None = None,
) -> pd.DataFrame:
    """Every relationship between current customers (holding and referral need the models)."""
    parts = [con.sql(sql).df() for sql in (_EMPLOYMENT, _FAMILY, _SERVED_BY_DEALER)]
    if models:
        parts += mentioned_relationships(con, models, junk)
    filled = [p for p in parts if len(p)]
    relationships = pd.concat(filled, ignore_index=True) if filled else parts[0]
    relationships = relationships[list(RELATIONSHIP_COLUMNS)]
    return relationships.sort_values(
        ["relationship_type", "from_customer_id", "to_customer_id"], ignore_index=True
    )

"""What one sync changed in the master, and why: customers created, merged, split and retired,
golden values that changed.

Every ID event carries the run that caused it (``master.customer_id_events``), and every
record that moved to another customer has its old xref row closed at the moment its new
one opened (``master.customer_xref``), so "since the last sync" is exactly this run's events
and moves. Each merge and split comes with its evidence (``matching.master.link_evidence``):

- a **merge** of X into S: the fewest links that join the records that came from X to the
  rest of S now (a new record may be the bridge), each in words;
- a **split** of N from O: the steward decisions between the two parts, else the best
  pairs between them and their probability (below the threshold, or cut by the clustering).

Golden values are compared with the ones the previous report kept
(``golden_values.parquet`` beside the pages), for customers live in both syncs.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from matching.linkage.decisions import Decisions
from matching.master.link_evidence import connecting_links, holding_links, links_between
from warehouse.views import CURRENT_XREF

#: Merges, splits, creations and retirements listed in full; beyond it, counted.
EVENTS_LISTED = 50
#: Records named per event.
RECORDS_LISTED = 12
#: Golden value changes listed in full.
VALUES_LISTED = 100


def moved_records(con: duckdb.DuckDBPyConnection, run_id: str) -> pd.DataFrame:
    """Records that changed customer in ``run_id``: ``record_key``, ``before``, ``after``."""
    return con.execute(
        """SELECT n.record_key, o.customer_id AS before, n.customer_id AS after
           FROM master.customer_xref n
           JOIN master.customer_xref o ON o.record_key = n.record_key AND o.valid_to = n.valid_from
           WHERE n.run_id = ?""",
        [run_id],
    ).df()


def _records(con: duckdb.DuckDBPyConnection, keys: list[str]) -> list[dict[str, Any]]:
    """Record key, source and name of ``keys`` (the first ``RECORDS_LISTED``)."""
    shown = sorted(keys)[:RECORDS_LISTED]
    names = dict(
        con.execute(
            "SELECT record_key, name FROM staging.customers WHERE list_contains(?, record_key)",
            [shown],
        ).fetchall()
    )
    return [{"record_key": k, "name": names.get(k)} for k in shown]


def _links(links: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            "record_key_l": row.record_key_l,
            "record_key_r": row.record_key_r,
            "kind": row.kind,
            "probability": None
            if pd.isna(row.match_probability)
            else round(float(row.match_probability), 4),
            "evidence": row.evidence,
        }
        for row in links.itertuples()
    ]


def id_changes(
    con: duckdb.DuckDBPyConnection, run_id: str, decisions: Decisions, upper: float
) -> dict[str, Any]:
    """This run's ID events with the records involved and, for merges and splits, the evidence."""
    events = con.execute(
        """SELECT event, customer_id, related_customer_id, entity_type, records
           FROM master.customer_id_events WHERE run_id = ? ORDER BY event, customer_id""",
        [run_id],
    ).df()
    current = con.sql(f"SELECT record_key, customer_id FROM {CURRENT_XREF}").df()
    records_of = current.groupby("customer_id")["record_key"].apply(set).to_dict()
    moved = moved_records(con, run_id)
    counts = events["event"].value_counts().to_dict()
    listed: dict[str, list[dict[str, Any]]] = {
        k: [] for k in ("merged", "split", "created", "retired")
    }
    for event in events.itertuples():
        if len(listed[event.event]) >= EVENTS_LISTED:
            continue
        item: dict[str, Any] = {
            "customer_id": event.customer_id,
            "related_customer_id": event.related_customer_id,
            "entity_type": event.entity_type,
            "records": int(event.records),
        }
        if event.event == "merged":
            survivor = event.related_customer_id
            came = set(
                moved.loc[
                    (moved["before"] == event.customer_id) & (moved["after"] == survivor),
                    "record_key",
                ]
            )
            stayed = records_of.get(survivor, set()) - came
            held = holding_links(con, came | stayed, decisions, upper)
            item["moved_records"] = _records(con, list(came))
            item["survivor_records"] = _records(con, list(stayed))
            item["evidence"] = _links(connecting_links(held, came, stayed))
        elif event.event == "split":
            part = records_of.get(event.customer_id, set())
            rest = records_of.get(event.related_customer_id, set())
            item["moved_records"] = _records(con, list(part))
            item["survivor_records"] = _records(con, list(rest))
            between = links_between(con, part, rest, decisions)
            item["evidence"] = _links(between.head(3))
            item["evidence_note"] = _split_note(between, upper)
        elif event.event == "created":
            item["moved_records"] = _records(con, list(records_of.get(event.customer_id, set())))
        listed[event.event].append(item)
    return {"counts": {k: int(counts.get(k, 0)) for k in listed}, **listed}


def _split_note(between: pd.DataFrame, upper: float) -> str:
    """Why the parts are apart, in one sentence."""
    if (between["kind"] == "steward").any():
        return "a steward decided the records are not one customer"
    if between.empty:
        return "no pair between the parts was scored: nothing links them any more"
    best = float(between["match_probability"].max())
    if best >= upper:
        return (
            f"their best link ({best:.3f}) was cut by the clustering (a no_match or the size limit)"
        )
    return f"their best link now scores {best:.3f}, below the linking threshold {upper:.2f}"


def golden_value_changes(previous: pd.DataFrame | None, lineage: pd.DataFrame) -> dict[str, Any]:
    """Golden values that differ from the previous sync's, for customers live in both.

    Args:
        previous: the previous report's ``customer_id``, ``attribute``, ``value`` (None on
            the first report).
        lineage: this sync's ``master.attribute_lineage``.
    """
    if previous is None:
        return {"compared": False, "changed": 0, "per_attribute": [], "values": []}
    both = set(previous["customer_id"]) & set(lineage["customer_id"])
    before = previous[previous["customer_id"].isin(both)][["customer_id", "attribute", "value"]]
    after = lineage[lineage["customer_id"].isin(both)]
    joined = after.merge(
        before.rename(columns={"value": "before"}), on=["customer_id", "attribute"], how="outer"
    )
    changed = joined[joined["value"].astype(str) != joined["before"].astype(str)]
    changed = changed.sort_values(["customer_id", "attribute"], ignore_index=True)
    per_attribute = (
        changed.groupby("attribute")
        .size()
        .sort_values(ascending=False)
        .rename("values")
        .reset_index()
    )
    shown = changed.head(VALUES_LISTED).astype(object)
    shown = shown.where(shown.notna(), None)
    return {
        "compared": True,
        "changed": len(changed),
        "per_attribute": per_attribute.to_dict(orient="records"),
        "values": shown[
            ["customer_id", "attribute", "before", "value", "source", "record_key", "rule"]
        ].to_dict(orient="records"),
    }

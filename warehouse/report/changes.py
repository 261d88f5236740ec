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
(``golden_values.duckdb`` beside the pages), for customers live in both syncs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from matching.linkage.decisions import Decisions
from matching.master.link_evidence import (
    LinksAmong,
    connecting_links,
    holding_links,
    links_between,
)
from warehouse.report.history import LIVE_HASHES, kept_values
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


def _names(con: duckdb.DuckDBPyConnection, keys: set[str]) -> dict[str, str | None]:
    """Names of the staged records ``keys``, in one query."""
    return dict(
        con.execute(
            "SELECT record_key, name FROM staging.customers WHERE list_contains(?, record_key)",
            [sorted(keys)],
        ).fetchall()
    )


def _shown(keys: set[str]) -> list[str]:
    return sorted(keys)[:RECORDS_LISTED]


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


def _records_of(con: duckdb.DuckDBPyConnection, customer_ids: set[str]) -> dict[str, set[str]]:
    """Current records of ``customer_ids`` only (not the whole xref: a master may hold millions)."""
    rows = con.execute(
        f"SELECT customer_id, record_key FROM {CURRENT_XREF} WHERE list_contains(?, customer_id)",
        [sorted(customer_ids)],
    ).fetchall()
    found: dict[str, set[str]] = {}
    for customer_id, record_key in rows:
        found.setdefault(customer_id, set()).add(record_key)
    return found


def id_changes(
    con: duckdb.DuckDBPyConnection, run_id: str, decisions: Decisions, upper: float
) -> dict[str, Any]:
    """This run's ID events with the records involved and, for merges and splits, the evidence."""
    events = con.execute(
        """SELECT event, customer_id, related_customer_id, entity_type, records
           FROM master.customer_id_events WHERE run_id = ? ORDER BY event, customer_id""",
        [run_id],
    ).df()
    counts = events["event"].value_counts().to_dict()
    listed = events.groupby("event", sort=False).head(EVENTS_LISTED)
    involved = set(listed["customer_id"]) | set(listed["related_customer_id"].dropna())
    records_of = _records_of(con, involved)
    moved = moved_records(con, run_id)
    # the links among every record of the merges and splits listed, read once for all
    explained = listed[listed["event"].isin(["merged", "split"])]
    into = moved["after"].isin(explained["related_customer_id"].dropna())
    evidence_keys = set(moved.loc[into, "record_key"]).union(
        *(records_of.get(c, set()) for c in explained["customer_id"]),
        *(records_of.get(c, set()) for c in explained["related_customer_id"].dropna()),
    )
    among = LinksAmong.read(con, evidence_keys) if len(explained) else None
    items: dict[str, list[dict[str, Any]]] = {
        k: [] for k in ("merged", "split", "created", "retired")
    }
    for event in listed.itertuples():
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
            held = holding_links(con, came | stayed, decisions, upper, among)
            item["moved_records"] = _shown(came)
            item["survivor_records"] = _shown(stayed)
            item["evidence"] = _links(connecting_links(held, came, stayed))
        elif event.event == "split":
            part = records_of.get(event.customer_id, set())
            rest = records_of.get(event.related_customer_id, set())
            item["moved_records"] = _shown(part)
            item["survivor_records"] = _shown(rest)
            between = links_between(con, part, rest, decisions, among)
            item["evidence"] = _links(between.head(3))
            item["evidence_note"] = _split_note(between, upper)
        elif event.event == "created":
            item["moved_records"] = _shown(records_of.get(event.customer_id, set()))
        items[event.event].append(item)
    # record keys with their names, fetched once for every event listed
    names = _names(
        con,
        {
            key
            for kind in items.values()
            for item in kind
            for key in item.get("moved_records", []) + item.get("survivor_records", [])
        },
    )
    for kind in items.values():
        for item in kind:
            for side in ("moved_records", "survivor_records"):
                if side in item:
                    item[side] = [{"record_key": k, "name": names.get(k)} for k in item[side]]
    return {"counts": {k: int(counts.get(k, 0)) for k in items}, **items}


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


def golden_value_changes(
    con: duckdb.DuckDBPyConnection,
    previous: Path | None,
    unchanged: bool = False,
    live: str | None = None,
) -> dict[str, Any]:
    """Golden values that differ from the previous sync's, for customers live in both.

    Args:
        con: the warehouse (this sync's ``master.attribute_lineage``).
        previous: the previous report's golden values (``history.GOLDEN_VALUES``); None on
            the first report.
        unchanged: ``previous`` was kept from the very lineage ``con`` holds now (their
            fingerprints are equal): no value changed, and they are not read.
        live: this sync's hashes per customer (``history.live_hashes``), when held already.
    """
    if previous is None:
        return {"compared": False, "changed": 0, "per_attribute": [], "values": []}
    if unchanged:
        return {"compared": True, "changed": 0, "per_attribute": [], "values": []}
    # only the customers whose values differ are joined value by value: a sum of hashes per
    # customer (kept beside the values) finds them in one scan of the lineage (at 100k
    # records the whole join took 0.5 s of CPU, a scan of each side 0.25 s: a 1% day
    # changes about 1% of the customers)
    with kept_values(con, previous) as kept:
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE __golden_customers AS
                SELECT customer_id FROM {kept.hashes} b
                JOIN {live or f"({LIVE_HASHES})"} n USING (customer_id)
                WHERE b.h <> n.h"""
        )
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE __golden_changes AS
               WITH before AS (SELECT customer_id, attribute, value FROM {kept.values}
                               SEMI JOIN __golden_customers USING (customer_id)),
                    now AS (SELECT customer_id, attribute, CAST(value AS VARCHAR) AS value,
                                   source, record_key, rule FROM master.attribute_lineage
                            SEMI JOIN __golden_customers USING (customer_id))
               SELECT customer_id, attribute, b.value AS before, n.value, n.source, n.record_key, n.rule
               FROM now n FULL JOIN before b USING (customer_id, attribute)
               WHERE n.value IS DISTINCT FROM b.value"""
        )
    con.execute("DROP TABLE __golden_customers")
    try:
        changed = con.execute("SELECT count(*) FROM __golden_changes").fetchall()[0][0]
        per_attribute = con.execute(
            """SELECT attribute, count(*) AS "values" FROM __golden_changes
               GROUP BY 1 ORDER BY 2 DESC, 1"""
        ).df()
        shown = con.execute(
            "FROM __golden_changes ORDER BY customer_id, attribute LIMIT ?", [VALUES_LISTED]
        ).df()
    finally:
        con.execute("DROP TABLE IF EXISTS __golden_changes")
    shown = shown.astype(object).where(shown.notna(), None)
    return {
        "compared": True,
        "changed": int(changed),
        "per_attribute": per_attribute.to_dict(orient="records"),
        "values": shown.to_dict(orient="records"),
    }

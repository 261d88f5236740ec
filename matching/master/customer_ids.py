"""Persistent customer IDs: the same customer keeps the same ID from run to run.

Clusters are recomputed on every run; customer IDs must not be. Given the IDs the records
had after the previous run and this run's clusters, each cluster inherits the ID whose
records it holds most of:

- a rerun on the same data gives every cluster its old ID (no event);
- records added to an existing customer take that customer's ID;
- when clusters of two customers merge, the ID with more records in the merged cluster
  survives (ties: the older ID); the other is retired as **merged** into it, and a lookup
  of the retired ID still resolves to the survivor;
- when a customer splits, the largest part keeps the ID and the other parts get new IDs
  (**split** from it);
- a cluster of records never seen before gets a new ID (**created**); an ID whose records
  all left the sources is **retired**.

IDs are never reused, and never cross entity types. Every change is an event.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

ID_PREFIX = "CM"
ID_DIGITS = 8
EVENT_COLUMNS = ("event", "customer_id", "related_customer_id", "entity_type", "records")
REGISTRY_COLUMNS = ("customer_id", "entity_type", "status", "merged_into")


@dataclass(frozen=True)
class IdAssignment:
    """This run's customer ID of every record, the ID events and the updated ID registry.

    Attributes:
        assignments: ``record_key``, ``cluster_id``, ``customer_id``, ``entity_type``.
        events: ``event`` (created / merged / split / retired), ``customer_id``,
            ``related_customer_id`` (the survivor of a merge, the origin of a split),
            ``entity_type``, ``records`` (records of the cluster concerned).
        registry: every ID ever issued: ``customer_id``, ``entity_type``, ``status``
            (active / merged / retired), ``merged_into`` (final survivor, for lookups).
    """

    assignments: pd.DataFrame
    events: pd.DataFrame
    registry: pd.DataFrame


def format_id(number: int) -> str:
    return f"{ID_PREFIX}{number:0{ID_DIGITS}d}"


def _number(customer_id: str) -> int:
    return int(customer_id[len(ID_PREFIX) :])


def empty_registry() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in REGISTRY_COLUMNS})


def assign_customer_ids(
    clusters: pd.DataFrame, previous: pd.DataFrame | None, registry: pd.DataFrame | None
) -> IdAssignment:
    """Give every cluster a customer ID, keeping IDs stable across runs.

    Args:
        clusters: this run's ``record_key``, ``entity_type``, ``cluster_id``.
        previous: the previous run's current ``record_key`` → ``customer_id`` (None on the
            first run).
        registry: every ID issued so far (None on the first run).
    """
    registry = empty_registry() if registry is None else registry.copy()
    previous = (
        previous if previous is not None else pd.DataFrame({"record_key": [], "customer_id": []})
    )
    frame = clusters[["record_key", "entity_type", "cluster_id"]].merge(
        previous[["record_key", "customer_id"]].rename(columns={"customer_id": "old_id"}),
        on="record_key",
        how="left",
    )
    old_type = (
        registry.set_index("customer_id")["entity_type"]
        if len(registry)
        else pd.Series(dtype=object)
    )
    same_type = frame["old_id"].map(old_type).fillna(frame["entity_type"]) == frame["entity_type"]
    frame.loc[~same_type, "old_id"] = None  # an ID never moves to another entity type

    # overlap of old IDs and new clusters; the largest overlaps are matched first
    overlap = (
        frame.dropna(subset=["old_id"])
        .groupby(["old_id", "cluster_id"])
        .size()
        .rename("n")
        .reset_index()
    )
    overlap["age"] = overlap["old_id"].map(_number)
    overlap = overlap.sort_values(["n", "age", "cluster_id"], ascending=[False, True, True])
    cluster_id_of: dict[str, str] = {}
    taken: set[str] = set()
    for old_id, cluster_id in zip(overlap["old_id"], overlap["cluster_id"], strict=True):
        if old_id not in taken and cluster_id not in cluster_id_of:
            cluster_id_of[cluster_id] = old_id
            taken.add(old_id)

    next_number = max((_number(c) for c in registry["customer_id"]), default=0) + 1
    sizes = frame.groupby("cluster_id").size()
    types = frame.groupby("cluster_id")["entity_type"].first()
    events: list[tuple[str, str, str | None, str, int]] = []
    origin = overlap.drop_duplicates("cluster_id").set_index("cluster_id")[
        "old_id"
    ]  # largest old part
    for cluster_id in sorted(sizes.index):
        if cluster_id in cluster_id_of:
            continue
        new_id = format_id(next_number)
        next_number += 1
        cluster_id_of[cluster_id] = new_id
        came_from = origin.get(cluster_id)
        kind = "split" if came_from is not None else "created"
        events.append((kind, new_id, came_from, types[cluster_id], int(sizes[cluster_id])))

    frame["customer_id"] = frame["cluster_id"].map(cluster_id_of)
    active_ids = set(cluster_id_of.values())
    before = set(previous["customer_id"].dropna())
    for old_id in sorted(before - active_ids, key=_number):
        moved = frame.loc[frame["old_id"] == old_id, "customer_id"]
        entity_type = old_type.get(old_id) if len(old_type) else None
        if len(moved):
            survivor = (
                moved.value_counts()
                .sort_index()
                .sort_values(ascending=False, kind="stable")
                .index[0]
            )
            events.append(("merged", old_id, survivor, entity_type or "", int(len(moved))))
        else:
            events.append(("retired", old_id, None, entity_type or "", 0))

    registry = _updated_registry(registry, frame, events)
    assignments = frame[["record_key", "cluster_id", "customer_id", "entity_type"]].reset_index(
        drop=True
    )
    return IdAssignment(assignments, pd.DataFrame(events, columns=list(EVENT_COLUMNS)), registry)


def _updated_registry(
    registry: pd.DataFrame, frame: pd.DataFrame, events: list[tuple[str, str, str | None, str, int]]
) -> pd.DataFrame:
    """Registry with new IDs added, merged and retired ones marked, merge chains resolved."""
    rows = registry.set_index("customer_id").to_dict("index")
    for customer_id, entity_type in frame.groupby("customer_id")["entity_type"].first().items():
        rows[customer_id] = {"entity_type": entity_type, "status": "active", "merged_into": None}
    for kind, customer_id, related, entity_type, _ in events:
        if kind == "merged":
            rows[customer_id] = {
                "entity_type": entity_type,
                "status": "merged",
                "merged_into": related,
            }
        elif kind == "retired":
            rows[customer_id] = {
                "entity_type": entity_type,
                "status": "retired",
                "merged_into": None,
            }
    # a lookup of any old ID ends at a live one: follow merge chains to their end
    for customer_id, row in rows.items():
        target, seen = row["merged_into"], {customer_id}
        while (
            target is not None
            and rows.get(target, {}).get("status") == "merged"
            and target not in seen
        ):
            seen.add(target)
            target = rows[target]["merged_into"]
        row["merged_into"] = target
    out = pd.DataFrame.from_dict(rows, orient="index").rename_axis("customer_id").reset_index()
    out = out[list(REGISTRY_COLUMNS)]
    return out.sort_values("customer_id", key=lambda c: c.map(_number)).reset_index(drop=True)


def resolve_id(registry: pd.DataFrame, customer_id: str) -> str | None:
    """The live ID an old ID now means: itself if active, its survivor if merged, None if retired."""
    row = registry[registry["customer_id"] == customer_id]
    if row.empty:
        return None
    status, merged_into = row.iloc[0]["status"], row.iloc[0]["merged_into"]
    if status == "active":
        return customer_id
    return merged_into if status == "merged" else None

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

import numpy as np
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


def _numbers(customer_ids: pd.Series) -> pd.Series:
    """The issue number of every ID (``CM00000042`` → 42): older IDs have smaller numbers."""
    return customer_ids.astype(str).str.slice(len(ID_PREFIX)).astype("int64")


def _format_ids(numbers: np.ndarray) -> list[str]:
    return [format_id(int(n)) for n in numbers]


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
    registry = empty_registry() if registry is None else registry
    previous = (
        previous if previous is not None else pd.DataFrame({"record_key": [], "customer_id": []})
    )
    frame = clusters[["record_key", "entity_type", "cluster_id"]].merge(
        previous[["record_key", "customer_id"]].rename(columns={"customer_id": "old_id"}),
        on="record_key",
        how="left",
    )
    old_type = registry.set_index("customer_id")["entity_type"]
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
    overlap["age"] = _numbers(overlap["old_id"])
    overlap = overlap.sort_values(["n", "age", "cluster_id"], ascending=[False, True, True])
    cluster_id_of: dict[str, str] = {}
    taken: set[str] = set()
    for old_id, cluster_id in zip(overlap["old_id"], overlap["cluster_id"], strict=True):
        if old_id not in taken and cluster_id not in cluster_id_of:
            cluster_id_of[cluster_id] = old_id
            taken.add(old_id)

    # clusters that inherit no ID get new ones, in cluster order; a split names its origin
    by_cluster = frame.groupby("cluster_id", sort=True).agg(
        entity_type=("entity_type", "first"), records=("record_key", "size")
    )
    fresh = by_cluster[~by_cluster.index.isin(list(cluster_id_of))]
    next_number = int(_numbers(registry["customer_id"]).max()) + 1 if len(registry) else 1
    new_ids = _format_ids(np.arange(next_number, next_number + len(fresh)))
    cluster_id_of.update(zip(fresh.index, new_ids, strict=True))
    origin = fresh.index.map(
        overlap.drop_duplicates("cluster_id").set_index("cluster_id")["old_id"]  # largest part
    )
    new_events = pd.DataFrame(
        {
            "event": np.where(origin.isna(), "created", "split"),
            "customer_id": new_ids,
            "related_customer_id": origin.to_numpy(dtype=object),
            "entity_type": fresh["entity_type"].to_numpy(),
            "records": fresh["records"].to_numpy(dtype="int64"),
        }
    )
    frame["customer_id"] = frame["cluster_id"].map(cluster_id_of)
    events = pd.concat(
        [new_events, _ended_ids(frame, previous, set(cluster_id_of.values()), old_type)],
        ignore_index=True,
    )
    events["related_customer_id"] = events["related_customer_id"].astype(object)
    events = events.where(events.notna(), None).astype({"records": "int64"})
    registry = _updated_registry(registry, frame, events)
    assignments = frame[["record_key", "cluster_id", "customer_id", "entity_type"]].reset_index(
        drop=True
    )
    return IdAssignment(assignments, events[list(EVENT_COLUMNS)], registry)


def _ended_ids(
    frame: pd.DataFrame, previous: pd.DataFrame, active: set[str], old_type: pd.Series
) -> pd.DataFrame:
    """An event for every ID of the last run that no cluster carries on: **merged** into the
    customer that holds most of its records (ties: the smaller ID), or **retired** when its
    records all left. Oldest ID first."""
    gone = pd.Series(sorted(set(previous["customer_id"].dropna()) - active), dtype=object)
    gone = gone.iloc[np.argsort(_numbers(gone).to_numpy(), kind="stable")] if len(gone) else gone
    moved = frame.loc[frame["old_id"].isin(set(gone)), ["old_id", "customer_id"]]
    counts = moved.groupby(["old_id", "customer_id"]).size().rename("n").reset_index()
    survivor = (
        counts.sort_values(["old_id", "n", "customer_id"], ascending=[True, False, True])
        .drop_duplicates("old_id")
        .set_index("old_id")["customer_id"]
    )
    n_moved = moved.groupby("old_id").size()
    related = gone.map(survivor)
    return pd.DataFrame(
        {
            "event": np.where(related.notna(), "merged", "retired"),
            "customer_id": gone.to_numpy(),
            "related_customer_id": related.to_numpy(dtype=object),
            "entity_type": gone.map(old_type).fillna("").to_numpy(dtype=object),
            "records": gone.map(n_moved).fillna(0).to_numpy(dtype="int64"),
        }
    )


def _updated_registry(
    registry: pd.DataFrame, frame: pd.DataFrame, events: pd.DataFrame
) -> pd.DataFrame:
    """Registry with new IDs added, merged and retired ones marked, merge chains resolved."""
    active = frame.groupby("customer_id")["entity_type"].first()
    ended = events[events["event"].isin(["merged", "retired"])].set_index("customer_id")
    rows = pd.concat(
        [
            registry.set_index("customer_id")[["entity_type", "status", "merged_into"]],
            pd.DataFrame(
                {"entity_type": active, "status": "active", "merged_into": None}, index=active.index
            ),
            pd.DataFrame(
                {
                    "entity_type": ended["entity_type"],
                    "status": ended["event"],
                    "merged_into": ended["related_customer_id"].where(
                        ended["event"] == "merged", None
                    ),
                },
                index=ended.index,
            ),
        ]
    )
    rows = rows[~rows.index.duplicated(keep="last")]  # the latest word on every ID
    rows["merged_into"] = _chain_ends(rows["status"], rows["merged_into"])
    out = rows.rename_axis("customer_id").reset_index()[list(REGISTRY_COLUMNS)]
    out = out.iloc[np.argsort(_numbers(out["customer_id"]).to_numpy(), kind="stable")]
    return out.astype(object).where(out.notna(), None).reset_index(drop=True)


def _chain_ends(status: pd.Series, merged_into: pd.Series) -> pd.Series:
    """A lookup of any old ID ends at a live one: follow every merge chain to its end (the
    first ID on it that is not itself merged; a cycle stops where it would repeat)."""
    target = merged_into.copy()
    for _ in range(len(target)):
        step = target.map(merged_into.where(status == "merged")).where(target.notna())
        onward = step.notna() & (step != target.index.to_series()) & (step != target)
        if not onward.any():
            return target
        target = target.where(~onward, step)
    return target


def resolve_id(registry: pd.DataFrame, customer_id: str) -> str | None:
    """The live ID an old ID now means: itself if active, its survivor if merged, None if retired."""
    row = registry[registry["customer_id"] == customer_id]
    if row.empty:
        return None
    status, merged_into = row.iloc[0]["status"], row.iloc[0]["merged_into"]
    if status == "active":
        return customer_id
    return merged_into if status == "merged" else None

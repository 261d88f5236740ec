"""Clusters the business can trust: model links, steward decisions and a size limit together.

Records linked by a pair at or above the upper threshold belong together, as do records a
steward declared a ``match``. Two things stop a blind transitive closure:

- a ``no_match`` decision keeps its two records apart even when other links connect them:
  the cluster is split on its weakest links and the conflict is reported;
- a cluster larger than ``max_cluster_size`` is not merged blindly: it is split on its
  weakest links into parts within the limit, flagged, and the cut links go to review.

Both are solved the same way, per affected cluster: links are taken strongest first (steward
matches before everything) and a link is kept unless it would join two records a steward
kept apart or grow a part past the limit. The links left out are the weakest ones that
had to go. Clusters nothing affects are exactly the connected components.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from matching.linkage.backend import SparkRun
from matching.linkage.components import components_of, sorted_keys, spark_cluster_pairs
from matching.linkage.decisions import Decisions, order_pairs, unknown_records

logger = logging.getLogger(__name__)

#: Probability given to a steward's match: stronger than any model link.
STEWARD_MATCH = 1.0
CUT_REASONS = ("no_match_conflict", "oversized_cluster")


@dataclass(frozen=True)
class Resolution:
    """Clusters and what it took to make them.

    Attributes:
        clusters: one row per record: ``record_key``, ``cluster_id`` (smallest record key of
            the cluster), ``cluster_size``, ``needs_review`` (part of a cluster that hit the
            size limit or a contradiction between steward decisions).
        cut_links: links above the threshold left out: ``record_key_l``, ``record_key_r``,
            ``match_probability``, ``reason`` (no_match_conflict / oversized_cluster).
        conflicts: one row per ``no_match`` decision whose records the links had joined:
            ``record_key_l``, ``record_key_r``, ``links_cut``, ``resolved`` (False when only
            other steward decisions connect them: stewards must look again).
        unknown_decision_records: record keys named by decisions that are not staged.
        split_components: ``record_key``, ``component_id`` (smallest record key of the
            connected component) of the records of every component that was split (a
            ``no_match`` or the size limit); every other record's cluster is its whole
            component. An incremental clustering finds a record's last component here
            (``matching.linkage.recluster``).
    """

    clusters: pd.DataFrame
    cut_links: pd.DataFrame
    conflicts: pd.DataFrame
    unknown_decision_records: list[str]
    split_components: pd.DataFrame = field(default_factory=lambda: _no_components())

    def counts(self) -> dict[str, int]:
        sizes = self.clusters.groupby("cluster_id").size()
        return {
            "records": len(self.clusters),
            "clusters": len(sizes),
            "largest_cluster": int(sizes.max()) if len(sizes) else 0,
            "records_needing_review": int(self.clusters["needs_review"].sum()),
            "links_cut": len(self.cut_links),
            "decision_conflicts": len(self.conflicts),
        }


def resolve_clusters(
    record_keys: Iterable[str],
    pairs: pd.DataFrame,
    decisions: Decisions,
    threshold: float,
    max_cluster_size: int,
    spark: SparkRun | None = None,
) -> Resolution:
    """Cluster records from scored pairs, steward decisions and a cluster-size limit.

    The connected components of the links are solved on Spark when ``spark`` is given;
    the few clusters a decision or the size limit affects are then rebuilt here.

    Args:
        record_keys: every record to cluster.
        pairs: ``record_key_l``, ``record_key_r``, ``match_probability``.
        decisions: steward decisions (``matching.linkage.decisions.read_decisions``).
        threshold: lowest match probability that links two records.
        max_cluster_size: largest cluster formed without review.
        spark: the Spark session and exchange folder (``matching.backend: spark``).
    """
    if max_cluster_size < 2:
        raise ValueError(f"max_cluster_size must be at least 2, got {max_cluster_size}")
    keys = sorted_keys(record_keys)
    unknown = unknown_records(decisions, keys)
    if unknown:
        logger.warning(
            "%d record(s) named by steward decisions are not staged: %s",
            len(unknown),
            ", ".join(unknown[:5]),
        )
    known = decisions.table[
        decisions.table["record_key_l"].isin(keys) & decisions.table["record_key_r"].isin(keys)
    ]
    links = _links(pairs, known, threshold)
    # every record and link as its position among the sorted keys: the work below is on
    # integer arrays (pandas on the keys themselves spent 40 s at 1M records)
    if spark is not None:
        solved = spark_cluster_pairs(keys, links, 0.0, spark)
        root = keys.get_indexer(solved["cluster_id"])
    else:
        root = components_of(keys, links)
    link_root = root[keys.get_indexer(links["record_key_l"])]

    no_match = known[known["decision"] == "no_match"]
    apart_l = keys.get_indexer(no_match["record_key_l"])
    apart_r = keys.get_indexer(no_match["record_key_r"])
    joined = root[apart_l] == root[apart_r]
    violated = no_match[joined]
    sizes = np.bincount(root, minlength=len(keys))
    affected = set(root[apart_l[joined]].tolist()) | set(
        np.flatnonzero(sizes > max_cluster_size).tolist()
    )

    part = root.copy()
    needs_review = np.zeros(len(keys), dtype=bool)
    cut_rows: list[tuple[str, str, float, str]] = []
    conflict_rows: list[tuple[str, str, int, bool]] = []
    split_at: list[np.ndarray] = []
    if affected:
        violated_root = root[apart_l[joined]]
        for cid in sorted(affected):
            at = np.flatnonzero(root == cid)
            split_at.append(at)
            members = keys[at]
            part_links = links[link_root == cid]
            apart = violated[violated_root == cid]
            parts, cut = _split(members, part_links, apart, max_cluster_size)
            part[at] = keys.get_indexer(parts.loc[members])
            oversized = len(members) > max_cluster_size
            needs_review[at] = oversized
            cut_rows += cut
            for left_key, right_key in zip(
                apart["record_key_l"], apart["record_key_r"], strict=True
            ):
                resolved = parts[left_key] != parts[right_key]
                n_cut = sum(1 for c in cut if c[3] == "no_match_conflict")
                conflict_rows.append((left_key, right_key, n_cut, bool(resolved)))
                if not resolved:
                    needs_review[at[parts.loc[members].to_numpy() == parts[left_key]]] = True
    clusters = pd.DataFrame(
        {
            "record_key": keys.to_numpy(),
            "cluster_id": keys.to_numpy()[part],
            "cluster_size": np.bincount(part, minlength=len(keys))[part].astype("int64"),
            "needs_review": needs_review,
        }
    )
    resolution = Resolution(
        clusters=clusters,
        cut_links=pd.DataFrame(
            cut_rows, columns=["record_key_l", "record_key_r", "match_probability", "reason"]
        ),
        conflicts=pd.DataFrame(
            conflict_rows, columns=["record_key_l", "record_key_r", "links_cut", "resolved"]
        ),
        unknown_decision_records=unknown,
        split_components=_components_of(keys, root, split_at),
    )
    logger.info("clusters: %s", resolution.counts())
    return resolution


def _no_components() -> pd.DataFrame:
    return pd.DataFrame(
        {"record_key": pd.Series(dtype=object), "component_id": pd.Series(dtype=object)}
    )


def _components_of(keys: pd.Index, root: np.ndarray, split_at: list[np.ndarray]) -> pd.DataFrame:
    """``record_key``, ``component_id`` of the records at the positions ``split_at``."""
    if not split_at:
        return _no_components()
    at = np.concatenate(split_at)
    return pd.DataFrame(
        {"record_key": keys.to_numpy()[at], "component_id": keys.to_numpy()[root[at]]}
    )


def _links(pairs: pd.DataFrame, decisions: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Model links at or above ``threshold`` that no steward rejected, plus steward matches."""
    scored = order_pairs(
        pairs.loc[
            pairs["match_probability"] >= threshold,
            ["record_key_l", "record_key_r", "match_probability"],
        ]
    )
    if len(decisions):
        decided = decisions.set_index(["record_key_l", "record_key_r"]).index
        scored = scored[~scored.set_index(["record_key_l", "record_key_r"]).index.isin(decided)]
    matches = decisions.loc[
        decisions["decision"] == "match", ["record_key_l", "record_key_r"]
    ].assign(match_probability=STEWARD_MATCH)
    parts = [frame for frame in (matches, scored) if len(frame)]
    return pd.concat(parts, ignore_index=True) if parts else scored.reset_index(drop=True)


def _split(
    members: pd.Index, links: pd.DataFrame, apart: pd.DataFrame, max_size: int
) -> tuple[pd.Series, list[tuple[str, str, float, str]]]:
    """Rebuild one cluster from its links, strongest first, skipping links that break a rule.

    Returns the part (smallest record key) of each member and the links left out.
    """
    position = {key: i for i, key in enumerate(members)}
    parent = np.arange(len(members))
    size = np.ones(len(members), dtype=np.int64)
    kept_apart: dict[int, set[int]] = {}  # part (root position) → positions it must not join
    for left, right in zip(apart["record_key_l"], apart["record_key_r"], strict=True):
        a, b = position[left], position[right]
        kept_apart.setdefault(a, set()).add(b)
        kept_apart.setdefault(b, set()).add(a)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return int(i)

    cut: list[tuple[str, str, float, str]] = []
    ordered = links.sort_values(
        ["match_probability", "record_key_l", "record_key_r"], ascending=[False, True, True]
    )
    for left, right, probability in ordered[
        ["record_key_l", "record_key_r", "match_probability"]
    ].itertuples(index=False):
        a, b = root(position[left]), root(position[right])
        if a == b:
            continue
        if any(root(x) == b for x in kept_apart.get(a, ())):
            if probability < STEWARD_MATCH:
                cut.append((left, right, float(probability), "no_match_conflict"))
                continue
        elif size[a] + size[b] > max_size and probability < STEWARD_MATCH:
            cut.append((left, right, float(probability), "oversized_cluster"))
            continue
        low, high = min(a, b), max(a, b)
        parent[high] = low
        size[low] += size[high]
        kept_apart[low] = kept_apart.get(low, set()) | kept_apart.pop(high, set())
    roots = np.array([root(i) for i in range(len(members))])
    return pd.Series(members.to_numpy()[roots], index=members), cut

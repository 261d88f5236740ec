"""Re-clustering only where something changed: what an incremental sync does with clusters.

A clustering is a function of each connected component of the links on its own: the
records of one component, its links with their probabilities and the ``no_match``
decisions between its records (``matching.linkage.clustering``). So a component whose
records, links and decisions are all as they were gives the clusters, cut links and
conflicts it gave last time, and only the components something touched are solved again.

Touched (the *seeds*): both records of a link that appeared, disappeared or changed its
probability, and of a ``no_match`` decision that appeared or disappeared (a ``match``
decision is a link of its own); a record that is new to the entity type; the records a
removed record was linked to (its links disappeared). Every component of today's links
that holds a seed is solved again; every record of a component without one keeps its
cluster. That is exactly the full clustering: a component without a seed has the same
links as last time and none leave it, so it was a component last time too, with the
same inputs.

The union-find over all of an entity type's links is numpy's (``components``), a second
or so at a million records; the part that costs per record (rebuilding clusters a
decision or the size limit breaks, building the frames) runs on the touched components
only.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from matching.linkage.backend import SparkRun
from matching.linkage.clustering import Resolution, links_of, resolve_clusters, solved_from
from matching.linkage.components import components_of, sorted_keys
from matching.linkage.decisions import Decisions, unknown_records

logger = logging.getLogger(__name__)


def resolve_changed_clusters(
    record_keys: pd.Series,
    pairs: pd.DataFrame,
    decisions: Decisions,
    threshold: float,
    max_cluster_size: int,
    previous: Resolution,
    spark: SparkRun | None = None,
) -> Resolution:
    """:func:`~matching.linkage.clustering.resolve_clusters`, solving again only the
    components whose records, links or ``no_match`` decisions changed since ``previous``.

    Args:
        record_keys, pairs, decisions, threshold, max_cluster_size, spark: as for
            ``resolve_clusters`` (one entity type).
        previous: the last clustering of the same entity type under the same threshold and
            size limit (its ``clusters``, ``cut_links``, ``conflicts`` and ``inputs``).

    Returns:
        The resolution a full ``resolve_clusters`` gives on the same arguments.
    """
    keys = sorted_keys(record_keys)
    known = decisions.table[
        decisions.table["record_key_l"].isin(keys) & decisions.table["record_key_r"].isin(keys)
    ]
    links = links_of(pairs, known, threshold)
    root = components_of(keys, links)
    seeds = _seeds(keys, links, known, previous)
    touched = np.isin(root, root[seeds])
    logger.info(
        "re-clustering %d of %d records (%d touched directly)",
        int(touched.sum()),
        len(keys),
        len(seeds),
    )
    members = pd.Index(keys[touched])
    inside = decisions.table["record_key_l"].isin(members) & decisions.table["record_key_r"].isin(
        members
    )
    solved = resolve_clusters(
        members,
        pairs[pairs["record_key_l"].isin(members) & pairs["record_key_r"].isin(members)],
        Decisions(decisions.table[inside]),
        threshold,
        max_cluster_size,
        spark=spark,
    )
    kept = previous.clusters[~previous.clusters["record_key"].isin(members)]
    kept = kept[kept["record_key"].isin(keys)]
    clusters = pd.concat([kept, solved.clusters[list(kept.columns)]], ignore_index=True)
    clusters = clusters.sort_values("record_key", ignore_index=True)
    return Resolution(
        clusters=clusters.astype(solved.clusters.dtypes.to_dict()),
        cut_links=_kept_and_new(previous.cut_links, solved.cut_links, members, keys),
        conflicts=_kept_and_new(previous.conflicts, solved.conflicts, members, keys),
        unknown_decision_records=unknown_records(decisions, keys),
        inputs=_kept_and_new(previous.inputs, solved.inputs, members, keys),
    )


def _seeds(
    keys: pd.Index, links: pd.DataFrame, known: pd.DataFrame, previous: Resolution
) -> np.ndarray:
    """Positions among ``keys`` of the records whose component may have changed."""
    now = solved_from(links, known[known["decision"] == "no_match"])
    before = previous.inputs
    columns = ["record_key_l", "record_key_r", "match_probability", "kind"]
    both = now[columns].merge(before[columns].drop_duplicates(), how="outer", indicator=True)
    changed = both[both["_merge"] != "both"]
    ends = pd.concat([changed["record_key_l"], changed["record_key_r"]])
    new = keys[~keys.isin(previous.clusters["record_key"])]
    at = keys.get_indexer(pd.Index(pd.concat([ends, pd.Series(new, dtype=object)]).unique()))
    return at[at >= 0]


def _kept_and_new(
    before: pd.DataFrame,
    solved: pd.DataFrame,
    members: pd.Index,
    keys: pd.Index,
) -> pd.DataFrame:
    """Rows of ``before`` between two staged records outside the re-solved components, then
    the re-solved rows."""
    left, right = before["record_key_l"], before["record_key_r"]
    kept = before[~left.isin(members) & ~right.isin(members) & left.isin(keys) & right.isin(keys)]
    frames = [f for f in (kept, solved[list(before.columns)]) if len(f)]
    if not frames:
        return solved[list(before.columns)].reset_index(drop=True)
    return pd.concat(frames, ignore_index=True).astype(solved.dtypes.to_dict())

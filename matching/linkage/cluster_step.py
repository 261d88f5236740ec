"""The clustering step of a sync: scored pairs, steward decisions and the size limit into
clusters of every entity type, and the review queue of what a person must decide.

``cluster_records`` clusters companies before persons: contact persons named on records of
one company cluster with the same name are one person (``contacts``), and those links join
the person model's pairs. ``update_clusters`` runs it as the sync does, over every record or
(``recluster``) over only the components a day's changes touch, and writes the clusters, the
review queue and the queue's files for the stewards. It reads only the columns it needs:
every staged column of every record took 24 to 35 s at 1M records.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matching.linkage.backend import SparkRun
from matching.linkage.clustering import Resolution, resolve_clusters
from matching.linkage.contacts import contact_person_pairs, prepared_contacts
from matching.linkage.decisions import Decisions, order_pairs
from matching.linkage.features import MATCHING_COLUMNS
from matching.linkage.prepared_store import UNCAPPED
from matching.linkage.recluster import (
    can_recluster,
    cluster_counts,
    forget_cluster_inputs,
    recluster,
    remember_cluster_inputs,
)
from matching.linkage.review_queue import REVIEW_ATTRIBUTES, build_review_queue, level_labels
from matching.linkage.steps import ModelChoice, models_in_use
from sources.config import MatchingConfig
from sources.schema import ENTITY_TYPES
from warehouse.files import write_atomically
from warehouse.store import quote, replace_table, table_exists

#: Staged columns :func:`cluster_records` reads of every record when the contact records
#: come prepared and the review queue reads its records' attributes itself: reading every
#: staged column took 24 to 35 s at 1M records. Without the prepared contacts it needs
#: ``MATCHING_COLUMNS`` too, to prepare them, and without ``review_records``
#: ``REVIEW_ATTRIBUTES``.
CLUSTERING_COLUMNS = ("record_key", "entity_type", "derived_from_record_key", "quality_flags")
#: Columns of the scored pairs the clustering reads (the review queue reads them all).
CLUSTER_PAIR_COLUMNS = ("entity_type", "record_key_l", "record_key_r", "match_probability")
#: Staged columns of the records in the review queue (what ``review_records`` reads).
REVIEW_RECORD_COLUMNS = ("record_key", "entity_type", *REVIEW_ATTRIBUTES)


@dataclass(frozen=True)
class Clustering:
    """Clusters of every entity type, the links relational rules added, the review queue."""

    resolution: Resolution
    rule_links: pd.DataFrame
    review_queue: pd.DataFrame


def cluster_records(
    staged: pd.DataFrame,
    pairs: pd.DataFrame,
    decisions: Decisions,
    models: list[ModelChoice],
    settings: MatchingConfig,
    spark: SparkRun | None = None,
    prepared_contacts: pd.DataFrame | None = None,
    review_records: Callable[[Collection[str]], pd.DataFrame] | None = None,
    review_pairs: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
) -> Clustering:
    """Clusters of staged records and the review queue that goes with them.

    Companies are clustered first: contact persons named on records of one company
    cluster with the same name are one person (``matching.linkage.contacts``), and those links
    join the person model's pairs before persons are clustered. With ``spark`` (the
    session, when ``settings.backend`` is 'spark') the connected components are solved on
    Spark. ``prepared_contacts``: the contact records as prepared already
    (``contacts.prepared_contacts``); without it they are prepared from ``staged``.
    ``review_records``: reads the staged ``REVIEW_RECORD_COLUMNS`` of the given records, for the review queue; without it they are taken
    from ``staged``.
    ``review_pairs``: given the pairs the clustering cut or found in conflict
    (``record_key_l``, ``record_key_r``), reads every column of those and of the pairs
    between the thresholds, for the review queue; ``pairs`` then needs only the columns
    the clustering reads (``CLUSTER_PAIR_COLUMNS``) of the pairs at or above the upper
    threshold. Without it the queue takes its pairs from ``pairs``.
    """
    # the entity type of the records decisions name (indexing every staged record cost seconds)
    named = set(decisions.table["record_key_l"]) | set(decisions.table["record_key_r"])
    entity = staged.loc[staged["record_key"].isin(named).to_numpy()].set_index("record_key")[
        "entity_type"
    ]
    resolutions: dict[str, Resolution] = {}
    rule_links = pd.DataFrame(
        columns=["entity_type", "record_key_l", "record_key_r", "match_probability", "match_rule"]
    )
    for entity_type in ENTITY_TYPES:
        keys = staged.loc[staged["entity_type"] == entity_type, "record_key"]
        mine = pairs[pairs["entity_type"] == entity_type]
        if entity_type == "person" and "company" in resolutions:
            links = contact_person_pairs(
                staged,
                resolutions["company"].clusters[["record_key", "cluster_id"]],
                prepared=prepared_contacts,
            )
            rule_links = links.assign(entity_type="person")[list(rule_links.columns)]
            mine = (
                pd.concat([mine, links.drop(columns="match_rule")], ignore_index=True)
                if len(links)
                else mine
            )
        decided = decisions.table[decisions.table["record_key_l"].map(entity) == entity_type]
        resolutions[entity_type] = resolve_clusters(
            keys,
            mine,
            Decisions(decided),
            settings.upper_threshold,
            settings.max_cluster_size,
            spark=spark if settings.backend == "spark" else None,
        )
    for entity_type, part in resolutions.items():
        part.clusters.insert(1, "entity_type", entity_type)
    resolution = _combined(list(resolutions.values()), decisions, entity)
    queue = review_queue(
        resolution,
        decisions,
        models,
        settings,
        staged if review_records is None else review_records,
        (lambda _: pairs) if review_pairs is None else review_pairs,
    )
    return Clustering(resolution, rule_links.reset_index(drop=True), queue)


def review_queue(
    resolution: Resolution,
    decisions: Decisions,
    models: list[ModelChoice],
    settings: MatchingConfig,
    review_records: pd.DataFrame | Callable[[Collection[str]], pd.DataFrame],
    review_pairs: Callable[[pd.DataFrame], pd.DataFrame],
) -> pd.DataFrame:
    """The review queue of a clustering (``resolution``: its cut links and conflicts, of
    every record), as :func:`cluster_records` describes its arguments."""
    labels = {m.version.entity_type: level_labels(m.version.load()) for m in models}
    return build_review_queue(
        review_pairs(reviewed_links(resolution)),
        resolution,
        decisions,
        review_records,
        settings.lower_threshold,
        settings.upper_threshold,
        labels,
    )


def _combined(parts: list[Resolution], decisions: Decisions, entity: pd.Series) -> Resolution:
    """One resolution from the per-entity-type ones (decisions naming unknown records kept)."""
    named = pd.concat([decisions.table["record_key_l"], decisions.table["record_key_r"]])

    def stacked(frames: list[pd.DataFrame]) -> pd.DataFrame:
        filled = [f for f in frames if len(f)]
        return pd.concat(filled, ignore_index=True) if filled else frames[0]

    clusters = stacked([p.clusters for p in parts])
    # Arrow sorts the keys (code-point order, as pandas does) in a fraction of pandas' time
    order = pc.sort_indices(pa.array(clusters["record_key"].to_numpy(dtype=object), pa.string()))
    return Resolution(
        clusters=clusters.take(order.to_numpy()).reset_index(drop=True),
        cut_links=stacked([p.cut_links for p in parts]),
        conflicts=stacked([p.conflicts for p in parts]),
        unknown_decision_records=sorted(set(named) - set(entity.index)),
        split_components=stacked([p.split_components for p in parts]),
    )


def reviewed_links(resolution: Resolution) -> pd.DataFrame:
    """The pairs the review queue shows besides those between the thresholds: links cut
    from an oversized cluster and the record pairs of unresolved decision conflicts
    (``record_key_l`` < ``record_key_r``)."""
    cut = resolution.cut_links[["record_key_l", "record_key_r"]]
    conflicts = resolution.conflicts[["record_key_l", "record_key_r"]]
    return order_pairs(pd.concat([cut, conflicts], ignore_index=True)).drop_duplicates()


def staged_records(
    con: duckdb.DuckDBPyConnection,
    columns: Collection[str] | None = None,
    keys: Collection[str] | None = None,
) -> pd.DataFrame:
    """``staging.customers`` as pandas: every column, or only those of ``columns`` it has
    (optional ones may be missing from a warehouse staged by an older version); ``keys``:
    only the records of these record keys."""
    present = {d[0] for d in con.sql("SELECT * FROM staging.customers LIMIT 0").description}
    select = "*" if columns is None else ", ".join(quote(c) for c in columns if c in present)
    if keys is None:
        return con.sql(f"SELECT {select} FROM staging.customers").df()
    con.register("__keys", pa.table({"record_key": pa.array(list(keys), pa.string())}))
    try:
        return con.sql(
            f"SELECT {select} FROM staging.customers SEMI JOIN __keys USING (record_key)"
        ).df()
    finally:
        con.unregister("__keys")


@dataclass(frozen=True)
class ClusterUpdate:
    """What the clustering step of a sync wrote: the clustering (its cut links, conflicts
    and unknown decision records), the review queue, the counts of ``matching.clusters``
    and, on an incremental sync, how many records were solved again (else None)."""

    resolution: Resolution
    review_queue: pd.DataFrame
    counts: dict[str, int]
    records_solved_again: int | None


def update_clusters(
    con: duckdb.DuckDBPyConnection,
    decisions: Decisions,
    settings: MatchingConfig,
    review_dir: Path,
    incremental: bool,
    spark: SparkRun | None = None,
) -> ClusterUpdate:
    """The clustering step of a sync: ``matching.clusters``, ``cut_links``,
    ``decision_conflicts``, ``rule_links`` and ``review_queue`` written, the queue exported
    to ``review_dir``/review_queue.csv and .parquet (atomically).

    With ``incremental`` (the step's inputs allow it), a DuckDB deployment whose last
    clustering left its snapshots solves again only the components the day's changes touch
    (:func:`recluster`); otherwise every record is clustered (:func:`cluster_records`) and
    the snapshots are written for the next sync.
    """
    prepared = table_exists(con, *UNCAPPED.split("."))
    solved = None
    if incremental and prepared and settings.backend != "spark" and can_recluster(con):
        solved = recluster(con, decisions, settings, UNCAPPED)
        resolution = solved.resolution
        queue = review_queue(
            resolution,
            decisions,
            models_in_use(con),
            settings,
            review_records=lambda keys: staged_records(con, REVIEW_RECORD_COLUMNS, keys),
            review_pairs=lambda links: _review_pairs(con, settings, links),
        )
        replace_table(con, "matching", "review_queue", queue)
    else:
        resolution, queue = _cluster_all(con, decisions, settings, prepared, spark)
    write_atomically(
        review_dir / "review_queue.csv",
        lambda p: queue.to_csv(p, index=False, encoding="utf-8-sig"),
    )
    write_atomically(
        review_dir / "review_queue.parquet", lambda p: queue.to_parquet(p, index=False)
    )
    return ClusterUpdate(
        resolution,
        queue,
        cluster_counts(con),
        None if solved is None else solved.records_solved,
    )


def _cluster_all(
    con: duckdb.DuckDBPyConnection,
    decisions: Decisions,
    settings: MatchingConfig,
    prepared: bool,
    spark: SparkRun | None,
) -> tuple[Resolution, pd.DataFrame]:
    """Cluster every record, write the clusters and the review queue's tables, and keep what
    the clustering read for the next sync's incremental one (``prepared``: the prepared
    records before caps exist, of which the contact records are read)."""
    forget_cluster_inputs(con)
    # of the pairs, the clustering reads only the links' keys and probability; the review
    # queue reads every column of the pairs it shows (_review_pairs). Every column of every
    # pair took 4.6 s at 1M records (800k pairs), these 1.5 s (loaded machine)
    pairs = con.execute(
        f"SELECT {', '.join(CLUSTER_PAIR_COLUMNS)} FROM matching.pairs"
        " WHERE match_probability >= ?",
        [settings.upper_threshold],
    ).df()
    # the contact records as prepared_records prepared them, not prepared again
    contacts = prepared_contacts(con, UNCAPPED, "staging.customers") if prepared else None
    columns = (
        CLUSTERING_COLUMNS
        if contacts is not None
        else tuple(dict.fromkeys((*CLUSTERING_COLUMNS, *MATCHING_COLUMNS)))
    )
    result = cluster_records(
        staged_records(con, columns),
        pairs,
        decisions,
        models_in_use(con),
        settings,
        spark=spark,
        prepared_contacts=contacts,
        review_records=lambda keys: staged_records(con, REVIEW_RECORD_COLUMNS, keys),
        review_pairs=lambda links: _review_pairs(con, settings, links),
    )
    resolution, queue = result.resolution, result.review_queue
    replace_table(con, "matching", "clusters", resolution.clusters)
    replace_table(con, "matching", "cut_links", resolution.cut_links)
    replace_table(con, "matching", "decision_conflicts", resolution.conflicts)
    replace_table(con, "matching", "rule_links", result.rule_links)
    replace_table(con, "matching", "review_queue", queue)
    if prepared:
        remember_cluster_inputs(con, decisions, settings, resolution.split_components, UNCAPPED)
    return resolution, queue


def _review_pairs(
    con: duckdb.DuckDBPyConnection, settings: MatchingConfig, links: pd.DataFrame
) -> pd.DataFrame:
    """Every column of the scored pairs the review queue may show: those between the
    thresholds and ``links`` (cut or in conflict, either way round)."""
    con.register("__links", links[["record_key_l", "record_key_r"]])
    try:
        return con.execute(
            """SELECT * FROM matching.pairs p
               WHERE (match_probability >= ? AND match_probability < ?)
                  OR EXISTS (SELECT 1 FROM __links k
                             WHERE least(p.record_key_l, p.record_key_r) = k.record_key_l
                               AND greatest(p.record_key_l, p.record_key_r) = k.record_key_r)""",
            [settings.lower_threshold, settings.upper_threshold],
        ).df()
    finally:
        con.unregister("__links")

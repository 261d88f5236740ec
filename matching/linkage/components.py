"""From scored pairs to clusters: which records are one customer.

Records linked by a pair at or above the threshold belong together, and so does
everything linked to them (connected components). A record with no such pair is a
customer of its own. The cluster id is the smallest record key of the cluster, so the
same pairs always give the same ids (persistent customer IDs are assigned later, on top
of these clusters). ``spark_cluster_pairs`` solves the same on Spark, for link graphs past
one machine.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matching.linkage.backend import SparkRun, matching_database

logger = logging.getLogger(__name__)


def cluster_pairs(
    record_keys: Iterable[str], pairs: pd.DataFrame, threshold: float
) -> pd.DataFrame:
    """Connected components of the records under the pairs scoring at least ``threshold``.

    Args:
        record_keys: every record to cluster (records in no pair become singletons).
        pairs: ``record_key_l``, ``record_key_r``, ``match_probability`` (as from
            ``matching.linkage.prediction.predict_pairs``).
        threshold: lowest match probability that links two records.

    Returns:
        One row per record: ``record_key``, ``cluster_id`` (the smallest record key of its
        cluster), sorted by ``record_key``.

    Raises:
        ValueError: a pair names a record that is not in ``record_keys``, or keys repeat.

    Examples:
        >>> pairs = pd.DataFrame({"record_key_l": ["a", "b"], "record_key_r": ["b", "c"],
        ...                       "match_probability": [0.99, 0.2]})
        >>> cluster_pairs(["a", "b", "c"], pairs, 0.9)["cluster_id"].tolist()
        ['a', 'a', 'c']
    """
    keys = sorted_keys(record_keys, unique=False)
    if not keys.is_unique:
        raise ValueError("record_keys must be unique")
    links = pairs.loc[pairs["match_probability"] >= threshold, ["record_key_l", "record_key_r"]]
    root = components_of(keys, links)
    clusters = pd.DataFrame({"record_key": keys.to_numpy(), "cluster_id": keys.to_numpy()[root]})
    logger.info(
        "%d records, %d links at >= %s: %d clusters",
        len(keys),
        len(links),
        threshold,
        len(np.unique(root)),
    )
    return clusters


def sorted_keys(record_keys: Iterable[str], unique: bool = True) -> pd.Index:
    """The record keys as text in code-point order (``unique``: each once).

    Sorted by Arrow: Python's sort of a million keys took seconds. UTF-8 byte order is
    code-point order, the order ``sorted`` gives.
    """
    values = record_keys if isinstance(record_keys, pd.Series) else pd.Series(list(record_keys))
    text = pa.array(values.astype(object).astype(str).to_numpy(dtype=object), pa.string())
    if unique:
        text = pc.unique(text)
    text = text.take(pc.sort_indices(text))
    return pd.Index(text.to_numpy(zero_copy_only=False), dtype=object)


def components_of(keys: pd.Index, links: pd.DataFrame) -> np.ndarray:
    """For each of the sorted, unique ``keys``, the position of the smallest key of its
    connected component under ``links`` (``record_key_l``, ``record_key_r``).

    Raises:
        ValueError: a link names a record that is not among ``keys``.
    """
    left = _positions(keys, links["record_key_l"])
    right = _positions(keys, links["record_key_r"])
    return _components(len(keys), left, right)


def _positions(keys: pd.Index, values: pd.Series) -> np.ndarray:
    """Position of each value among ``keys``; error for a value not among them."""
    at = keys.get_indexer(values.astype(str))
    if (at < 0).any():
        unknown = sorted(set(values[at < 0].astype(str)))[:5]
        raise ValueError(f"pairs name records that are not in record_keys: {', '.join(unknown)}")
    return at


def _components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """For every node, the smallest node of its connected component.

    Vectorised union-find: hook the larger root of each edge under the smaller, then
    compress paths by pointer jumping, until every edge joins nodes of one root.
    A parent is never larger than its child, so each root is its component's minimum.
    """
    parent = np.arange(n)
    while True:
        parent = _compress(parent)
        a, b = parent[left], parent[right]
        differ = a != b
        if not differ.any():
            return parent
        low, high = np.minimum(a[differ], b[differ]), np.maximum(a[differ], b[differ])
        np.minimum.at(parent, high, low)


def _compress(parent: np.ndarray) -> np.ndarray:
    while True:
        grand = parent[parent]
        if np.array_equal(grand, parent):
            return parent
        parent = grand


def spark_cluster_pairs(
    record_keys: Iterable[str], pairs: pd.DataFrame, threshold: float, spark: SparkRun
) -> pd.DataFrame:
    """:func:`cluster_pairs` solved on Spark: Splink's connected components (SparkAPI).

    The records and links travel to Spark as Parquet and the clusters come back the same
    way; the cluster id is then the smallest record key of each cluster, as on DuckDB, so
    both backends give the same ids for the same links.
    """
    from splink.clustering import cluster_pairwise_predictions_at_threshold

    keys = pd.Index(np.sort(pd.Series(list(record_keys), dtype=object).astype(str).to_numpy()))
    if not keys.is_unique:
        raise ValueError("record_keys must be unique")
    links = pairs.loc[pairs["match_probability"] >= threshold, ["record_key_l", "record_key_r"]]
    for side in ("record_key_l", "record_key_r"):
        _positions(keys, links[side])  # a link to an unknown record is an error, as on DuckDB
    nodes = pa.table({"record_key": pa.array(keys.to_numpy(), pa.string())})
    edges = pa.table(
        {
            "record_key_l": pa.array(links["record_key_l"].astype(str).to_numpy(), pa.string()),
            "record_key_r": pa.array(links["record_key_r"].astype(str).to_numpy(), pa.string()),
            "match_probability": pa.array([1.0] * len(links), pa.float64()),
        }
    )
    with matching_database("spark", spark=spark) as db:
        solved = cluster_pairwise_predictions_at_threshold(
            db.register(nodes, "cluster_nodes"),
            db.register(edges, "cluster_edges"),
            db.api,
            node_id_column_name="record_key",
            threshold_match_probability=None,
        )
        clusters = db.fetch(
            "select record_key, min(record_key) over (partition by cluster_id) as cluster_id"
            f" from {solved.physical_name}",
            "clusters",
        )
    clusters = clusters.sort_values("record_key", ignore_index=True)
    logger.info(
        "%d records, %d links at >= %s: %d clusters (Spark)",
        len(keys),
        len(links),
        threshold,
        clusters["cluster_id"].nunique(),
    )
    return clusters

"""How good a clustering is, measured against the known true customers.

Two views, both standard in entity resolution:

- **pairwise**: every pair of records put in one cluster is a claim "same customer".
  Precision is the share of those claims that are true; recall the share of all truly
  same-customer pairs that were claimed. Large clusters weigh quadratically, so one
  wrongly chained cluster of thousands (the failure to fear) ruins precision.
- **B-cubed**: per record, precision is the share of its cluster that truly belongs
  with it and recall the share of its true customer that ended up in its cluster;
  both averaged over records. Every record counts once, so it reads as "how right is
  the customer view of a typical record".

Only records present in both the clustering and the truth are scored. All counts come
from group sizes (pairs inside a group of n are n·(n-1)/2), never from pairs
themselves, so a million records score in about a second.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping
from dataclasses import asdict, dataclass
from typing import TypeAlias

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

#: record_key → group id: a Series indexed by record key, a mapping, or a two-column frame.
Assignment: TypeAlias = pd.Series | pd.DataFrame | Mapping[Hashable, Hashable]


@dataclass(frozen=True)
class ClusterScores:
    """Pairwise and B-cubed precision / recall / F1 of a clustering, with the counts.

    Attributes:
        records: records scored (present in both clustering and truth).
        true_positive_pairs: record pairs in one cluster that are truly one customer.
        predicted_pairs: record pairs the clustering puts together.
        true_pairs: record pairs that truly are one customer.
        pairwise_precision: true_positive_pairs / predicted_pairs (1.0 when nothing
            was put together: no claim, no false claim).
        pairwise_recall: true_positive_pairs / true_pairs (1.0 when there is nothing to find).
        pairwise_f1: harmonic mean of the two (0.0 when both are 0).
        bcubed_precision: mean over records of |cluster ∩ true customer| / |cluster|.
        bcubed_recall: mean over records of |cluster ∩ true customer| / |true customer|.
        bcubed_f1: harmonic mean of the two.
    """

    records: int
    true_positive_pairs: int
    predicted_pairs: int
    true_pairs: int
    pairwise_precision: float
    pairwise_recall: float
    pairwise_f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float

    def as_dict(self) -> dict[str, float | int]:
        """Plain dict, e.g. for run metadata or a JSON report."""
        return asdict(self)


def score_clusters(clusters: Assignment, truth: Assignment) -> ClusterScores:
    """Score a clustering against the truth over the records present in both.

    Args:
        clusters: record_key → cluster id, as a Series indexed by record key, a mapping,
            or a DataFrame with ``record_key`` and one more column (e.g. the output of
            ``matching.linkage.components.cluster_pairs``).
        truth: record_key → true customer id, in any of the same shapes.

    Returns:
        The scores and the pair counts behind them.

    Examples:
        >>> s = score_clusters({"a": 1, "b": 1, "c": 2}, {"a": "x", "b": "x", "c": "x"})
        >>> (s.true_positive_pairs, s.predicted_pairs, s.true_pairs)
        (1, 1, 3)
    """
    predicted = assignment_series(clusters, "clusters")
    actual = assignment_series(truth, "truth")
    both = pd.DataFrame({"cluster": predicted}).join(pd.DataFrame({"truth": actual}), how="inner")
    n = len(both)
    if n == 0:
        logger.warning("no record is in both the clustering and the truth; nothing scored")
        return ClusterScores(0, 0, 0, 0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)

    cluster_code = pd.factorize(both["cluster"])[0]
    truth_code = pd.factorize(both["truth"])[0]
    cluster_size = np.bincount(cluster_code)
    truth_size = np.bincount(truth_code)
    # sizes of the (cluster, true customer) intersections, one entry per non-empty cell
    cell = pd.DataFrame({"c": cluster_code, "t": truth_code}).value_counts()
    cell_size = cell.to_numpy(dtype=np.int64)
    cell_cluster = cluster_size[cell.index.get_level_values("c").to_numpy()]
    cell_truth = truth_size[cell.index.get_level_values("t").to_numpy()]

    tp = _pairs(cell_size)
    predicted_pairs = _pairs(cluster_size)
    true_pairs = _pairs(truth_size)
    precision = tp / predicted_pairs if predicted_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    b_precision = float(np.sum(cell_size.astype(np.float64) ** 2 / cell_cluster) / n)
    b_recall = float(np.sum(cell_size.astype(np.float64) ** 2 / cell_truth) / n)
    scores = ClusterScores(
        records=n,
        true_positive_pairs=tp,
        predicted_pairs=predicted_pairs,
        true_pairs=true_pairs,
        pairwise_precision=precision,
        pairwise_recall=recall,
        pairwise_f1=_f1(precision, recall),
        bcubed_precision=b_precision,
        bcubed_recall=b_recall,
        bcubed_f1=_f1(b_precision, b_recall),
    )
    logger.info(
        "%d records: pairwise P=%.4f R=%.4f F1=%.4f; B-cubed P=%.4f R=%.4f F1=%.4f",
        n,
        scores.pairwise_precision,
        scores.pairwise_recall,
        scores.pairwise_f1,
        scores.bcubed_precision,
        scores.bcubed_recall,
        scores.bcubed_f1,
    )
    return scores


def assignment_series(assignment: Assignment, what: str) -> pd.Series:
    """record_key-indexed Series of group ids from any accepted shape."""
    if isinstance(assignment, pd.DataFrame):
        others = [c for c in assignment.columns if c != "record_key"]
        if "record_key" not in assignment.columns or len(others) != 1:
            raise ValueError(
                f"{what}: a DataFrame needs a record_key column and exactly one id column, "
                f"got {list(assignment.columns)}"
            )
        series = assignment.set_index("record_key")[others[0]]
    elif isinstance(assignment, pd.Series):
        series = assignment
    else:
        series = pd.Series(dict(assignment), dtype=object)
    if series.index.has_duplicates:
        dup = series.index[series.index.duplicated()].unique()[:5]
        raise ValueError(f"{what}: record keys repeat: {', '.join(map(str, dup))}")
    if series.isna().any():
        raise ValueError(f"{what}: {int(series.isna().sum())} record(s) have no id")
    return series


def _pairs(sizes: np.ndarray) -> int:
    sizes = sizes.astype(np.int64)
    return int(np.sum(sizes * (sizes - 1) // 2))


def _f1(precision: float, recall: float) -> float:
    total = precision + recall
    return 2 * precision * recall / total if total else 0.0

"""Recall per planted case: are the records that carry a hard case found with their customer?

A planted-cases file (the demo writes ``truth/planted_cases.csv``) says which record carries
which hard case: a name in pinyin, the old name of a renamed company, a phone with an
extension. Overall recall hides them (a few hundred pairs among thousands), so each case
is scored on its own pairs: every pair of records of one true customer of which at least
one carries the case. Recall is the share of those pairs the clustering puts together.
Precision per case is not defined this way (a wrong merge is not "of" a case); false
merges are scored per relationship type (``matching.master.relationship_scores``).

Counts come from group sizes, as in ``matching.linkage.evaluation``: in a group of n
records of which m carry the case, C(n, 2) − C(n − m, 2) pairs involve the case.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from matching.linkage.evaluation import Assignment, assignment_series


@dataclass(frozen=True)
class CaseRecall:
    """Recall of one planted case.

    Attributes:
        case: the case's name (``sources.demo.cases``).
        records: scored records that carry it.
        true_pairs: pairs of records of one true customer, at least one carrying the case.
        found_pairs: those of them in one cluster.
        recall: found_pairs / true_pairs (1.0 when there is no pair to find).
    """

    case: str
    records: int
    true_pairs: int
    found_pairs: int
    recall: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def recall_per_case(
    clusters: Assignment, truth: Assignment, planted: pd.DataFrame
) -> dict[str, CaseRecall]:
    """Pairwise recall of every case in ``planted`` over the records in clusters and truth.

    Args:
        clusters: record_key → cluster id (any shape ``score_clusters`` accepts).
        truth: record_key → true customer id.
        planted: ``record_key``, ``case``: one row per record and case it carries.

    Returns:
        case → its recall, by case name.

    Examples:
        >>> planted = pd.DataFrame({"record_key": ["b"], "case": ["renamed"]})
        >>> r = recall_per_case({"a": 1, "b": 2, "c": 1}, dict.fromkeys("abc", "x"), planted)
        >>> (r["renamed"].true_pairs, r["renamed"].found_pairs)
        (2, 0)
    """
    missing = {"record_key", "case"} - set(planted.columns)
    if missing:
        raise ValueError(f"planted cases lack column(s): {', '.join(sorted(missing))}")
    both = pd.DataFrame({"cluster": assignment_series(clusters, "clusters")}).join(
        pd.DataFrame({"truth": assignment_series(truth, "truth")}), how="inner"
    )
    out: dict[str, CaseRecall] = {}
    for case, rows in planted.groupby("case", sort=True):
        marked = both.index.isin(rows["record_key"].astype(str).unique())
        frame = both.assign(marked=marked)
        # true customers and (true customer, cluster) cells: size n, marked m
        per_truth = frame.groupby("truth")["marked"].agg(["size", "sum"])
        per_cell = frame.groupby(["truth", "cluster"])["marked"].agg(["size", "sum"])
        true_pairs = _pairs_with(per_truth["size"].to_numpy(), per_truth["sum"].to_numpy())
        found = _pairs_with(per_cell["size"].to_numpy(), per_cell["sum"].to_numpy())
        out[str(case)] = CaseRecall(
            case=str(case),
            records=int(marked.sum()),
            true_pairs=true_pairs,
            found_pairs=found,
            recall=found / true_pairs if true_pairs else 1.0,
        )
    return out


def _pairs_with(size: np.ndarray, marked: np.ndarray) -> int:
    """Pairs inside groups of ``size`` records that involve at least one of ``marked``."""
    n = size.astype(np.int64)
    rest = n - marked.astype(np.int64)
    return int(np.sum(n * (n - 1) // 2 - rest * (rest - 1) // 2))

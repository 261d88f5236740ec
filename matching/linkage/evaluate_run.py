"""How good the run's clusters are, against a ground-truth file (``custmaster evaluate``).

The truth file maps record keys to true customer IDs (the demo writes ``truth/records.csv``;
a deployment can label a sample of its own records the same way). Only records present in
both the clusters and the truth are scored. A planted-cases file (``record_key``, ``case``;
the demo writes ``truth/planted_cases.csv``) adds the recall of every hard case
(``matching.linkage.case_recall``). Relationships are scored by
``matching.master.evaluate_master``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from matching.linkage.case_recall import CaseRecall, recall_per_case
from matching.linkage.evaluation import ClusterScores, score_clusters


@dataclass(frozen=True)
class EvaluationReport:
    """Scores per entity type and overall, and the recall of every planted case."""

    scores: dict[str, ClusterScores]
    cases: dict[str, CaseRecall] = field(default_factory=dict)

    def render(self) -> str:
        header = f"{'':<10} {'records':>9} {'pairs':>9} {'precision':>10} {'recall':>8} {'F1':>7} {'B3 prec':>8} {'B3 rec':>8} {'B3 F1':>7}"
        lines = ["pairwise and B-cubed scores of the clusters against the truth", header]
        for name, s in self.scores.items():
            lines.append(
                f"{name:<10} {s.records:>9,} {s.true_pairs:>9,} {s.pairwise_precision:>10.4f} {s.pairwise_recall:>8.4f} "
                f"{s.pairwise_f1:>7.4f} {s.bcubed_precision:>8.4f} {s.bcubed_recall:>8.4f} {s.bcubed_f1:>7.4f}"
            )
        if self.cases:
            lines += [
                "",
                "recall per planted case (pairs of one customer's records, one carrying the case)",
            ]
            lines.append(f"{'case':<34} {'records':>8} {'pairs':>7} {'found':>7} {'recall':>7}")
            for c in self.cases.values():
                lines.append(
                    f"{c.case:<34} {c.records:>8,} {c.true_pairs:>7,} {c.found_pairs:>7,} {c.recall:>7.4f}"
                )
        return "\n".join(lines)


def read_truth(path: Path) -> pd.DataFrame:
    """``record_key`` → ``customer_id`` from a CSV; error naming the file when columns are missing."""
    return _read_columns(path, "truth file", {"record_key", "customer_id"})


def read_planted_cases(path: Path) -> pd.DataFrame:
    """``record_key``, ``case`` from a CSV; error naming the file when columns are missing."""
    return _read_columns(path, "planted-cases file", {"record_key", "case"})


def _read_columns(path: Path, what: str, columns: set[str]) -> pd.DataFrame:
    """A CSV of text cells that must have ``columns``; errors name the file and what is missing."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {what} not found")
    table = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    missing = columns - set(table.columns)
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    return table


def evaluate_warehouse(
    warehouse: Path, truth_path: Path, cases_path: Path | None = None
) -> EvaluationReport:
    """Score ``matching.clusters`` of the warehouse against the truth file (and, with
    ``cases_path``, the recall of every planted case)."""
    truth = read_truth(truth_path)
    planted = read_planted_cases(cases_path) if cases_path is not None else None
    if not Path(warehouse).exists():
        raise FileNotFoundError(f"{warehouse}: no warehouse yet; run `custmaster run` first")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        clusters = con.sql("SELECT record_key, entity_type, cluster_id FROM matching.clusters").df()
    except duckdb.CatalogException as exc:
        raise ValueError(
            f"{warehouse}: no matching.clusters table; run `custmaster run` first"
        ) from exc
    finally:
        con.close()
    truth_ids = truth[["record_key", "customer_id"]]
    scores = {
        entity_type: score_clusters(part[["record_key", "cluster_id"]], truth_ids)
        for entity_type, part in clusters.groupby("entity_type", sort=True)
    }
    scores["all"] = score_clusters(clusters[["record_key", "cluster_id"]], truth_ids)
    cases = {}
    if planted is not None:
        cases = recall_per_case(clusters[["record_key", "cluster_id"]], truth_ids, planted)
    return EvaluationReport(scores, cases)

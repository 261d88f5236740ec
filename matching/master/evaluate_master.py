"""How right the master's relationships are, against the truth (``custmaster evaluate``).

Reads the current xref, ``master.relationships`` and the truth files (records → true
customers; true relationships: the demo writes ``truth/relationships.csv``) and scores
them with ``matching.master.relationship_scores``: precision and recall per relationship
type, and the false-merge rate of the types whose customers must never be one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from matching.master.relationship_scores import (
    FalseMerges,
    RelationshipScores,
    false_merges,
    score_relationships,
)
from warehouse.views import CURRENT_XREF


@dataclass(frozen=True)
class RelationshipReport:
    """Scores per relationship type, and merges of customers that must stay apart."""

    scores: dict[str, RelationshipScores]
    merges: dict[str, FalseMerges]

    def render(self) -> str:
        lines = [
            "relationships against the truth (recall: between the customers the true ends live in)",
            f"{'type':<18} {'found':>7} {'right':>7} {'precision':>10} {'true':>7} {'found':>7} {'recall':>7}",
        ]
        for s in self.scores.values():
            lines.append(
                f"{s.relationship_type:<18} {s.found:>7,} {s.right:>7,} {s.precision:>10.4f} "
                f"{s.true:>7,} {s.true_found:>7,} {s.recall:>7.4f}"
            )
        lines += ["", "customers that must never be merged, merged into one"]
        lines.append(f"{'type':<18} {'pairs':>7} {'merged':>7} {'rate':>7}")
        for m in self.merges.values():
            lines.append(f"{m.relationship_type:<18} {m.pairs:>7,} {m.merged:>7,} {m.rate:>7.4f}")
        return "\n".join(lines)


def read_truth_relationships(path: Path) -> pd.DataFrame:
    """True relationships from a CSV; error naming the file when columns are missing."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: truth relationships file not found")
    frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    missing = {"from_customer_id", "to_customer_id", "relationship_type"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    return frame


def evaluate_relationships(
    warehouse: Path, truth_records: pd.DataFrame, relationships_path: Path
) -> RelationshipReport:
    """Score the warehouse's relationships and merges against the truth."""
    truth_relationships = read_truth_relationships(relationships_path)
    if not Path(warehouse).exists():
        raise FileNotFoundError(f"{warehouse}: no warehouse yet; run `custmaster run` first")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        customers = con.sql(
            f"""SELECT x.record_key, x.customer_id, s.derived_from_record_key IS NULL AS source_row
                FROM {CURRENT_XREF} x JOIN staging.customers s USING (record_key)"""
        ).df()
        found = con.sql(
            "SELECT from_customer_id, to_customer_id, relationship_type FROM master.relationships"
        ).df()
    except duckdb.CatalogException as exc:
        raise ValueError(f"{warehouse}: no master tables; run `custmaster run` first") from exc
    finally:
        con.close()
    truth_ids = truth_records[["record_key", "customer_id"]]
    return RelationshipReport(
        scores=score_relationships(found, customers, truth_ids, truth_relationships),
        merges=false_merges(customers, truth_ids, truth_relationships),
    )

"""How much work blocking creates: candidate comparisons per record, rule by rule.

Blocking decides which pairs are scored at all. Too loose, and a million records create
billions of comparisons; too tight, and true duplicates are never compared. This report
counts, for each prediction blocking rule, the comparisons it adds (pairs an earlier rule
already made are not counted twice) and the total per record.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from splink.blocking_analysis import count_comparisons_from_blocking_rules

from matching.linkage.backend import splink_database
from matching.linkage.blocking import prediction_blocking_rules
from matching.linkage.features import PreparedRecords, as_prepared
from matching.linkage.junk import JunkRules


@dataclass(frozen=True)
class BlockingReport:
    """Comparisons the prediction blocking rules generate for one entity type."""

    entity_type: str
    records: int
    comparisons: int
    per_rule: list[tuple[str, int]]  # (rule, comparisons it adds)

    @property
    def comparisons_per_record(self) -> float:
        return self.comparisons / self.records if self.records else 0.0


def blocking_report(
    records: pd.DataFrame | PreparedRecords, entity_type: str, junk: JunkRules | None = None
) -> BlockingReport:
    """Count the candidate comparisons among ``records`` of ``entity_type`` (exact, not sampled)."""
    prepared = as_prepared(records, entity_type, junk)
    with splink_database() as db_api:
        sdf = db_api.register(prepared.table, dataset_display_name=f"{entity_type}_blocking")
        counted = count_comparisons_from_blocking_rules(
            sdf,
            blocking_rules=prediction_blocking_rules(entity_type),
            link_type="dedupe_only",
            unique_id_column_name="record_key",
            record_sample_proportion=1.0,
        )
    per_rule = [(r["blocking_rule"], int(r["marginal_comparison_count"])) for r in counted]
    total = int(counted[-1]["cumulative_comparison_count"]) if counted else 0
    return BlockingReport(entity_type, prepared.table.num_rows, total, per_rule)

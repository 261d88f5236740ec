"""The untrained Splink settings of one entity type: its comparisons and blocking rules.

Comparisons (``matching.linkage.comparisons``) say how a pair is judged; blocking
(``matching.linkage.blocking``) which pairs are judged at all. Training starts from these
settings and the saved model carries them.
"""

from __future__ import annotations

from splink import SettingsCreator
from splink.blocking_rule_library import CustomRule

from matching.linkage.blocking import check_entity_type, prediction_blocking_rules
from matching.linkage.comparisons import ComparisonThresholds, comparisons_for

__all__ = ["ComparisonThresholds", "build_settings"]


def build_settings(
    entity_type: str, thresholds: ComparisonThresholds | None = None, prior: float = 1e-4
) -> SettingsCreator:
    """Untrained Splink settings for deduplicating one entity type.

    Args:
        entity_type: 'company' or 'person'.
        thresholds: similarity cut-offs; defaults suit Chinese customer exports.
        prior: starting probability that two random records are the same customer
            (training replaces it).

    Returns:
        A ``SettingsCreator`` over the columns of ``matching.linkage.features.PREPARED_COLUMNS``
        with ``record_key`` as the unique id.
    """
    check_entity_type(entity_type)
    t = thresholds or ComparisonThresholds()
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_key",
        comparisons=list(comparisons_for(entity_type, t)),
        blocking_rules_to_generate_predictions=[
            CustomRule(rule) for rule in prediction_blocking_rules(entity_type)
        ],
        probability_two_random_records_match=prior,
        em_convergence=t.em_convergence,
        max_iterations=t.max_iterations,
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=False,
        linker_uid=f"customer_master_{entity_type}",
    )

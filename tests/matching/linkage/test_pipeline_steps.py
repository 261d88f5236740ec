"""Saved models stay usable only while the features they read still exist."""

import copy

from matching.linkage.features import prepare_records
from matching.linkage.steps import missing_features


def test_a_current_model_reads_only_prepared_features(staged, company_model):
    assert missing_features(company_model, prepare_records(staged, "company")) == set()


def test_a_model_from_older_features_is_detected(staged, company_model):
    old = copy.deepcopy(company_model)
    old["blocking_rules_to_generate_predictions"].append(
        {"blocking_rule": "l.fax_block = r.fax_block", "sql_dialect": "duckdb"}
    )
    old["comparisons"][0]["comparison_levels"][1]["sql_condition"] = (
        '"legacy_name_l" = "legacy_name_r"'
    )
    assert missing_features(old, prepare_records(staged, "company")) == {
        "fax_block",
        "legacy_name",
    }

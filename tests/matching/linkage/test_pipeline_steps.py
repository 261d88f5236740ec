"""Saved models stay usable only while the features they read still exist."""

import copy

from matching.linkage.steps import missing_features
from sources.config import MatchingConfig


def test_a_current_model_reads_only_prepared_features(staged, company_model):
    companies = staged[staged["entity_type"] == "company"]
    assert missing_features(company_model, companies, "company", MatchingConfig()) == set()


def test_a_model_from_older_features_is_detected(staged, company_model):
    old = copy.deepcopy(company_model)
    old["blocking_rules_to_generate_predictions"].append(
        {"blocking_rule": "l.fax_block = r.fax_block", "sql_dialect": "duckdb"}
    )
    old["comparisons"][0]["comparison_levels"][1]["sql_condition"] = (
        '"legacy_name_l" = "legacy_name_r"'
    )
    companies = staged[staged["entity_type"] == "company"]
    assert missing_features(old, companies, "company", MatchingConfig()) == {
        "fax_block",
        "legacy_name",
    }

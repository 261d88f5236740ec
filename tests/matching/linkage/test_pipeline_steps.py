"""Saved models stay usable only while the features they read still exist."""

import copy

from matching.linkage.features import prepare_records
from matching.linkage.prepared_store import prepare_by_type
from matching.linkage.steps import ensure_models, junk_rules, missing_features
from matching.linkage.training import TrainingParams
from sources.config import JunkConfig, MatchingConfig


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


def test_models_trained_together_are_those_trained_alone(
    staged, params, company_model, person_model, tmp_path
):
    """ensure_models trains both entity types at the same time: each model is the one
    training that type alone gives. The models trained alone are the session's
    ``company_model`` and ``person_model``, each trained on its own with the parameters
    a sync with these junk limits trains with (asserted first), so they are not trained
    here a second time."""
    settings = MatchingConfig(junk=JunkConfig(max_records_per_value=3))
    assert TrainingParams(junk=junk_rules(settings)) == params
    prepared = prepare_by_type(staged, junk_rules(settings))
    choices = ensure_models(prepared, tmp_path, settings)
    assert [(c.version.entity_type, c.trained) for c in choices] == [
        ("company", True),
        ("person", True),
    ]
    alone = {"company": company_model, "person": person_model}
    for choice in choices:
        assert choice.version.load() == alone[choice.version.entity_type]

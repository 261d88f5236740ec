"""Our DuckDB SQL in Spark's dialect: what changes, what stays, and the model file's round trip."""

from __future__ import annotations

import pytest

from matching.linkage.model_settings import build_settings
from matching.linkage.spark_sql import portable_model, spark_condition, spark_model


def test_list_functions_become_spark_array_functions():
    sql = spark_condition(
        "len(list_intersect(name_grams_l, name_grams_r)) >= 0.6 * "
        "(len(name_grams_l) + len(name_grams_r) - len(list_intersect(name_grams_l, name_grams_r)))"
    )
    assert sql == (
        "SIZE(ARRAY_INTERSECT(name_grams_l, name_grams_r)) >= 0.6 * "
        "(SIZE(name_grams_l) + SIZE(name_grams_r) - SIZE(ARRAY_INTERSECT(name_grams_l, name_grams_r)))"
    )


def test_text_length_stays_length_and_integer_division_becomes_div():
    sql = spark_condition("left(uscc_block_l, least(length(uscc_block_l), 4) // 2) = 'AB'")
    assert sql == "LEFT(uscc_block_l, LEAST(LENGTH(uscc_block_l), 4) DIV 2) = 'AB'"


def test_similarity_functions_are_those_of_splinks_jar():
    assert spark_condition("jaro_winkler_similarity(a_l, a_r) >= 0.9") == (
        "JARO_WINKLER(a_l, a_r) >= 0.9"
    )
    assert spark_condition("damerau_levenshtein(a_l, a_r) <= 1") == (
        "DAMERAU_LEVENSHTEIN(a_l, a_r) <= 1"
    )


def test_a_regular_expression_test_becomes_rlike_with_its_characters_kept():
    # the person name levels for names written in Latin letters test for a Chinese character
    sql = spark_condition("not regexp_matches(name_key_l, '[\u3400-\u9fff]')")
    assert sql == "NOT name_key_l RLIKE '[\u3400-\u9fff]'"


def test_else_level_passes_through():
    assert spark_condition("ELSE") == "ELSE"


@pytest.mark.parametrize("entity_type", ["company", "person"])
def test_no_duckdb_only_function_reaches_spark(entity_type):
    spark = spark_model(build_settings(entity_type).create_settings_dict("duckdb"))
    text = " ".join(
        level["sql_condition"] for c in spark["comparisons"] for level in c["comparison_levels"]
    ).lower()
    for duckdb_only in (
        "list_intersect",
        "jaro_winkler_similarity",
        "len(",
        " // ",
        "regexp_matches",
    ):
        assert duckdb_only not in text
    assert spark["sql_dialect"] == "spark"
    assert all(r["sql_dialect"] == "spark" for r in spark["blocking_rules_to_generate_predictions"])


def test_a_model_trained_on_spark_keeps_its_parameters_and_gets_duckdb_sql_back():
    untrained = build_settings("company").create_settings_dict("duckdb")
    trained = spark_model(untrained)
    trained["probability_two_random_records_match"] = 0.0123
    trained["comparisons"][0]["comparison_levels"][1]["m_probability"] = 0.87
    portable = portable_model(trained, untrained)
    assert portable["sql_dialect"] == "duckdb"
    assert portable["probability_two_random_records_match"] == 0.0123
    assert portable["comparisons"][0]["comparison_levels"][1]["m_probability"] == 0.87
    assert [
        level["sql_condition"] for c in portable["comparisons"] for level in c["comparison_levels"]
    ] == [
        level["sql_condition"] for c in untrained["comparisons"] for level in c["comparison_levels"]
    ]
    assert (
        portable["blocking_rules_to_generate_predictions"]
        == untrained["blocking_rules_to_generate_predictions"]
    )


def test_models_whose_levels_do_not_line_up_are_refused():
    untrained = build_settings("company").create_settings_dict("duckdb")
    trained = spark_model(untrained)
    trained["comparisons"][0]["comparison_levels"].pop()
    with pytest.raises(ValueError, match="do not match"):
        portable_model(trained, untrained)

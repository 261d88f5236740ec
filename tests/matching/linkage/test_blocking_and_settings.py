"""The Splink settings per entity type: wired to the prepared columns, pinned to their type."""

import re

import pytest

from matching.linkage.backend import check_backend
from matching.linkage.blocking import (
    deterministic_rules,
    model_entity_type,
    prediction_blocking_rules,
    training_blocking_rules,
)
from matching.linkage.features import BLOCK_KEY_COLUMNS, IDENTIFIER_COLUMNS, PREPARED_COLUMNS
from matching.linkage.model_settings import build_settings


def settings_dict(entity_type: str) -> dict:
    return build_settings(entity_type).create_settings_dict("duckdb")


def columns_in(sql: str) -> set[str]:
    return set(re.findall(r"\b([a-z_]+)_[lr]\b", sql)) | set(re.findall(r"\b[lr]\.([a-z_]+)", sql))


@pytest.mark.parametrize("entity_type", ["company", "person"])
def test_every_rule_and_level_reads_prepared_columns(entity_type):
    settings = settings_dict(entity_type)
    rules = [r["blocking_rule"] for r in settings["blocking_rules_to_generate_predictions"]]
    rules += training_blocking_rules(entity_type) + deterministic_rules(entity_type)
    levels = [
        level["sql_condition"]
        for comparison in settings["comparisons"]
        for level in comparison["comparison_levels"]
    ]
    used = set().union(*(columns_in(sql) for sql in rules + levels))
    assert used, "no columns found: the pattern above is broken"
    assert used <= set(PREPARED_COLUMNS)


@pytest.mark.parametrize("entity_type", ["company", "person"])
def test_blocking_only_on_junk_free_keys_and_pinned_to_the_entity_type(entity_type):
    allowed = set(IDENTIFIER_COLUMNS.values()) | set(BLOCK_KEY_COLUMNS) | {"entity_type"}
    for rule in prediction_blocking_rules(entity_type):
        assert rule.startswith(
            f"l.entity_type = '{entity_type}' and r.entity_type = '{entity_type}'"
        )
        assert columns_in(rule) <= allowed, rule
    assert model_entity_type(settings_dict(entity_type)) == entity_type


@pytest.mark.parametrize("entity_type", ["company", "person"])
def test_em_sessions_do_not_estimate_what_their_rule_forces(entity_type):
    # Splink leaves out of an EM session the comparisons whose columns the rule names;
    # a rule on a blocking-only key must therefore name the compared columns behind it
    made_of = {"name_block": {"name_key"}, "name_birth_block": {"name_key", "birth_date"}}
    for rule in training_blocking_rules(entity_type):
        used = columns_in(rule)
        for key, sources in made_of.items():
            if key in used:
                assert sources <= used, rule


def test_comparisons_per_entity_type():
    company = {c["output_column_name"] for c in settings_dict("company")["comparisons"]}
    person = {c["output_column_name"] for c in settings_dict("person")["comparisons"]}
    assert company == {
        "name",
        "name_region",
        "legal_form",
        "uscc",
        "phone",
        "mobile",
        "email",
        "address",
    }
    assert person == {
        "name",
        "id_number",
        "birth_date",
        "gender",
        "phone",
        "mobile",
        "email",
        "address",
        "postcode",
    }


def test_term_frequencies_on_person_names_and_districts():
    def tf_columns(entity_type):
        return {
            (c["output_column_name"], level["tf_adjustment_column"])
            for c in settings_dict(entity_type)["comparisons"]
            for level in c["comparison_levels"]
            if level.get("tf_adjustment_column")
        }

    assert tf_columns("person") == {
        ("name", "name_key"),
        ("address", "district_key"),
        ("postcode", "postcode"),
    }
    assert tf_columns("company") == {("address", "district_key")}


def test_identifier_typos_and_landline_tails_have_their_own_levels():
    levels = {
        c["output_column_name"]: [lv["sql_condition"] for lv in c["comparison_levels"]]
        for c in settings_dict("company")["comparisons"]
    }
    assert any("damerau_levenshtein" in sql and "<= 1" in sql for sql in levels["uscc"])
    assert any("phone_tail_l" in sql for sql in levels["phone"])


def test_model_entity_type_needs_pinned_rules():
    with pytest.raises(ValueError, match="entity type"):
        model_entity_type({"blocking_rules_to_generate_predictions": ["l.phone = r.phone"]})
    with pytest.raises(ValueError, match="entity_type must be one of"):
        build_settings("household")


def test_backends_are_duckdb_and_spark_with_a_session():
    assert check_backend("duckdb") == "duckdb"
    with pytest.raises(ValueError, match="'polars' is not supported; supported: duckdb, spark"):
        check_backend("polars")
    with pytest.raises(ValueError, match="'spark' needs a Spark session"):
        check_backend("spark")


def test_persons_with_typos_in_both_name_and_id_still_meet():
    # same birth date (capped birth_block) or same name (capped name_block) is enough
    keys = {
        tuple(sorted(columns_in(rule) - {"entity_type"}))
        for rule in prediction_blocking_rules("person")
    }
    assert ("birth_block",) in keys
    assert ("name_block",) in keys
    # no birth date, and a slip in both name and ID: the postcode with a word of the name
    assert {
        ("latin_postcode_block",),
        ("first_word_postcode_block",),
        ("last_word_postcode_block",),
    } <= keys


def test_identifier_keying_error_level_is_exactly_damerau_levenshtein_one():
    import duckdb

    from matching.linkage.comparisons import _within_edits

    pairs = [
        ("3004030", "3004030"), ("3004030", "3004031"), ("3004030", "3000430"),
        ("3004030", "300403"), ("3004030", "0004030"), ("3004030", "30040300"),
        ("3004030", "4003030"), ("3004030", "3004300"), ("1985-03-12", "1985-03-21"),
        ("1985-03-12", "1958-03-12"), ("1985-03-12", "1975-03-21"), ("ab", "ba"), ("a", "b"),
        ("a", ""), ("", ""), ("ab", "xy"), ("abcd", "abdc"), ("abcd", "bacd"), ("abcd", "bcda"),
    ]  # fmt: skip
    con = duckdb.connect()
    for left, right in pairs:
        fast, plain = con.execute(
            f"select {_within_edits('c', 1)}, damerau_levenshtein(c_l, c_r) <= 1"
            " from (select ?::varchar as c_l, ?::varchar as c_r)",
            [left, right],
        ).fetchone()
        assert fast == plain, (left, right)


def test_bigram_share_is_the_jaccard_of_the_sets():
    import duckdb

    from matching.linkage.comparisons import _grams_at_least

    con = duckdb.connect()
    cases = [(["洪来", "来文"], ["洪来", "来建"]), (["ab"], ["ab"]), (["ab", "bc", "cd"], ["xy"])]
    for left, right in cases:
        share = len(set(left) & set(right)) / len(set(left) | set(right))
        for cut in (0.3, 1 / 3, 0.5, 0.6, 1.0):
            got = con.execute(
                f"select {_grams_at_least('g', cut)} from (select ?::varchar[] as g_l, ?::varchar[] as g_r)",
                [left, right],
            ).fetchone()[0]
            assert got == (share >= cut), (left, right, cut)


def test_training_form_counts_each_intersection_once_with_the_same_answers():
    import duckdb

    from matching.linkage.comparisons import _grams_at_least, one_intersection_per_test

    con = duckdb.connect()
    cases = [
        (["洪来", "来文"], ["洪来", "来建"]),
        (["ab"], ["ab"]),
        (["ab", "bc", "cd"], ["xy"]),
        (["ab", "bc", "cd", "de", "ef"], ["ab", "bc", "cd", "xy", "yz"]),  # 3 of 7: the 0.6 edge
        ([], ["ab"]),
        (None, ["ab"]),
    ]
    for left, right in cases:
        for cut in (0.34, 1 / 3, 0.5, 0.6, 1.0):
            plain = _grams_at_least("g", cut)
            once = one_intersection_per_test(plain)
            assert once.count("list_intersect") == 1 and "lambda" in once
            got = con.execute(
                f"select {plain}, {once} from (select ?::varchar[] as g_l, ?::varchar[] as g_r)",
                [left, right],
            ).fetchall()[0]
            assert got[0] == got[1], (left, right, cut)


@pytest.mark.parametrize("entity_type", ["company", "person"])
def test_every_bigram_share_test_of_the_models_has_a_training_form(entity_type):
    from matching.linkage.comparisons import one_intersection_per_test

    conditions = [
        level["sql_condition"]
        for comparison in settings_dict(entity_type)["comparisons"]
        for level in comparison["comparison_levels"]
    ]
    rewritten = [one_intersection_per_test(c) for c in conditions]
    assert any(a != b for a, b in zip(conditions, rewritten, strict=True))
    for condition in rewritten:  # no test left that would count its intersection twice
        assert condition.count("list_intersect") == condition.count("lambda k")


def test_training_form_reads_per_record_values_with_the_same_answers():
    # training reads each value a person's name levels compute from one record (written in
    # Latin letters? the name's words, swapped) from a column computed once per record:
    # every pair must land in the same level as under the plain SQL
    import duckdb
    import pyarrow as pa

    from matching.linkage.comparisons import RECORD_VALUES, record_values_read, training_form
    from matching.linkage.training import with_record_values

    settings = settings_dict("person")
    values = record_values_read(settings)
    assert values == list(RECORD_VALUES)
    assert record_values_read(settings_dict("company")) == []
    names = [
        ("张伟", "zhang wei"),
        ("章伟", "zhang wei"),
        ("Zhang Wei", "zhang wei"),
        ("WANG Xiaoming", "wang xiaoming"),
        ("Xiaoming Wang", "xiaoming wang"),
        ("Madison", "madison"),
        ("Madison Dixon", "madison dixon"),
        ("jack stubbhw", "jack stubbhw"),
        ("jack stubbs", "jack stubbs"),
        ("stubbs jaxck", "stubbs jaxck"),
        ("Anne Marie Dixon", "anne marie dixon"),
        ("王?明", "wang ming"),
        ("王䶮明", "wang yan ming"),
        (None, None),
        ("李娜", None),
    ]
    records = pa.table(
        {
            "name_key": [n for n, _ in names],
            "name_latin": [latin for _, latin in names],
            "name_pinyin": [latin.replace(" ", "") if latin else None for _, latin in names],
            "name_shape": [n for n, _ in names],
        }
    )
    table = with_record_values(records, values)
    assert table.num_rows == records.num_rows
    assert table.column_names == records.column_names + [v.column for v in values]
    con = duckdb.connect()
    con.register("records", table)
    sides = ", ".join(f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in table.column_names)
    plain = settings["comparisons"][0]["comparison_levels"]
    fast = training_form(settings)["comparisons"][0]["comparison_levels"]
    rewritten = 0
    for level, form in zip(plain, fast, strict=True):
        if level["sql_condition"] == "ELSE":
            continue
        rewritten += level["sql_condition"] != form["sql_condition"]
        assert "regexp_matches" not in form["sql_condition"]
        assert "split_part" not in form["sql_condition"]
        got = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE ({level['sql_condition']}) IS NOT DISTINCT"
            f" FROM ({form['sql_condition']})), count(*) FILTER (WHERE {level['sql_condition']})"
            f" FROM (SELECT {sides} FROM records l, records r)"
        ).fetchall()[0]
        assert got[0] == got[1] == len(names) ** 2, (level["label_for_charts"], got)
        assert got[2] > 0 or level["sql_condition"].startswith('"name_key_l" IS NULL'), level
    assert rewritten == 3

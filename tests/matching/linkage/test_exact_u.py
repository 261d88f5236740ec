"""u of the leading "same value" levels counted over every pair, the rest sampled."""

from itertools import combinations

import pyarrow as pa
import pytest

from matching.linkage.exact_u import equality_levels, exact_u, sampling_form, with_u
from matching.linkage.features import as_prepared


def level(sql: str, label: str = "", **more) -> dict:
    return {"sql_condition": sql, "label_for_charts": label, **more}


NULL = level('"key_l" IS NULL OR "key_r" IS NULL', "null", is_null_level=True)
SAME_KEY = level('"key_l" = "key_r"', "same key")
SAME_SOUND = level('"sound_l" = "sound_r"', "same sound")
NEAR = level("jaro_winkler_similarity(key_l, key_r) >= 0.9", "near")
ELSE = level("ELSE", "else")


def settings(*comparisons: tuple[str, list[dict]]) -> dict:
    return {
        "comparisons": [
            {"output_column_name": name, "comparison_levels": [dict(lv) for lv in levels]}
            for name, levels in comparisons
        ]
    }


def brute_force(rows: list[dict], columns: list[str]) -> list[float]:
    """Share of pairs (key set on both) whose first agreeing column is each of ``columns``."""
    present = [r for r in rows if r["key"] is not None]
    pairs = list(combinations(present, 2))
    reached = [0] * len(columns)
    for left, right in pairs:
        for i, column in enumerate(columns):
            if left[column] is not None and left[column] == right[column]:
                reached[i] += 1
                break
    return [count / len(pairs) for count in reached]


ROWS = [
    {"key": "张伟", "sound": "zhangwei"},
    {"key": "张伟", "sound": "zhangwei"},
    {"key": "章伟", "sound": "zhangwei"},
    {"key": "章伟", "sound": None},
    {"key": "李娜", "sound": "lina"},
    {"key": "李那", "sound": "lina"},
    {"key": None, "sound": "lina"},
    {"key": "王芳", "sound": "wangfang"},
]


def test_leading_equality_levels_get_the_exact_share_of_all_pairs():
    model = settings(("name", [NULL, SAME_KEY, SAME_SOUND, NEAR, ELSE]))
    (found,) = equality_levels(model)
    assert (found.null_column, found.columns) == ("key", ("key", "sound"))
    u = exact_u(pa.Table.from_pylist(ROWS), [found])["name"]
    assert u == pytest.approx(brute_force(ROWS, ["key", "sound"]))
    # 21 pairs with a key: 张伟 ×2, 章伟 ×2 agree on the key; 张伟/章伟 (4 pairs, one
    # without a sound) and 李娜/李那 on the sound only
    assert u == pytest.approx([2 / 21, 3 / 21])


def test_only_equalities_right_after_the_null_level_are_counted():
    fuzzy_first = settings(("name", [NULL, NEAR, SAME_KEY, ELSE]))
    fixed = settings(("name", [NULL, {**SAME_KEY, "fix_u_probability": True}, ELSE]))
    no_null = settings(("name", [SAME_KEY, ELSE]))
    assert equality_levels(fuzzy_first) == equality_levels(fixed) == []
    assert equality_levels(no_null) == []


def test_the_other_levels_are_sampled_among_the_pairs_the_equalities_leave():
    model = settings(
        ("name", [NULL, SAME_KEY, SAME_SOUND, NEAR, ELSE]),
        ("email", [NULL, SAME_KEY, ELSE]),
        ("phone", [NULL, NEAR, ELSE]),
    )
    counted = {"name": [0.1, 0.0], "email": [0.25]}
    form = sampling_form(model, counted)
    # the equalities' pairs join the null level; email has nothing left to sample
    assert [c["output_column_name"] for c in form["comparisons"]] == ["name", "phone"]
    name_levels = form["comparisons"][0]["comparison_levels"]
    assert [lv["label_for_charts"] for lv in name_levels] == ["null", "near", "else"]
    assert name_levels[0]["sql_condition"] == (
        f"({NULL['sql_condition']}) OR ({SAME_KEY['sql_condition']})"
        f" OR ({SAME_SOUND['sql_condition']})"
    )
    sampled = {
        "comparisons": [
            {
                "output_column_name": "name",
                "comparison_levels": [NULL, {"u_probability": 0.2}, {"u_probability": 0.8}],
            },
            {
                "output_column_name": "phone",
                "comparison_levels": [NULL, {}, {"u_probability": 1.0}],
            },
        ]
    }
    trained = with_u(model, sampled, counted)
    u = {
        c["output_column_name"]: [lv.get("u_probability") for lv in c["comparison_levels"][1:]]
        for c in trained["comparisons"]
    }
    # a level no pair reaches stays unseen, as sampling leaves it; the sampled shares
    # are of the 90% of pairs the key leaves
    assert u["name"] == pytest.approx([0.1, None, 0.2 * 0.9, 0.8 * 0.9])
    assert u["email"] == pytest.approx([0.25, 0.75])
    assert u["phone"] == [None, 1.0]


def test_a_comparison_with_nothing_to_compare_is_not_sampled_and_gets_no_u():
    model = settings(("postcode", [NULL, SAME_KEY, NEAR, ELSE]), ("phone", [NULL, NEAR, ELSE]))
    rows = [{"key": None}, {"key": "361000"}, {"key": None}]
    counted = exact_u(pa.Table.from_pylist(rows), equality_levels(model))
    assert counted == {"postcode": None}
    form = sampling_form(model, counted)
    assert [c["output_column_name"] for c in form["comparisons"]] == ["phone"]
    stale = settings(
        ("postcode", [NULL, {**SAME_KEY, "u_probability": 0.5}, NEAR, ELSE]),
        ("phone", [NULL, NEAR, ELSE]),
    )
    trained = with_u(stale, form, counted)
    assert all("u_probability" not in lv for lv in trained["comparisons"][0]["comparison_levels"])


def test_a_trained_models_same_name_core_u_is_the_share_of_pairs_sharing_it(
    staged, company_model, params
):
    records = as_prepared(staged, "company", params.junk).table.to_pylist()
    with_key = [r for r in records if r["name_key"] is not None]
    pairs = list(combinations(with_key, 2))
    same = sum(1 for left, right in pairs if left["name_key"] == right["name_key"])
    name = next(c for c in company_model["comparisons"] if c["output_column_name"] == "name")
    same_core = name["comparison_levels"][1]
    assert same_core["label_for_charts"] == "same name core"
    assert same_core["u_probability"] == pytest.approx(same / len(pairs))
    assert sum(lv.get("u_probability", 0) for lv in name["comparison_levels"][1:]) == pytest.approx(
        1
    )

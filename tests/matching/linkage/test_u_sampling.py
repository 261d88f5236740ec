"""u sampled among the records that have the compared value: the same u as among all."""

import random

import pyarrow as pa
import pytest
from splink import Linker

from matching.linkage.backend import matching_database
from matching.linkage.exact_u import null_column, sampling_form
from matching.linkage.u_sampling import _pairs_at_same_rate, sampled_u

NULL = {
    "sql_condition": '"code_l" IS NULL OR "code_r" IS NULL',
    "label_for_charts": "null",
    "is_null_level": True,
}
SAME = {"sql_condition": '"code_l" = "code_r"', "label_for_charts": "same"}
NEAR = {
    "sql_condition": "levenshtein(code_l, code_r) <= 1",
    "label_for_charts": "one keying error",
}
CITY_NULL = {
    "sql_condition": '"city_l" IS NULL OR "city_r" IS NULL',
    "label_for_charts": "null",
    "is_null_level": True,
}
SAME_CITY = {"sql_condition": 'substr("city_l", 1, 1) = substr("city_r", 1, 1)'}
ELSE = {"sql_condition": "ELSE", "label_for_charts": "else"}


def settings() -> dict:
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "record_key",
        "comparisons": [
            {"output_column_name": "code", "comparison_levels": [NULL, NEAR, ELSE]},
            {"output_column_name": "city", "comparison_levels": [CITY_NULL, SAME_CITY, ELSE]},
            {
                "output_column_name": "both",
                "comparison_levels": [
                    {"sql_condition": "code_l IS NULL AND city_l IS NULL", "is_null_level": True},
                    NEAR,
                    ELSE,
                ],
            },
        ],
    }


def records(n: int = 400) -> pa.Table:
    """Codes set on about a third of the records (typed with slips), cities on most."""
    rng = random.Random(3)
    rows = []
    for i in range(n):
        code = f"{rng.randrange(30):02d}{rng.randrange(10)}" if rng.random() < 0.35 else None
        city = rng.choice("厦福泉漳龙") if rng.random() < 0.8 else None
        rows.append({"record_key": f"r{i:04d}", "code": code, "city": city})
    return pa.Table.from_pylist(rows)


def u_values(comparisons: list[dict]) -> dict[str, list]:
    return {
        c["output_column_name"]: [lv.get("u_probability") for lv in c["comparison_levels"]]
        for c in comparisons
    }


@pytest.mark.parametrize("max_pairs", [2e3, 5e3, 1e6])
def test_u_sampled_among_records_with_the_value_equals_u_sampled_among_all(max_pairs):
    table = records()
    model = settings()
    with matching_database(threads=1) as db:
        sdf = db.register(table, "records")
        plain = Linker(sdf, model, log_level=None)
        plain.training.estimate_u_using_random_sampling(
            max_pairs=max_pairs, seed=42, num_chunks=10, min_count_per_level=100
        )
        expected = u_values(plain.misc.save_model_to_json()["comparisons"])
        got = u_values(
            sampled_u(
                db, sdf, table, model, max_pairs=max_pairs, seed=42, num_chunks=10, min_count=100
            )
        )
    assert got == expected
    assert expected["code"][1] is not None  # the keying-error level was seen


def test_each_comparison_is_sampled_on_the_column_of_its_null_level():
    model = settings()
    assert [null_column(c) for c in model["comparisons"]] == ["code", "city", None]
    # a null level widened by the counted equalities still names its column
    folded = {
        "comparisons": [
            {"output_column_name": "code", "comparison_levels": [NULL, SAME, NEAR, ELSE]}
        ]
    }
    form = sampling_form(folded, {"code": [0.01]})
    (widened,) = form["comparisons"]
    assert widened["comparison_levels"][0]["sql_condition"].startswith('("code_l" IS NULL')
    assert null_column(widened) == "code"


def test_the_smaller_table_is_sampled_at_the_rate_of_the_whole():
    def rate(max_pairs: float, rows: int) -> float:
        return ((8 * max_pairs + 1) ** 0.5 + 1) / 2 / rows

    for n, m in ((137_452, 23_000), (58_269, 40_731), (1_000, 999)):
        assert rate(_pairs_at_same_rate(1e7, n, m), m) == pytest.approx(rate(1e7, n), rel=1e-12)
    assert _pairs_at_same_rate(1e7, 500, 500) == 1e7

"""``quality.gx.validate`` names example rows and compares dates itself, faster, with the
very result GX gives when asked to name the rows (``unexpected_index_column_names``)."""

from datetime import datetime

import pandas as pd

from quality.gx import EXAMPLES, Expect, Rows, Suite, _context, build_suite, validate
from quality.results import ERROR, WARN, CheckDef

SUITE = Suite(
    name="staging.example",
    checks=(CheckDef("formats", WARN, "formats"), CheckDef("invariants", ERROR, "invariants")),
    expectations=(
        Expect("formats", "ExpectColumnValuesToMatchRegex", {"column": "phone", "regex": r"^\+\d+$", "mostly": 0.1}, "bad phones"),
        Expect("invariants", "ExpectColumnValuesToBeInSet", {"column": "kind", "value_set": ["company", "person"]}, "unknown kinds"),
        Expect("invariants", "ExpectColumnValuesToNotBeNull", {"column": "kind"}, "no kind"),
        Expect("invariants", "ExpectColumnValuesToBeUnique", {"column": "record_key"}, "repeated keys"),
        Expect("invariants", "ExpectColumnValuesToBeBetween", {"column": "updated_at", "max_value": datetime(2026, 1, 1, 23, 59, 59)}, "future dates"),
        Expect("invariants", "ExpectTableRowCountToBeBetween", {"min_value": 1}, "rows"),
    ),
    index_columns=("record_key", "source_row"),
)  # fmt: skip


def frame() -> pd.DataFrame:
    """Fifteen rows, most of them wrong somewhere; dates in microseconds, as DuckDB gives them."""
    rows = [
        {
            "record_key": f"dealers:D{i % 13}",
            "source_row": i + 2,
            "phone": "+8613800000000" if i % 3 else f"invalid: 0592-{i}",
            "kind": [None, "company", "person", "robot"][i % 4],
            "updated_at": datetime(2025 + i % 3, 6, 1) if i % 5 else None,
        }
        for i in range(15)
    ]
    out = pd.DataFrame(rows)
    out["updated_at"] = out["updated_at"].astype("datetime64[us]")
    return out


def gx_naming_rows(suite: Suite, data: pd.DataFrame) -> list[dict]:
    """GX's own results, asked to name unexpected rows by the suite's index columns."""
    source = _context().data_sources.add_or_update_pandas("reference")
    batch = (
        source.add_dataframe_asset(suite.name)
        .add_batch_definition_whole_dataframe("run")
        .get_batch(batch_parameters={"dataframe": data})
    )
    result_format = {
        "result_format": "SUMMARY",
        "partial_unexpected_count": EXAMPLES,
        "unexpected_index_column_names": list(suite.index_columns),
    }
    return batch.validate(build_suite(suite), result_format=result_format).to_json_dict()["results"]


def comparable(results: list[dict]) -> list[dict]:
    return sorted(
        ({k: v for k, v in r.items() if k != "expectation_config"} for r in results),
        key=repr,
    )


def test_results_and_named_examples_are_those_gx_gives_when_it_names_rows():
    outcomes = validate(SUITE, frame())
    ours = [r for o in outcomes for r in o.details["results"]]

    assert comparable(ours) == comparable(gx_naming_rows(SUITE, frame()))
    assert [o.passed for o in outcomes] == [True, False]


def test_failing_examples_name_the_bad_rows_by_their_key():
    outcomes = validate(SUITE, frame())
    failing = {f["expectation"]: f for f in outcomes[1].metadata["failing_expectations"]}

    assert failing["expect_column_values_to_be_in_set"]["examples"][0] == {
        "kind": "robot",
        "record_key": "dealers:D3",
        "source_row": 5,
    }
    assert failing["expect_column_values_to_be_between"]["unexpected"] == 8
    assert failing["expect_column_values_to_be_unique"]["unexpected"] == 4


def test_a_date_beyond_what_nanoseconds_hold_is_still_checked():
    data = frame()
    data["updated_at"] = data["updated_at"].astype(object)
    data.loc[3, "updated_at"] = datetime(9999, 1, 1)
    data["updated_at"] = data["updated_at"].astype("datetime64[us]")

    outcomes = validate(SUITE, data)
    between = next(
        f
        for f in outcomes[1].metadata["failing_expectations"]
        if f["expectation"] == "expect_column_values_to_be_between"
    )

    assert between["unexpected"] == 9
    assert {"updated_at": "9999-01-01T00:00:00", "record_key": "dealers:D3", "source_row": 5} in (
        between["examples"]
    )


def test_rows_narrowed_to_the_checked_columns_give_the_same_results():
    wide = frame()
    asked: list[list[int]] = []

    def keys(labels: list[int]) -> pd.DataFrame:
        asked.append(labels)
        return wide.loc[labels, list(SUITE.index_columns)]

    checked = ["record_key", "phone", "kind", "updated_at"]
    narrow = validate(SUITE, Rows(wide[checked], keys))
    full = validate(SUITE, wide)

    assert [o.details["results"] for o in narrow] == [o.details["results"] for o in full]
    assert [o.metadata for o in narrow] == [o.metadata for o in full]
    assert len(asked) == 1 and len(asked[0]) <= 5 * EXAMPLES


def test_each_column_validated_alone_gives_the_expectations_of_one_batch_in_suite_order():
    ours = [r for o in validate(SUITE, frame()) for r in o.details["results"]]
    reference = gx_naming_rows(SUITE, frame())

    def config(result: dict) -> dict:  # the reference batch is named apart
        found = {k: v for k, v in result["expectation_config"].items() if k != "id"}
        return {**found, "kwargs": {k: v for k, v in found["kwargs"].items() if k != "batch_id"}}

    assert [config(r) for r in ours] == [config(r) for r in reference]
    assert [r["expectation_config"]["type"] for r in ours] == [
        "expect_column_values_to_match_regex",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_unique",
        "expect_column_values_to_be_between",
        "expect_table_row_count_to_be_between",
    ]

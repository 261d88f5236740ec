"""Raw, staged and marts suites on tables built inline: the exact check fails, with examples."""

from datetime import date

import duckdb
import pandas as pd
import pytest
import yaml

import quality.raw_suite
from quality.gx import validate
from quality.marts_suite import DEFAULT_MART_SPECS, MartSpec, marts_frame, marts_suite
from quality.raw_suite import check_raw_table, minimum_rows, raw_checks, raw_frame, raw_suite
from quality.staged_suite import STAGED_CHECKS, staged_frame, staged_suite
from sources.config import ConfigError, PipelineConfig, load_config

CONFIG = PipelineConfig.model_validate(
    {
        "sources": [
            {
                "name": "dealers",
                "kind": "dealer",
                "path": "x/*.csv",
                "entity_type": "company",
                "columns": {"source_record_id": "客户编号", "name": "客户名称", "phone": "电话"},
            }
        ],
        "quality": {"min_valid_phone_share": 0.8},
    }
)
DEALERS = CONFIG.sources[0]
TODAY = date(2026, 11, 23)


def verdicts(outcomes) -> dict[str, bool]:
    return {o.name: o.passed for o in outcomes}


def failing(outcome) -> dict:
    (first, *_) = outcome.metadata["failing_expectations"]
    return first


@pytest.fixture
def raw_dealers():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw")
    con.execute(
        """CREATE TABLE raw.dealers AS SELECT * FROM (VALUES
            ('dealers', 'd.csv', 2, TIMESTAMP '2026-11-23', 'h1', 'D1', '甲公司', '0592-5551234'),
            ('dealers', 'd.csv', 3, TIMESTAMP '2026-11-23', 'h2', ' D2 ', '乙公司', NULL),
            ('dealers', 'd.csv', 4, TIMESTAMP '2026-11-23', 'h3', 'D3', '丙公司', NULL),
            ('dealers', 'd.csv', 5, TIMESTAMP '2026-11-23', 'h4', 'D2', '丁公司', NULL)
        ) t(source, source_file, source_row, ingested_at, record_hash, 客户编号, 客户名称, 电话)"""
    )
    yield con
    con.close()


def test_raw_duplicate_key_fails_its_check_as_a_warning_naming_the_rows(raw_dealers):
    outcomes = validate(raw_suite(DEALERS, None, CONFIG.quality), raw_frame(raw_dealers, DEALERS))
    assert [o.name for o in outcomes] == [c.name for c in raw_checks(DEALERS)]
    assert verdicts(outcomes) == {
        "required_columns_present": True,
        "source_record_id_unique": False,  # ' D2 ' is D2 once trimmed, as staging reads it
        "rows_vs_previous_run": True,
    }
    unique = outcomes[1]
    assert unique.severity == "warn"  # staging quarantines the repeat; the share gate blocks
    examples = failing(unique)["examples"]
    assert {(e["record_key"], e["source_row"]) for e in examples} == {
        ("dealers:D2", 3),
        ("dealers:D2", 5),
    }
    assert unique.details["results"][0]["expectation_config"]["type"] == (
        "expect_column_values_to_be_unique"
    )


def test_raw_duplicates_within_the_tolerance_pass(raw_dealers):
    tolerant = CONFIG.quality.model_copy(update={"max_duplicate_key_share": 0.5})
    outcomes = validate(raw_suite(DEALERS, None, tolerant), raw_frame(raw_dealers, DEALERS))
    assert verdicts(outcomes)["source_record_id_unique"]


def test_raw_missing_column_and_lost_rows_fail(raw_dealers):
    raw_dealers.execute("ALTER TABLE raw.dealers DROP COLUMN 电话")
    outcomes = validate(raw_suite(DEALERS, 10, CONFIG.quality), raw_frame(raw_dealers, DEALERS))
    assert verdicts(outcomes) == {
        "required_columns_present": False,
        "source_record_id_unique": False,
        "rows_vs_previous_run": False,
    }
    assert failing(outcomes[0])["missing"] == ["电话"]
    rows = outcomes[2]
    assert "observed 4" in rows.description and "≥ 7" in rows.description


@pytest.mark.parametrize("missing_column", [False, True])
def test_raw_frame_reads_only_the_values_the_suite_reads_with_the_same_outcomes(
    raw_dealers, missing_column
):
    """The raw frame carries every present column by name but fetches only the key and the
    row names: GX's outcomes are those of a frame with every column's values."""
    if missing_column:
        raw_dealers.execute("ALTER TABLE raw.dealers DROP COLUMN 电话")
    frame = raw_frame(raw_dealers, DEALERS)
    whole = (
        raw_dealers.sql(
            "SELECT 'dealers:' || nullif(trim(CAST(客户编号 AS VARCHAR)), '') AS record_key, "
            f"{', '.join(frame.columns[1:])} FROM raw.dealers"
        )
        .to_arrow_table()
        .to_pandas(types_mapper=pd.ArrowDtype)
    )
    assert list(frame.columns) == list(whole.columns)
    assert frame["客户名称"].isna().all()  # by name only: no expectation reads its values
    for previous in (None, 10):
        suite = raw_suite(DEALERS, previous, CONFIG.quality)
        narrow = [o.as_record() for o in validate(suite, frame)]
        assert narrow == [o.as_record() for o in validate(suite, whole)]


def test_a_feed_whose_files_are_unchanged_reports_its_key_check_again_without_reading_keys(
    raw_dealers, monkeypatch
):
    """Same files (``raw.<feed>__files``), settings and code: the key check's outcome is the
    last one, and only the column and row-count checks are validated; every outcome is the
    one a validation of the whole suite gives. Another file's bytes: validated again."""
    raw_dealers.execute(
        """CREATE TABLE raw.dealers__files AS SELECT 'd.csv' AS source_file, 'sha-1' AS fingerprint,
           ['客户编号', '客户名称', '电话'] AS columns, 4::BIGINT AS rows, 0::BIGINT AS rejected"""
    )
    validated = []
    real = quality.raw_suite.validate_metrics
    monkeypatch.setattr(
        quality.raw_suite,
        "validate_metrics",
        lambda suite, *args: (
            validated.append([e.check for e in suite.expectations]) or real(suite, *args)
        ),
    )
    first, rows = check_raw_table(raw_dealers, DEALERS, None, CONFIG.quality, "run-1")
    again, _ = check_raw_table(raw_dealers, DEALERS, 4, CONFIG.quality, "run-2")
    assert rows == 4
    assert validated[1] == ["required_columns_present", "rows_vs_previous_run"]
    assert again[1].metadata.pop("evaluated_in_run") == "run-1"
    whole = validate(raw_suite(DEALERS, 4, CONFIG.quality), raw_frame(raw_dealers, DEALERS))
    assert [o.as_record() for o in again] == [o.as_record() for o in whole]
    assert [o.as_record() for o in first][1] == whole[1].as_record()

    raw_dealers.execute("UPDATE raw.dealers__files SET fingerprint = 'sha-2'")
    check_raw_table(raw_dealers, DEALERS, 4, CONFIG.quality, "run-3")
    assert "source_record_id_unique" in validated[2]


def many_dealers(con, keys: list[str | None]) -> None:
    """``raw.dealers`` with one row per key (row numbers from 2), as a delta rewrites it."""
    con.execute("DROP TABLE IF EXISTS raw.dealers")
    con.execute(
        "CREATE TABLE raw.dealers (source VARCHAR, source_file VARCHAR, source_row BIGINT, "
        "ingested_at TIMESTAMP, record_hash VARCHAR, 客户编号 VARCHAR, 客户名称 VARCHAR, 电话 VARCHAR)"
    )
    con.executemany(
        "INSERT INTO raw.dealers VALUES ('dealers', 'd.csv', ?, TIMESTAMP '2026-11-23', 'h', ?, "
        "'甲公司', NULL)",
        [[row, key] for row, key in enumerate(keys, start=2)],
    )


def test_the_key_check_counted_in_duckdb_reports_what_a_whole_validation_reports(raw_dealers):
    """Repeats counted in SQL: the verdict, the counts, the first ten examples (in the
    table's order, named by file and row) are GX's on the whole frame; an error planted in
    a delta is caught, and the delta that fixes it clears it."""
    quality = CONFIG.quality.model_copy(update={"max_duplicate_key_share": 0.0})
    days = [
        [f"D{i}" for i in range(30)],  # clean
        [f"D{i % 17}" if i % 3 else None for i in range(60)],  # repeats, blanks, > 10 examples
        [f"D{i}" for i in range(29)] + ["D3"],  # one repeat planted
        [f"D{i}" for i in range(30)],  # fixed
    ]
    verdicts = []
    for keys in days:
        many_dealers(raw_dealers, keys)
        outcomes, rows = check_raw_table(raw_dealers, DEALERS, 30, quality, "run")
        whole = validate(raw_suite(DEALERS, 30, quality), raw_frame(raw_dealers, DEALERS))
        assert [o.as_record() for o in outcomes] == [o.as_record() for o in whole]
        assert rows == len(keys)
        verdicts.append(outcomes[1].passed)
    assert verdicts == [True, False, False, True]
    many_dealers(raw_dealers, [f"D{i}" for i in range(29)] + ["D3"])
    examples = failing(check_raw_table(raw_dealers, DEALERS, 30, quality, "run")[0][1])
    assert [e["source_row"] for e in examples["examples"]] == [5, 31]


def test_key_check_examples_follow_the_files_order_whatever_order_the_table_lies_in():
    """A day that changed one file writes its rows at the table's end
    (``sources.raw_files.write_raw``): the examples and their places are still those of a
    table written file by file, as a full read writes it."""
    quality = CONFIG.quality.model_copy(update={"max_duplicate_key_share": 0.0})
    rows = [  # (file, row, key): b.csv's rows were written last, after c.csv's
        ("a.csv", 2, "D1"), ("a.csv", 3, "D2"), ("c.csv", 2, "D2"), ("c.csv", 3, "D9"),
        ("b.csv", 3, "D9"), ("b.csv", 2, "D1"),
    ]  # fmt: skip
    in_order = sorted(rows, key=lambda r: (r[0], r[1]))
    results = []
    for written in (rows, in_order):
        con = duckdb.connect()
        con.execute("CREATE SCHEMA raw")
        con.execute(
            "CREATE TABLE raw.dealers (source VARCHAR, source_file VARCHAR, source_row BIGINT, "
            "ingested_at TIMESTAMP, record_hash VARCHAR, 客户编号 VARCHAR, 客户名称 VARCHAR, 电话 VARCHAR)"
        )
        con.executemany(
            "INSERT INTO raw.dealers VALUES ('dealers', ?, ?, TIMESTAMP '2026-11-23', 'h', ?, "
            "'甲公司', NULL)",
            [list(r) for r in written],
        )
        con.execute(
            "CREATE TABLE raw.dealers__files AS SELECT source_file, '' AS fingerprint, "
            "[]::VARCHAR[] AS columns, 2 AS rows, 0 AS rejected "
            "FROM (VALUES ('a.csv'), ('b.csv'), ('c.csv')) t(source_file)"
        )
        outcomes, _ = check_raw_table(con, DEALERS, None, quality, "run")
        results.append([o.as_record() for o in outcomes])
    assert results[0] == results[1]
    examples = failing(next(o for o in outcomes if o.name == "source_record_id_unique"))
    assert [(e["source_file"], e["source_row"]) for e in examples["examples"]] == [
        ("a.csv", 2), ("a.csv", 3), ("b.csv", 2), ("b.csv", 3), ("c.csv", 2), ("c.csv", 3)
    ]  # fmt: skip


def test_minimum_rows_tolerates_the_configured_drop():
    assert minimum_rows(None, 0.3) == 0
    assert minimum_rows(100, 0.3) == 70
    assert minimum_rows(100, 0.0) == 100


def staged_rows(**changes) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "record_key": [f"dealers:D{i}" for i in range(10)],
            "entity_type": ["company"] * 10,
            "province": ["福建省"] * 5 + [None] * 5,
            "phone": ["+865925551234"] * 10,
            "mobile": [None] * 10,
            "email": ["a@b.cn"] * 10,
            "uscc": ["91350200MA2XXXXXX0"] * 10,
            "created_at": pd.to_datetime(["2024-03-25"] * 10),
            "updated_at": pd.to_datetime([None] * 10),
            "birth_date": pd.to_datetime([None] * 10),
        }
    )
    for column, (rows, value) in changes.items():
        frame.loc[rows, column] = value
    return frame


def test_clean_staged_records_pass_every_check():
    outcomes = validate(staged_suite(CONFIG, TODAY), staged_rows())
    assert [o.name for o in outcomes] == [c.name for c in STAGED_CHECKS]
    assert all(o.passed for o in outcomes), [o.description for o in outcomes if not o.passed]


def test_a_column_of_garbage_phones_warns_with_the_values_as_sent():
    garbage = staged_rows(phone=(slice(0, 4), "invalid: call me"))  # 5 of 10 invalid
    outcome = next(o for o in validate(staged_suite(CONFIG, TODAY), garbage) if not o.passed)
    assert (outcome.name, outcome.severity) == ("valid_phone_share", "warn")
    assert "5 of 10 landlines that are not valid" in outcome.description
    assert failing(outcome)["examples"][0] == {
        "phone": "invalid: call me",
        "record_key": "dealers:D0",
    }


def test_a_future_date_blocks_naming_the_record():
    future = staged_rows(updated_at=(3, pd.Timestamp("2027-01-01")))
    failed = [o for o in validate(staged_suite(CONFIG, TODAY), future) if not o.passed]
    assert [(o.name, o.severity) for o in failed] == [("dates_not_in_future", "error")]
    assert failing(failed[0])["examples"][0]["record_key"] == "dealers:D3"
    tomorrow = staged_rows(updated_at=(3, pd.Timestamp("2026-11-24 18:00")))
    assert all(o.passed for o in validate(staged_suite(CONFIG, TODAY), tomorrow))  # tolerance 1 day


def test_unknown_province_and_entity_type_block():
    bad = staged_rows(province=(0, "厦门省"), entity_type=(1, "robot"))
    failed = {o.name for o in validate(staged_suite(CONFIG, TODAY), bad) if not o.passed}
    assert failed == {"province_official", "entity_type_known"}


def test_staged_frame_shows_flagged_values_as_sent_for_source_records_only():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw; CREATE SCHEMA staging")
    con.execute(
        """CREATE TABLE raw.dealers AS SELECT * FROM (VALUES
            ('d.csv', 2, 'D1', '甲', '12345'), ('d.csv', 3, 'D2', '乙', '0592-5551234')
        ) t(source_file, source_row, 客户编号, 客户名称, 电话)"""
    )
    con.execute(
        """CREATE TABLE staging.customers AS SELECT * FROM (VALUES
            ('dealers:D1', 'dealers', 'd.csv', 2, 'company', NULL, NULL, NULL, NULL, NULL,
             'phone_invalid', NULL, DATE '2024-01-01', NULL::DATE, NULL::DATE),
            ('dealers:D2', 'dealers', 'd.csv', 3, 'company', '福建省', '+865925551234', NULL,
             NULL, NULL, 'contact_mobile_invalid', NULL, NULL, NULL, NULL),
            ('dealers:D2:contact', 'dealers', 'd.csv', 3, 'person', NULL, NULL, '+8613800138000',
             NULL, NULL, NULL, 'dealers:D2', NULL, NULL, NULL)
        ) t(record_key, source, source_file, source_row, entity_type, province, phone, mobile,
            email, uscc, quality_flags, derived_from_record_key, created_at, updated_at, birth_date)"""
    )
    frame = staged_frame(con, CONFIG).set_index("record_key")
    assert frame.loc["dealers:D1", "phone"] == "invalid: 12345"
    assert frame.loc["dealers:D2", "phone"] == "+865925551234"
    assert pd.isna(
        frame.loc["dealers:D2", "mobile"]
    )  # contact_mobile_invalid is not mobile_invalid
    assert pd.isna(frame.loc["dealers:D2:contact", "mobile"])  # checked on the company's row


def mart(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.register("incoming", frame)
    con.execute(f"CREATE TABLE marts.{name} AS FROM incoming")
    con.unregister("incoming")


def test_marts_segments_outside_their_value_sets_fail():
    con = duckdb.connect()
    mart(
        con,
        "customer_value",
        pd.DataFrame({"customer_id": ["CM1", "CM2", "CM3"], "abc_class": ["A", "D", None]}),
    )
    mart(con, "customer_lifecycle", pd.DataFrame({"customer_id": ["CM1"], "stage": ["active"]}))
    value, lifecycle = DEFAULT_MART_SPECS
    (outcome,) = validate(marts_suite(value), marts_frame(con, value))
    assert (outcome.name, outcome.passed, outcome.severity) == (
        "segments_in_value_sets",
        False,
        "error",
    )
    assert failing(outcome)["examples"] == [{"abc_class": "D", "customer_id": "CM2"}]
    assert all(o.passed for o in validate(marts_suite(lifecycle), marts_frame(con, lifecycle)))


def test_marts_shares_must_sum_to_100_percent_within_each_group():
    con = duckdb.connect()
    mart(
        con,
        "segment_shares",
        pd.DataFrame(
            {
                "segment": ["champions", "loyal", "champions", "loyal"],
                "region": ["福建省", "福建省", "广东省", "广东省"],
                "share": [0.6, 0.4, 0.5, 0.3],
            }
        ),
    )
    spec = MartSpec(
        "marts.segment_shares",
        value_sets={"segment": ["champions", "loyal"]},
        shares=["share"],
        group_by=["region"],
        key=["segment"],
    )
    outcomes = validate(marts_suite(spec), marts_frame(con, spec))
    assert verdicts(outcomes) == {
        "segments_in_value_sets": True,
        "shares_sum_to_100_percent": False,
    }
    assert {e["region"] for e in failing(outcomes[1])["examples"]} == {"广东省"}
    whole = MartSpec("marts.segment_shares", shares=["share"], share_total=1.8, key=["segment"])
    assert all(o.passed for o in validate(marts_suite(whole), marts_frame(con, whole)))


def test_quality_bounds_are_validated_with_the_key_named(tmp_path):
    settings = CONFIG.model_dump(mode="json", exclude={"base_dir"})
    settings["quality"] = {"max_row_drop_share": 1.5, "min_valid_phone_shar": 0.9}
    path = tmp_path / "customer_master.yaml"
    path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert "quality.max_row_drop_share: Input should be less than or equal to 1" in str(error.value)
    assert "quality.min_valid_phone_shar: unknown key" in str(error.value)

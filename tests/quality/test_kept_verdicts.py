"""A suite validated in the warehouse, with each value's verdict kept, reports exactly what GX
reports validating the whole frame: on the first sync, on a delta that brings a bad row, and
on a delta that leaves an old bad row where it was."""

from datetime import date, datetime

import duckdb
import pytest

import quality.kept_verdicts as kv
from quality.gx import Expect, Suite, read_frame, validate
from quality.kept_verdicts import TABLE, validate_in_warehouse
from quality.results import ERROR, WARN, CheckDef
from quality.staged_suite import staged_frame_sql, staged_suite
from tests.quality.test_table_suites import CONFIG as DEALERS

HORIZON = datetime(2026, 1, 1, 23, 59, 59)


def suite(horizon: datetime = HORIZON) -> Suite:
    return Suite(
        name="staging.example",
        checks=(CheckDef("formats", WARN, "formats"), CheckDef("invariants", ERROR, "invariants")),
        expectations=(
            Expect("formats", "ExpectColumnValuesToMatchRegex", {"column": "phone", "regex": r"^\+\d+$", "mostly": 0.5}, "bad phones"),
            Expect("invariants", "ExpectColumnValuesToBeInSet", {"column": "kind", "value_set": ["company", "person"]}, "unknown kinds"),
            Expect("invariants", "ExpectColumnValuesToNotBeNull", {"column": "kind"}, "no kind"),
            Expect("invariants", "ExpectColumnValuesToBeUnique", {"column": "record_key"}, "repeated keys"),
            Expect("invariants", "ExpectColumnValuesToBeBetween", {"column": "updated_at", "max_value": horizon}, "future dates"),
            Expect("invariants", "ExpectColumnValuesToBeBetween", {"column": "share", "min_value": 0, "max_value": 1}, "shares out of range"),
            Expect("invariants", "ExpectTableRowCountToBeBetween", {"min_value": 1}, "rows"),
        ),
        index_columns=("record_key", "source_row"),
    )  # fmt: skip


SQL = (
    "SELECT record_key, source_row, phone, kind, updated_at, share FROM records ORDER BY source_row"
)


def day(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    """The table as this sync sees it."""
    con.execute(
        "CREATE OR REPLACE TABLE records (record_key VARCHAR, source_row INTEGER, phone VARCHAR, "
        "kind VARCHAR, updated_at TIMESTAMP, share DOUBLE)"
    )
    if rows:
        con.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?)", rows)


def clean(n: int = 40) -> list[tuple]:
    return [
        (
            f"dealers:D{i}",
            i + 2,
            f"+86138{i % 7:08d}" if i % 4 else None,
            ["company", "person"][i % 2],
            datetime(2025, 1 + i % 12, 1) if i % 5 else None,
            (i % 10) / 10 if i % 6 else None,
        )
        for i in range(n)
    ]


def whole(con: duckdb.DuckDBPyConnection, s: Suite) -> list[dict]:
    return [o.as_record() for o in validate(s, read_frame(con, SQL))]


def kept(con: duckdb.DuckDBPyConnection, s: Suite) -> list[dict]:
    return [o.as_record() for o in validate_in_warehouse(con, s, SQL)]


@pytest.fixture
def con():
    con = duckdb.connect()
    yield con
    con.close()


@pytest.fixture
def judged(monkeypatch) -> list[int]:
    """How many values GX judged, per call."""
    calls: list[int] = []
    real = kv._judge

    def counting(con, s, position, new):
        calls.append(new.shape[0])
        return real(con, s, position, new)

    monkeypatch.setattr(kv, "_judge", counting)
    return calls


def test_a_clean_table_passes_as_a_whole_validation_says(con):
    day(con, clean())
    assert kept(con, suite()) == whole(con, suite())
    assert all(o["passed"] for o in kept(con, suite()))


def test_a_bad_row_arriving_in_a_delta_fails_the_check_a_whole_validation_fails(con, judged):
    day(con, clean())
    kept(con, suite())
    judged.clear()
    rows = clean()
    rows[7] = ("dealers:D7", 9, "+8613800000003", "robot", datetime(2027, 5, 1), 1.5)  # changed
    rows.append(("dealers:D3", 90, "invalid: 0592", None, None, float("nan")))  # new, key repeated
    day(con, rows)
    outcomes = kept(con, suite())
    assert outcomes == whole(con, suite())
    assert [o["passed"] for o in outcomes] == [True, False]
    failing = {f["expectation"]: f for f in outcomes[1]["metadata"]["failing_expectations"]}
    assert failing["expect_column_values_to_be_in_set"]["examples"] == [
        {"kind": "robot", "record_key": "dealers:D7", "source_row": 9}
    ]
    assert failing["expect_column_values_to_be_unique"]["unexpected"] == 2
    # GX judged the changed and new values only: a phone, a kind, a date, a share, one each
    assert sorted(judged) == [1, 1, 1, 1]


def test_a_bad_row_kept_from_an_earlier_sync_is_still_reported(con, judged):
    rows = clean()
    rows[3] = ("dealers:D3", 5, "0592-5551234", "company", datetime(2030, 1, 1), 0.5)
    day(con, rows)
    first = kept(con, suite())
    assert first == whole(con, suite())
    judged.clear()
    rows.append(("dealers:D99", 200, "+8613912345678", "person", None, None))  # a clean delta
    day(con, rows)
    again = kept(con, suite())
    assert again == whole(con, suite())
    assert [o["passed"] for o in again] == [True, False]
    examples = [e for f in again[1]["metadata"]["failing_expectations"] for e in f["examples"]]
    assert {
        "updated_at": "2030-01-01T00:00:00",
        "record_key": "dealers:D3",
        "source_row": 5,
    } in examples
    assert again[0]["metadata"]["phone_unexpected_percent"] > 0  # the bad phone still counted
    assert sorted(judged) == [1]  # the new phone; the rest was judged before


def test_more_bad_values_than_examples_count_and_name_as_a_whole_validation(con):
    rows = [
        (f"k{i % 13}", i, f"bad {i % 17}", ["company", "robot", None][i % 3], datetime(2027, 1, 1 + i % 20), i / 7)
        for i in range(120)
    ]  # fmt: skip
    day(con, rows)
    assert kept(con, suite()) == whole(con, suite())
    day(con, rows[::-1][:100])  # another order, fewer rows
    assert kept(con, suite()) == whole(con, suite())


def test_a_new_date_horizon_judges_the_dates_again_and_forgets_the_old_verdicts(con, judged):
    day(con, clean())
    kept(con, suite())
    judged.clear()
    later = suite(datetime(2025, 6, 15))
    assert kept(con, later) == whole(con, later)
    assert judged == [len({r[4] for r in clean() if r[4] is not None})]  # the dates only
    (slots,) = con.execute(
        f"SELECT count(DISTINCT expectation) FROM {TABLE} WHERE slot = 'staging.example#4'"
    ).fetchall()[0]
    assert slots == 1


def test_an_empty_table_passes_vacuously_as_a_whole_validation_says(con):
    day(con, [])
    assert kept(con, suite()) == whole(con, suite())


def staged_warehouse(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    """``raw.dealers`` and ``staging.customers`` of one sync: (id, phone as sent, staged phone,
    flags, province, updated_at)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw; CREATE SCHEMA IF NOT EXISTS staging")
    con.execute(
        "CREATE OR REPLACE TABLE raw.dealers (source_file VARCHAR, source_row INTEGER, "
        "客户编号 VARCHAR, 客户名称 VARCHAR, 电话 VARCHAR)"
    )
    con.execute(
        "CREATE OR REPLACE TABLE staging.customers (record_key VARCHAR, source VARCHAR, "
        "source_file VARCHAR, source_row INTEGER, entity_type VARCHAR, province VARCHAR, "
        "phone VARCHAR, mobile VARCHAR, email VARCHAR, uscc VARCHAR, quality_flags VARCHAR, "
        "derived_from_record_key VARCHAR, created_at DATE, updated_at DATE, birth_date DATE)"
    )
    for i, (key, sent, phone, flags, province, updated) in enumerate(rows):
        con.execute("INSERT INTO raw.dealers VALUES ('d.csv', ?, ?, '甲', ?)", [i + 2, key, sent])
        con.execute(
            "INSERT INTO staging.customers VALUES (?, 'dealers', 'd.csv', ?, 'company', ?, ?, "
            "NULL, NULL, NULL, ?, NULL, DATE '2024-01-01', ?, NULL)",
            [f"dealers:{key}", i + 2, province, phone, flags, updated],
        )


def test_the_staged_suite_reports_a_bad_row_of_a_delta_as_a_whole_validation_does(con):
    s = staged_suite(DEALERS, date(2026, 11, 23))
    sql = staged_frame_sql(DEALERS)
    rows = [(f"D{i}", "0592-5551234", "+865925551234", None, "福建省", None) for i in range(12)]
    staged_warehouse(con, rows)
    first = [o.as_record() for o in validate_in_warehouse(con, s, sql)]
    assert first == [o.as_record() for o in validate(s, read_frame(con, sql))]
    assert all(o["passed"] for o in first)
    rows[4] = ("D4", "12345", None, "phone_invalid", "厦门省", datetime(2027, 1, 1))  # a bad day
    staged_warehouse(con, rows)
    delta = [o.as_record() for o in validate_in_warehouse(con, s, sql)]
    assert delta == [o.as_record() for o in validate(s, read_frame(con, sql))]
    failed = {o["check"] for o in delta if not o["passed"]}
    assert failed == {"province_official", "dates_not_in_future"}  # one phone in 12 is allowed
    phone = next(o for o in delta if o["check"] == "valid_phone_share")
    assert phone["metadata"]["phone_unexpected_percent"] == round(100 / 12, 3)


def test_a_column_missing_from_the_frame_is_reported_as_a_whole_validation_reports_it(con):
    day(con, clean())
    sql = "SELECT record_key, source_row, kind, updated_at, share FROM records ORDER BY source_row"
    kept = [o.as_record() for o in validate_in_warehouse(con, suite(), sql)]
    assert kept == [o.as_record() for o in validate(suite(), read_frame(con, sql))]
    assert not kept[0]["passed"]  # the phone column is not there

"""A check that reads only its own table reports its last outcome while that table is
unchanged, even when other inputs of the sync changed; a changed table is validated again."""

import uuid

import dagster as dg
import duckdb
import pytest

from assets.checks import Guard, _evaluate, suite_guard
from assets.resources import Warehouse
from quality.gx import Expect, Suite
from quality.results import ERROR, CheckDef, CheckOutcome
from sources.config import PipelineConfig

CONFIG = PipelineConfig.model_validate(
    {
        "sources": [
            {
                "name": "dealers",
                "kind": "dealer",
                "path": "x/*.csv",
                "entity_type": "company",
                "columns": {"source_record_id": "客户编号", "name": "客户名称"},
            }
        ]
    }
)
TIERS = Suite(
    name="marts.customer_value",
    checks=(CheckDef("segments_in_value_sets", ERROR, "known tiers only"),),
    expectations=(
        Expect(
            "segments_in_value_sets",
            "ExpectColumnValuesToBeInSet",
            {"column": "tier", "value_set": ["gold", "silver"]},
            "unknown tiers",
        ),
    ),
    index_columns=("customer_id",),
)


def frame(con):
    return con.sql("SELECT customer_id, tier FROM marts.customer_value").df()


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    con.execute(
        "CREATE TABLE marts.customer_value AS "
        "SELECT * FROM (VALUES ('CM1', 'gold'), ('CM2', 'silver')) t(customer_id, tier)"
    )
    yield con
    con.close()


def another_sync(con, run_id: str) -> None:
    """A sync whose upstream steps built from new inputs (a delta elsewhere)."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS main.step_inputs (step VARCHAR, settings VARCHAR, "
        "data VARCHAR, run_id VARCHAR, recorded_at TIMESTAMP)"
    )
    con.execute(
        "INSERT INTO main.step_inputs VALUES ('staging', 's', ?, ?, now())", [run_id, run_id]
    )


def evaluate(con, guard, run_id: str):
    """The guard's outcomes in sync ``run_id`` (run ids are unique, as Dagster's are: a
    table's fingerprint is taken once per run)."""
    another_sync(con, run_id)
    return _evaluate(guard, con, Warehouse(database=":memory:"), run_id, CONFIG)


@pytest.fixture
def runs():
    """Two run ids no other test uses."""
    prefix = uuid.uuid4().hex
    return f"{prefix}-1", f"{prefix}-2"


def test_an_unchanged_mart_reports_its_last_outcome_and_names_the_run_that_evaluated_it(con, runs):
    guard = suite_guard(dg.AssetKey(["marts", "customer_value"]), TIERS, frame, own_table_only=True)

    (first,) = evaluate(con, guard, runs[0])
    (second,) = evaluate(con, guard, runs[1])

    assert first.passed and "evaluated_in_run" not in first.metadata
    assert second.passed and second.metadata["evaluated_in_run"] == runs[0]
    assert {k: v for k, v in second.metadata.items() if k != "evaluated_in_run"} == (first.metadata)


def test_a_guard_that_reads_other_tables_too_is_validated_again_when_other_inputs_change(con, runs):
    guard = suite_guard(dg.AssetKey(["marts", "customer_value"]), TIERS, frame)

    evaluate(con, guard, runs[0])
    (second,) = evaluate(con, guard, runs[1])

    assert "evaluated_in_run" not in second.metadata


def test_a_changed_mart_is_validated_again_and_a_bad_row_fails(con, runs):
    guard = suite_guard(dg.AssetKey(["marts", "customer_value"]), TIERS, frame, own_table_only=True)
    evaluate(con, guard, runs[0])
    con.execute("INSERT INTO marts.customer_value VALUES ('CM3', 'platinum')")

    (second,) = evaluate(con, guard, runs[1])

    assert not second.passed
    assert "evaluated_in_run" not in second.metadata
    assert second.metadata["failing_expectations"][0]["examples"] == [
        {"tier": "platinum", "customer_id": "CM3"}
    ]


def test_an_outcome_that_names_an_earlier_run_keeps_that_name_when_reported_again(con, runs):
    """The raw suite reports a key check of unchanged files from the run that read the keys;
    the next sync on the same inputs reports it again and still names that run, not the
    run that only passed it on."""
    check = TIERS.checks[0]
    calls = []

    def passed_on(_con, run_id, _config):
        calls.append(run_id)
        return [CheckOutcome(check.name, True, check.description, {"evaluated_in_run": "run-0"})]

    guard = Guard(
        dg.AssetKey(["marts", "customer_value"]), (check,), passed_on, own_table_only=True
    )
    evaluate(con, guard, runs[0])
    (second,) = evaluate(con, guard, runs[1])

    assert calls == [runs[0]]
    assert second.metadata["evaluated_in_run"] == "run-0"

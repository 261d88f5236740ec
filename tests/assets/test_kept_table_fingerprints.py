"""A table's fingerprint is taken once and kept: a sync whose writer of the table skips hashes
it no more; a writer that builds drops it, and the next reader hashes the new content."""

from collections import Counter

import dagster as dg
import pytest

from assets import step_work
from assets.resources import Warehouse
from assets.step_work import plan_step, run_table_fingerprint
from warehouse.step_inputs import table_fingerprint

#: What the writer builds ``raw.feed`` from, per test (a stand-in for the exports).
SOURCE: dict[str, list[str]] = {"values": []}
#: What each sync's reader saw: (its decision, the fingerprint of raw.feed).
SEEN: list[tuple[str, str]] = []


@dg.asset(key=["raw", "feed"])
def writer(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    plan = plan_step(context, warehouse, "raw.feed", data=[SOURCE["values"]])
    if not plan.skip:
        with warehouse.connect() as con:
            con.execute("CREATE OR REPLACE TABLE raw.feed (v VARCHAR)")
            con.executemany("INSERT INTO raw.feed VALUES (?)", [[v] for v in SOURCE["values"]])
        plan.done(warehouse, context.run_id)
    return dg.MaterializeResult(metadata=plan.metadata())


@dg.asset(key=["staging", "feed"], deps=[writer])
def reader(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    plan = plan_step(context, warehouse, "staging.feed", tables=["raw.feed"])
    with warehouse.connect() as con:
        SEEN.append(
            (plan.decision.work, run_table_fingerprint(con, warehouse, "raw.feed", context.run_id))
        )
    if not plan.skip:
        plan.done(warehouse, context.run_id)
    return dg.MaterializeResult(metadata=plan.metadata())


@pytest.fixture
def warehouse(tmp_path) -> Warehouse:
    SEEN.clear()
    return Warehouse(database=str(tmp_path / "warehouse.duckdb"))


@pytest.fixture
def hashed(monkeypatch) -> Counter:
    """How often each table was hashed (``table_fingerprint``) by the steps."""
    counts: Counter = Counter()

    def counting(con, schema, table):
        counts[f"{schema}.{table}"] += 1
        return table_fingerprint(con, schema, table)

    monkeypatch.setattr(step_work, "table_fingerprint", counting)
    return counts


def sync(warehouse: Warehouse, values: list[str], assets=(writer, reader)) -> None:
    SOURCE["values"] = values
    result = dg.materialize(list(assets), resources={"warehouse": warehouse})
    assert result.success


def content(warehouse: Warehouse) -> str:
    with warehouse.connect() as con:
        return table_fingerprint(con, "raw", "feed")


def test_a_table_whose_writer_skips_is_not_hashed_again(warehouse, hashed):
    sync(warehouse, ["a", "b"])
    assert hashed["raw.feed"] == 1
    sync(warehouse, ["a", "b"])  # unchanged exports: the writer skips
    sync(warehouse, ["a", "b"])
    assert hashed["raw.feed"] == 1
    assert [work for work, _ in SEEN] == ["full", "skip", "skip"]
    assert {fp for _, fp in SEEN} == {content(warehouse)}


def test_a_table_its_writer_built_again_is_hashed_again_with_its_new_content(warehouse, hashed):
    sync(warehouse, ["a", "b"])
    sync(warehouse, ["a", "b"])
    sync(warehouse, ["a", "c"])  # a delta: the writer builds
    assert hashed["raw.feed"] == 2
    assert SEEN[-1] == ("full", content(warehouse))
    assert SEEN[-1][1] != SEEN[0][1]
    sync(warehouse, ["a", "c"])
    assert hashed["raw.feed"] == 2
    assert SEEN[-1] == ("skip", content(warehouse))


def test_a_sync_without_the_writer_hashes_the_table(warehouse, hashed):
    sync(warehouse, ["a", "b"])
    with warehouse.connect() as con:  # changed outside any step
        con.execute("INSERT INTO raw.feed VALUES ('z')")
    sync(warehouse, ["a", "b"], assets=(reader,))
    assert hashed["raw.feed"] == 2
    assert SEEN[-1] == ("full", content(warehouse))


def test_a_fingerprint_taken_before_its_writer_built_in_the_same_run_does_not_hold(
    warehouse, hashed
):
    @dg.asset(key=["raw", "feed"])
    def rereading_writer(context: dg.AssetExecutionContext, warehouse: Warehouse):
        # a writer that reads its own last build (an incremental step) before it writes
        plan = plan_step(context, warehouse, "raw.feed", tables=["raw.feed"], data=[SOURCE])
        if not plan.skip:
            with warehouse.connect() as con:
                con.execute("CREATE OR REPLACE TABLE raw.feed (v VARCHAR)")
                con.executemany("INSERT INTO raw.feed VALUES (?)", [[v] for v in SOURCE["values"]])
            plan.done(warehouse, context.run_id)
        return dg.MaterializeResult(metadata=plan.metadata())

    sync(warehouse, ["a"], assets=(rereading_writer, reader))
    sync(warehouse, ["a", "b"], assets=(rereading_writer, reader))
    assert SEEN[-1] == ("full", content(warehouse))
    sync(warehouse, ["a", "b"], assets=(rereading_writer, reader))
    assert SEEN[-1] == ("skip", content(warehouse))

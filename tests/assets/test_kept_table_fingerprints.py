"""A table's fingerprint is taken once and kept: a sync whose writer of the table skips hashes
it no more; a writer that builds drops it, and the next reader hashes the new content, unless
the writer updated it through its plan's changes, which keep the new fingerprint."""

from collections import Counter

import dagster as dg
import pyarrow as pa
import pytest

from assets import step_work
from assets.metadata import part_tables
from assets.resources import Warehouse
from assets.step_work import plan_step, run_table_fingerprint
from warehouse.step_inputs import TABLES_TABLE, table_fingerprint, table_sum

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
    """How often each table was hashed whole (``table_sum``) by the steps."""
    counts: Counter = Counter()

    def counting(con, schema, table):
        counts[f"{schema}.{table}"] += 1
        return table_sum(con, schema, table)

    monkeypatch.setattr(step_work, "table_sum", counting)
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


@dg.asset(key=["raw", "feed"], metadata=part_tables("raw.feed_parts"))
def incremental_writer(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    """A writer that updates its table in place on a delta, through the plan's changes, and
    writes a part table whole."""
    plan = plan_step(context, warehouse, "raw.feed", data=[SOURCE["values"]], incremental=True)
    if not plan.skip:
        with warehouse.connect() as con:
            if plan.incremental:
                con.register("source", pa.table({"v": SOURCE["values"]}))
                plan.changes.execute(
                    con, "raw.feed", "DELETE FROM raw.feed WHERE v NOT IN (FROM source)"
                )
                plan.changes.execute(
                    con,
                    "raw.feed",
                    "INSERT INTO raw.feed FROM source WHERE v NOT IN (FROM raw.feed)",
                )
                con.unregister("source")
            else:
                con.execute("CREATE OR REPLACE TABLE raw.feed (v VARCHAR)")
                con.executemany("INSERT INTO raw.feed VALUES (?)", [[v] for v in SOURCE["values"]])
            con.execute(
                "CREATE OR REPLACE TABLE raw.feed_parts AS SELECT count(*) AS n FROM raw.feed"
            )
        plan.done(warehouse, context.run_id)
    return dg.MaterializeResult(metadata=plan.metadata())


def kept_runs(warehouse: Warehouse) -> dict[str, str]:
    with warehouse.connect() as con:
        return dict(con.execute(f"SELECT table_name, run_id FROM {TABLES_TABLE}").fetchall())


def test_a_table_its_writer_updated_through_its_changes_is_not_hashed_again(warehouse, hashed):
    sync(warehouse, ["a", "b"], assets=(incremental_writer, reader))  # built whole: hashed
    sync(warehouse, ["a", "c", "d"], assets=(incremental_writer, reader))  # a delta
    sync(warehouse, ["d", "e"], assets=(incremental_writer, reader))
    assert hashed["raw.feed"] == 1
    assert [work for work, _ in SEEN] == ["full", "full", "full"]
    assert SEEN[-1][1] == content(warehouse)
    assert len({fp for _, fp in SEEN}) == 3


def test_a_writer_without_a_kept_fingerprint_to_start_from_leaves_its_readers_to_hash(
    warehouse, hashed
):
    sync(warehouse, ["a"], assets=(incremental_writer,))  # no reader: nothing kept
    sync(warehouse, ["a", "b"], assets=(incremental_writer, reader))
    assert hashed["raw.feed"] == 1
    assert SEEN[-1] == ("full", content(warehouse))
    sync(warehouse, ["b"], assets=(incremental_writer, reader))  # its reader kept one
    assert hashed["raw.feed"] == 1
    assert SEEN[-1] == ("full", content(warehouse))


def test_a_writer_that_builds_drops_the_fingerprints_of_its_part_tables(warehouse, hashed):
    @dg.asset(key=["staging", "parts"], deps=[incremental_writer])
    def parts_reader(context: dg.AssetExecutionContext, warehouse: Warehouse):
        plan = plan_step(context, warehouse, "staging.parts", tables=["raw.feed_parts"])
        if not plan.skip:
            plan.done(warehouse, context.run_id)
        return dg.MaterializeResult(metadata=plan.metadata())

    sync(warehouse, ["a"], assets=(incremental_writer, parts_reader))
    assert "raw.feed_parts" in kept_runs(warehouse)
    sync(warehouse, ["a", "b"], assets=(incremental_writer,))  # writes its part table again
    assert "raw.feed_parts" not in kept_runs(warehouse)

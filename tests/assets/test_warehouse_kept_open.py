"""A run keeps its warehouse open from the first step to the last, so the steps' connections
share one opened database, and closes it when the run ends, whether it succeeded or not."""

import dagster as dg
import duckdb

from assets.resources import Warehouse


def _threads_setting_across_connections(warehouse: Warehouse) -> int:
    """Set a database-wide setting on one connection, close it, read it on the next."""
    with warehouse.connect() as con:
        con.execute("SET GLOBAL threads = 7")
        con.execute("CREATE OR REPLACE TABLE staging.seen AS SELECT 1 AS x")
    with warehouse.connect() as con:
        return int(con.execute("SELECT current_setting('threads')").fetchone()[0])


def test_the_steps_of_a_run_share_one_opened_warehouse(tmp_path):
    path = tmp_path / "out" / "warehouse.duckdb"
    seen: dict[str, int] = {}

    @dg.asset
    def first(warehouse: Warehouse) -> None:
        seen["first"] = _threads_setting_across_connections(warehouse)

    @dg.asset(deps=[first])
    def second(warehouse: Warehouse) -> None:
        with warehouse.connect() as con:
            seen["second"] = int(con.execute("SELECT current_setting('threads')").fetchone()[0])

    result = dg.materialize([first, second], resources={"warehouse": Warehouse(database=str(path))})

    assert result.success
    # the database stayed open between the connections and between the steps
    assert seen == {"first": 7, "second": 7}
    # and is closed after the run: another configuration (read only) can open it, with the
    # steps' writes in it
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT x FROM staging.seen").fetchall() == [(1,)]


def test_a_failed_run_closes_the_warehouse_too(tmp_path):
    path = tmp_path / "out" / "warehouse.duckdb"

    @dg.asset
    def writes_then_fails(warehouse: Warehouse) -> None:
        with warehouse.connect() as con:
            con.execute("CREATE TABLE staging.written AS SELECT 42 AS x")
        raise RuntimeError("the step fails after writing")

    result = dg.materialize(
        [writes_then_fails],
        resources={"warehouse": Warehouse(database=str(path))},
        raise_on_error=False,
    )

    assert not result.success
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT x FROM staging.written").fetchall() == [(42,)]


def test_a_memory_limit_bounds_the_opened_warehouse_for_every_step(tmp_path):
    path = tmp_path / "out" / "warehouse.duckdb"
    seen: list[str] = []

    def read(warehouse: Warehouse) -> None:
        with warehouse.connect() as con:
            seen.append(con.execute("SELECT current_setting('memory_limit')").fetchone()[0])

    first = dg.asset(name="first")(read)
    second = dg.asset(name="second", deps=[first])(read)

    resources = {"warehouse": Warehouse(database=str(path), memory_limit="512MiB")}
    assert dg.materialize([first, second], resources=resources).success
    assert seen == ["512.0 MiB", "512.0 MiB"]
    # a run without the setting has DuckDB's own limit again
    seen.clear()
    assert dg.materialize([first], resources={"warehouse": Warehouse(database=str(path))}).success
    assert seen and seen[0] != "512.0 MiB"


def test_the_layers_schemas_are_made_once_a_run_and_at_every_connection_outside_one(tmp_path):
    path = tmp_path / "out" / "warehouse.duckdb"
    warehouse = Warehouse(database=str(path))
    layers = "SELECT count(*) FROM duckdb_schemas() WHERE schema_name IN ('raw', 'staging', 'matching', 'master', 'marts')"
    seen: list[int] = []

    @dg.asset
    def reads(warehouse: Warehouse) -> None:
        with warehouse.connect() as con:
            seen.append(con.execute(layers).fetchone()[0])
            con.execute("DROP SCHEMA marts")  # not made again within the run
        with warehouse.connect() as con:
            seen.append(con.execute(layers).fetchone()[0])

    assert dg.materialize([reads], resources={"warehouse": warehouse}).success
    assert seen == [5, 4]
    with warehouse.connect() as con:  # outside a run: made at the connection
        assert con.execute(layers).fetchone()[0] == 5
    seen.clear()
    assert dg.materialize([reads], resources={"warehouse": warehouse}).success
    assert seen == [5, 4]  # and by the next run, whatever the last one left

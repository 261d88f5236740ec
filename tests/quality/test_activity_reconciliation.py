"""Every staged row of an activity feed is kept in its mart or quarantined: a blocking check
on ``marts.<kind>`` that stops what reads the mart when rows go missing, its result kept as
JSON (it replaced an exception raised inside the marts asset)."""

import json

import dagster as dg
import duckdb
import yaml

from assets.marts import ACTIVITY_CHECKS, ORDERS
from assets.resources import Deployment, Warehouse
from quality.reconciliation import check_marts_reconciliation
from sources.activity_schema import ORDERS as ORDER_KIND
from warehouse.marts.activity import reconcile_marts

FEED = "dealers_orders"


def write_config(tmp_path):
    source = {
        "name": "dealers",
        "kind": "dealer",
        "path": "exports/*.csv",
        "entity_type": "company",
        "columns": {"source_record_id": "id", "name": "name"},
    }
    orders = {
        "name": FEED,
        "customer_source": "dealers",
        "path": "orders/*.csv",
        "columns": {
            "order_id": "order_id",
            "source_record_id": "customer_id",
            "order_date": "date",
            "amount": "amount",
        },
    }
    path = tmp_path / "customer_master.yaml"
    path.write_text(
        yaml.safe_dump({"output_dir": "out", "sources": [source], "orders": [orders]}),
        encoding="utf-8",
    )
    return path


def build_tables(con: duckdb.DuckDBPyConnection, kept: int, quarantined: int) -> None:
    """Four order rows received by staging (three staged, one quarantined there)."""
    for schema in ("staging", "marts"):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    con.execute(f"CREATE OR REPLACE TABLE staging.orders AS SELECT '{FEED}' AS feed FROM range(3)")
    con.execute(f"CREATE OR REPLACE TABLE staging.orders_quarantine AS SELECT '{FEED}' AS feed")
    con.execute(
        f"CREATE OR REPLACE TABLE marts.orders AS SELECT '{FEED}' AS feed FROM range({kept})"
    )
    con.execute(
        "CREATE OR REPLACE TABLE marts.orders_quarantine AS "
        f"SELECT '{FEED}' AS feed FROM range({quarantined})"
    )


def check(con: duckdb.DuckDBPyConnection):
    return check_marts_reconciliation(reconcile_marts(con, ORDER_KIND), "marts.orders")


def test_received_rows_equal_kept_plus_quarantined():
    con = duckdb.connect()
    build_tables(con, kept=2, quarantined=2)
    assert check(con).passed
    build_tables(con, kept=2, quarantined=1)
    outcome = check(con)
    assert (outcome.name, outcome.passed, outcome.severity) == ("rows_reconcile", False, "error")
    assert outcome.description == f"marts.orders does not reconcile: {FEED} (+1)"
    assert outcome.metadata["per_feed"] == [
        {"feed": FEED, "received": 4, "kept": 2, "quarantined": 1}
    ]


@dg.asset(deps=[ORDERS])
def customer_value_stand_in() -> None:
    """Reads marts.orders."""


def materialise(tmp_path, kept: int, quarantined: int) -> dg.ExecuteInProcessResult:
    @dg.asset(key=ORDERS)
    def orders(warehouse: Warehouse) -> None:
        with warehouse.connect() as con:
            build_tables(con, kept, quarantined)

    return dg.materialize(
        [orders, customer_value_stand_in, ACTIVITY_CHECKS],
        resources={
            "deployment": Deployment(config_path=str(write_config(tmp_path))),
            "warehouse": Warehouse(database=str(tmp_path / "out" / "warehouse.duckdb")),
        },
        raise_on_error=False,
    )


def materialised(result: dg.ExecuteInProcessResult) -> set[dg.AssetKey]:
    return {e.asset_key for e in result.get_asset_materialization_events()}


def test_rows_missing_from_an_activity_mart_block_what_reads_it(tmp_path):
    result = materialise(tmp_path, kept=2, quarantined=1)
    (evaluation,) = result.get_asset_check_evaluations()
    assert (evaluation.asset_key, evaluation.check_name, evaluation.passed) == (
        ORDERS,
        "rows_reconcile",
        False,
    )
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert materialised(result) == {ORDERS}
    (stored,) = (tmp_path / "out" / "quality").glob("*/marts.orders.rows_reconcile.json")
    record = json.loads(stored.read_text("utf-8"))
    assert record["asset"] == "marts/orders" and record["passed"] is False


def test_an_activity_mart_that_reconciles_lets_the_run_carry_on(tmp_path):
    result = materialise(tmp_path, kept=3, quarantined=1)
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())
    assert dg.AssetKey("customer_value_stand_in") in materialised(result)

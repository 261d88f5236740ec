"""Key problems are a matter of quarantine, through Dagster: an order line sent twice is
quarantined and the raw key check warns; the sync stops only when a feed's quarantined share
passes ``quality.max_quarantined_share`` (or a tolerance set in ``max_duplicate_key_share``)."""

import csv
from pathlib import Path

import dagster as dg
import duckdb
import yaml

from assets.activity import ACTIVITY_STAGING_CHECKS, build_activity_assets, staged_activity_key
from assets.raw import build_raw_assets, build_raw_checks
from assets.resources import Deployment, Warehouse
from sources.config import load_config

ORDERS = staged_activity_key("orders")


@dg.asset(deps=[ORDERS])
def customer_roles_stand_in() -> None:
    """Reads staging.orders, as the roles and the marts do."""


def deployment(tmp_path: Path, repeats: int, quality: dict | None = None) -> Path:
    """200 orders of one customer source, ``repeats`` of them sent a second time."""
    exports = tmp_path / "exports"
    exports.mkdir()
    with (exports / "customers.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["id", "name"], ["D1", "甲公司"]])
    lines = [[f"S{i}", "D1", "2026-09-01", "¥1,200"] for i in range(200)]
    with (exports / "orders.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(
            [["order_no", "customer", "date", "amount"], *lines, *lines[:repeats]]
        )
    config = {
        "output_dir": "out",
        "sources": [{"name": "dealers", "kind": "dealer", "path": "exports/customers.csv",
                     "entity_type": "company", "columns": {"source_record_id": "id", "name": "name"}}],
        "orders": [{"name": "dealers_orders", "customer_source": "dealers", "path": "exports/orders.csv",
                    "columns": {"order_id": "order_no", "source_record_id": "customer",
                                "order_date": "date", "amount": "amount"}}],
        "quality": quality or {},
    }  # fmt: skip
    path = tmp_path / "customer_master.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def sync(config_path: Path) -> dg.ExecuteInProcessResult:
    """Raw feeds, their raw checks, the staged activity and its checks, and a reader."""
    config = load_config(config_path)
    return dg.materialize(
        [*build_raw_assets(config), *build_raw_checks(config), *build_activity_assets(config),
         ACTIVITY_STAGING_CHECKS, customer_roles_stand_in],
        resources={
            "deployment": Deployment(config_path=str(config_path)),
            "warehouse": Warehouse(database=str(config.warehouse_path)),
        },
        raise_on_error=False,
    )  # fmt: skip


def verdicts(result: dg.ExecuteInProcessResult) -> dict[str, tuple[bool, str]]:
    return {
        f"{e.asset_key.to_user_string()} · {e.check_name}": (e.passed, e.severity.value)
        for e in result.get_asset_check_evaluations()
        if e.asset_key.path[-1] in ("dealers_orders", "orders")
    }


def built(result: dg.ExecuteInProcessResult) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def test_an_order_line_sent_twice_is_quarantined_and_the_sync_carries_on(tmp_path):
    config_path = deployment(tmp_path, repeats=1)  # 1 of 201 rows: 0.5%

    result = sync(config_path)

    assert verdicts(result) == {
        "raw/dealers_orders · required_columns_present": (True, "ERROR"),
        "raw/dealers_orders · order_id_unique": (False, "WARN"),
        "raw/dealers_orders · rows_vs_previous_run": (True, "ERROR"),
        "staging/orders · rows_reconcile": (True, "ERROR"),
        "staging/orders · quarantined_share": (True, "ERROR"),
    }
    assert "customer_roles_stand_in" in built(result)
    warehouse = load_config(config_path).warehouse_path
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.sql("SELECT count(*) FROM staging.orders").fetchall() == [(200,)]
        assert con.sql("SELECT reason FROM staging.orders_quarantine").fetchall() == [
            ("dealers_orders: exports/orders.csv row 202: order_id: "
             "'S0' repeats row 2 of exports/orders.csv exactly",)
        ]  # fmt: skip


def test_a_feed_quarantined_past_the_limit_stops_what_reads_it(tmp_path):
    result = sync(deployment(tmp_path, repeats=10))  # 10 of 210 rows: 4.8%

    assert verdicts(result)["staging/orders · quarantined_share"] == (False, "ERROR")
    assert verdicts(result)["staging/orders · rows_reconcile"] == (True, "ERROR")
    assert "staging/orders" in built(result)
    assert "customer_roles_stand_in" not in built(result)
    evaluation = next(
        e for e in result.get_asset_check_evaluations() if e.check_name == "quarantined_share"
        and e.asset_key == ORDERS
    )  # fmt: skip
    assert "dealers_orders (10 of 210, 4.8%)" in evaluation.description


def test_the_limit_is_configurable_and_a_duplicate_key_tolerance_still_holds(tmp_path):
    for quality in ({"max_quarantined_share": 0.05}, {"max_duplicate_key_share": 0.05}):
        folder = tmp_path / next(iter(quality))
        folder.mkdir()
        result = sync(deployment(folder, repeats=10, quality=quality))
        assert verdicts(result)["staging/orders · quarantined_share"] == (True, "ERROR")
        assert "customer_roles_stand_in" in built(result)

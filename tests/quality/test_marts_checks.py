"""The marts checks as Dagster asset checks, wired to stand-in mart assets: a segment outside
its value set blocks what reads the mart, and the result is kept as JSON."""

import json

import dagster as dg
import yaml

from assets.marts import build_marts_checks
from assets.resources import Deployment, Warehouse

VALUE = dg.AssetKey(["marts", "customer_value"])
LIFECYCLE = dg.AssetKey(["marts", "customer_lifecycle"])


def mart_asset(key: dg.AssetKey, sql: str) -> dg.AssetsDefinition:
    @dg.asset(key=key)
    def _mart(warehouse: Warehouse) -> None:
        with warehouse.connect() as con:
            con.execute(f"CREATE OR REPLACE TABLE {'.'.join(key.path)} AS {sql}")

    return _mart


@dg.asset(deps=[VALUE])
def followup_list() -> None:
    """Reads marts.customer_value."""


def materialise(tmp_path, value_sql: str) -> dg.ExecuteInProcessResult:
    config = tmp_path / "customer_master.yaml"
    source = {
        "name": "dealers",
        "kind": "dealer",
        "path": "exports/*.csv",
        "entity_type": "company",
        "columns": {"source_record_id": "id", "name": "name"},
    }
    config.write_text(yaml.safe_dump({"output_dir": "out", "sources": [source]}), encoding="utf-8")
    return dg.materialize(
        [
            mart_asset(VALUE, value_sql),
            mart_asset(LIFECYCLE, "SELECT 'CM1' AS customer_id, 'dormant' AS stage"),
            followup_list,
            *build_marts_checks(),
        ],
        resources={
            "deployment": Deployment(config_path=str(config)),
            "warehouse": Warehouse(database=str(tmp_path / "out" / "warehouse.duckdb")),
        },
        raise_on_error=False,
    )


def verdicts(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], bool]:
    return {
        (e.asset_key.to_user_string(), e.check_name): e.passed
        for e in result.get_asset_check_evaluations()
    }


def test_a_segment_outside_its_value_set_blocks_what_reads_the_mart(tmp_path):
    result = materialise(
        tmp_path, "SELECT * FROM (VALUES ('CM1', 'A'), ('CM2', 'Z')) t(customer_id, abc_class)"
    )
    assert verdicts(result) == {
        ("marts/customer_value", "segments_in_value_sets"): False,
        ("marts/customer_lifecycle", "segments_in_value_sets"): True,
    }
    assert result.get_asset_materialization_events()  # the marts themselves were built
    assert dg.AssetKey("followup_list") not in {
        e.asset_key for e in result.get_asset_materialization_events()
    }
    (stored,) = (tmp_path / "out" / "quality").glob(
        "*/marts.customer_value.segments_in_value_sets.json"
    )
    record = json.loads(stored.read_text("utf-8"))
    assert record["metadata"]["failing_expectations"][0]["examples"] == [
        {"abc_class": "Z", "customer_id": "CM2"}
    ]


def test_valid_marts_let_the_run_carry_on(tmp_path):
    result = materialise(tmp_path, "SELECT 'CM1' AS customer_id, 'B' AS abc_class")
    assert result.success and all(verdicts(result).values())
    assert dg.AssetKey("followup_list") in {
        e.asset_key for e in result.get_asset_materialization_events()
    }

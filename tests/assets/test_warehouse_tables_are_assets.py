"""Every table a sync writes is an asset, or named in an asset's metadata as part of it
(``assets.metadata.PART_TABLES``), and every check of the deployment keeps its result as
JSON in ``<output_dir>/quality/<run_id>/``: the shared demo, synced once with its checks."""

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from assets.metadata import PART_TABLES, SYNC_TABLES
from pipelines.definitions import build_definitions
from pipelines.runner import RunOutcome


@pytest.fixture
def demo(demo_run) -> Path:
    """The shared demo after one whole pipeline run with its checks (read only)."""
    return demo_run.folder


@pytest.fixture
def synced(demo_run) -> RunOutcome:
    return demo_run.outcome


@pytest.fixture
def defs(demo) -> dg.Definitions:
    return build_definitions(demo / "customer_master.yaml")


def warehouse_tables(demo: Path) -> set[str]:
    con = duckdb.connect(str(demo / "out" / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database()"
        ).fetchall()
    finally:
        con.close()
    return {f"{schema}.{table}" for schema, table in rows}


def declared_tables(defs: dg.Definitions) -> tuple[set[str], dict[str, set[str]]]:
    """The tables of the asset keys, and each table named as part of an asset (by whom)."""
    own, parts = set(), {}
    for spec in defs.resolve_all_asset_specs():
        own.add(".".join(spec.key.path))
        named = spec.metadata.get(PART_TABLES)
        for table in getattr(named, "value", named) or []:
            parts.setdefault(table, set()).add(spec.key.to_user_string())
    return own, parts


def test_every_table_of_the_warehouse_is_an_asset_or_part_of_one(demo, synced, defs):
    own, parts = declared_tables(defs)
    tables = warehouse_tables(demo)
    assert {"raw.dealers", "staging.customers", "master.customers", "marts.customer_360"} <= tables
    assert sorted(tables - own - set(parts) - set(SYNC_TABLES)) == []


def test_the_tables_written_beside_an_asset_are_named_in_its_metadata(demo, synced, defs):
    _own, parts = declared_tables(defs)
    assert parts["matching.cut_links"] == {"matching/clusters"}
    assert parts["matching.decision_conflicts"] == {"matching/clusters"}
    assert parts["matching.rule_links"] == {"matching/clusters"}
    assert parts["master.customer_ids"] == {"master/customer_id_events"}
    assert parts["raw.dealers__rejected"] == {"raw/dealers"}
    assert "raw/dealers_orders" in parts["quality.feed_row_counts"]
    # a part is a table the sync really writes, not a name that drifted away from the code
    assert set(parts) <= warehouse_tables(demo)


def test_every_check_keeps_its_result_as_json(synced, defs):
    planned = {
        f"{'.'.join(key.asset_key.path)}.{key.name}.json"
        for key in defs.resolve_asset_graph().asset_check_keys
    }
    stored = {p.name for p in synced.quality_dir.glob("*.json")} - {"summary.json"}
    assert len(planned) == len(synced.checks) > 30
    assert stored == planned
    assert {c.status for c in synced.checks} <= {"passed", "warned"}

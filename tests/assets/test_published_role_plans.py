"""The publish step plans each role's files table by table: a sync that changed one published
table cuts that table again for every role and keeps the role's files of the others."""

from pathlib import Path

import dagster as dg
import duckdb
import yaml

from assets.publish import PUBLISHED, build_publish_asset
from assets.resources import Deployment, Warehouse
from sources.config import load_config

SOURCE = {
    "name": "dealers",
    "kind": "dealer",
    "path": "d/*.csv",
    "entity_type": "company",
    "columns": {"source_record_id": "id", "name": "name"},
}
TABLES = ["master.customers", "master.customer_roles"]


def build_warehouse(path: Path) -> None:
    """Two customers of one dealer record each, and their roles."""
    path.parent.mkdir(parents=True)
    with duckdb.connect(str(path)) as con:
        for schema in ("master", "staging"):
            con.execute(f"CREATE SCHEMA {schema}")
        con.execute(
            "CREATE TABLE master.customers AS SELECT * FROM (VALUES "
            "('C1', '厦门一号公司', '福建省', '13812345678'), "
            "('C2', '广州二号公司', '广东省', '13912345678')) t(customer_id, name, province, mobile)"
        )
        con.execute(
            "CREATE TABLE staging.customers AS SELECT * FROM (VALUES "
            "('dealers:1', 'dealers', '福建省'), ('dealers:2', 'dealers', '广东省')) "
            "t(record_key, source, province)"
        )
        con.execute(
            "CREATE TABLE master.customer_xref AS SELECT * FROM (VALUES "
            "('dealers:1', 'C1', NULL::TIMESTAMP), ('dealers:2', 'C2', NULL::TIMESTAMP)) "
            "t(record_key, customer_id, valid_to)"
        )
        con.execute(
            "CREATE TABLE master.customer_roles AS SELECT * FROM (VALUES "
            "('C1', 'customer', '3 orders'), ('C2', 'prospect', 'no order')) "
            "t(customer_id, role, evidence)"
        )


def test_a_changed_table_is_cut_again_for_each_role_and_the_others_files_are_kept(tmp_path):
    config_path = tmp_path / "customer_master.yaml"
    access = {
        "tokens_file": "tokens.yaml",
        "roles": [
            {"name": "fujian_office", "rows": {"province": ["福建省"]}, "pii": "masked"},
            {"name": "analysts", "pii": "full"},
        ],
    }

    def configure() -> None:
        config_path.write_text(
            yaml.safe_dump({"sources": [SOURCE], "publish": {"tables": TABLES}, "access": access}),
            encoding="utf-8",
        )

    configure()
    config = load_config(config_path)
    build_warehouse(config.warehouse_path)
    builders = [dg.AssetSpec(dg.AssetKey(t.split("."))) for t in TABLES]
    published = build_publish_asset(config, [dg.AssetsDefinition(specs=[s]) for s in builders])

    def sync() -> dict[str, int]:
        resources = {  # the config read again at every sync
            "deployment": Deployment(config_path=str(config_path)),
            "warehouse": Warehouse(database=str(config.warehouse_path)),
        }
        assert dg.materialize([published], resources=resources, selection=[PUBLISHED]).success
        return {
            f"{p.parent.name}/{p.name}": p.stat().st_ino
            for p in config.role_exports_path.glob("*/*.parquet")
        }

    first = sync()
    assert set(first) == {
        f"{role}/{table}.parquet"
        for role in ("fujian_office", "analysts")
        for table in ("customers", "customer_roles")
    }
    assert sync() == first  # nothing changed: every role's file kept
    with duckdb.connect(str(config.warehouse_path)) as con:
        con.execute("UPDATE master.customer_roles SET role = 'customer' WHERE customer_id = 'C2'")
    third = sync()
    for role in ("fujian_office", "analysts"):
        assert third[f"{role}/customers.parquet"] == first[f"{role}/customers.parquet"]
        assert third[f"{role}/customer_roles.parquet"] != first[f"{role}/customer_roles.parquet"]
    access["roles"][0]["pii"] = "full"  # a role's config changed: its every file again
    configure()
    fourth = sync()
    for table in ("customers", "customer_roles"):
        assert fourth[f"fujian_office/{table}.parquet"] != third[f"fujian_office/{table}.parquet"]
        assert fourth[f"analysts/{table}.parquet"] == third[f"analysts/{table}.parquet"]
    analysts = config.role_exports_path / "analysts" / "customer_roles.parquet"
    assert duckdb.sql(f"SELECT role FROM '{analysts}' ORDER BY customer_id").fetchall() == [
        ("customer",),
        ("customer",),
    ]

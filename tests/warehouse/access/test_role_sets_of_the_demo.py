"""Role sets published from the shared demo's warehouse (``demo_run``): every published
table, cut and masked, on real master tables and marts; the same bytes twice."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from sources.config import RoleConfig, load_config
from warehouse.access import publish_role_sets
from warehouse.access.masking import PII_COLUMNS
from warehouse.publish import read_manifest
from warehouse.views import CURRENT_RECORDS

WHEN = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
ROLES = [
    RoleConfig(name="fujian_office", rows={"province": ["福建省"]}, pii="masked"),
    RoleConfig(name="key_accounts", rows={"source": ["key_accounts"]}, pii="full"),
]
RECORD_KEY = re.compile(r"(?:dealers|key_accounts|regional):[^\s,;'\"\]]+")
MASKED = re.compile(r"^(\+86)?\d{0,3}\*+\d{2,4}$|^.{0,4}\*+.{0,4}$|^.\*\*\*(@.*)?$")


@pytest.fixture(scope="module")
def published(demo_run, tmp_path_factory):
    config = load_config(demo_run.folder / "customer_master.yaml")
    root = tmp_path_factory.mktemp("roles")
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        first = publish_role_sets(con, ROLES, config.publish.tables, root / "a", "run-1", WHEN)
        publish_role_sets(con, ROLES, config.publish.tables, root / "b", "run-2", WHEN)
        fujian = {
            row[0]
            for row in con.execute(
                "SELECT customer_id FROM master.customers WHERE province = '福建省' OR customer_id IN "
                f"(SELECT customer_id FROM {CURRENT_RECORDS} WHERE province = '福建省')"
            ).fetchall()
        }
        everyone = {
            row[0] for row in con.execute("SELECT customer_id FROM master.customers").fetchall()
        }
        owners = dict(
            con.execute(f"SELECT record_key, customer_id FROM {CURRENT_RECORDS}").fetchall()
        )
        derived = dict(
            con.execute(
                f"SELECT record_key, derived_from_record_key FROM {CURRENT_RECORDS}"
            ).fetchall()
        )
    seen = {  # the Fujian office's records: its customers', less contacts of others' records
        key
        for key, customer in owners.items()
        if customer in fujian and (derived[key] is None or owners[derived[key]] in fujian)
    }
    return config, root, first, fujian, everyone, seen


def test_every_published_table_is_in_each_role_set_or_withheld_with_a_reason(published):
    config, root, first, _, _, _ = published
    for role in ROLES:
        manifest = read_manifest(root / "a" / role.name)
        names = {t.split(".", 1)[1] for t in config.publish.tables}
        assert set(manifest["tables"]) | set(manifest["withheld"]) == names
        assert all(manifest["withheld"].values())
        assert (root / "a" / role.name / manifest["database"]).is_file()
    fujian = read_manifest(root / "a" / "fujian_office")
    assert "sales_by_region_product_month" in fujian["tables"]  # filtered on its province
    assert "lead_funnel" in fujian["withheld"]  # counted by source: cannot be cut by province
    assert fujian["withheld"]["lead_funnel"] == (
        "an aggregate with no customer key and no province column: its figures count "
        "customers outside this role's scope and cannot be cut to its own"
    )
    key_accounts = read_manifest(root / "a" / "key_accounts")
    assert "lead_funnel" in key_accounts["tables"]  # counted by source: cut to key_accounts
    assert {"sales_by_region_product_month", "sales_forecast"} <= set(key_accounts["withheld"])


def test_docs_name_every_table_a_role_may_be_refused_and_why(published):
    _, root, _, _, _, _ = published
    doc = (Path(__file__).parents[3] / "docs" / "access.md").read_text(encoding="utf-8")
    withheld = {
        name for role in ROLES for name in read_manifest(root / "a" / role.name)["withheld"]
    }
    assert withheld
    for name in withheld:
        assert f"`{name}`" in doc, name


def test_the_fujian_set_holds_only_its_customers_masked(published):
    _, root, first, fujian, everyone, seen = published
    folder = root / "a" / "fujian_office"
    outside = everyone - fujian
    for table in first["fujian_office"].tables:
        rows = pq.read_table(folder / table.file).to_pylist()
        for row in rows:
            ids = {v for k, v in row.items() if k.endswith("customer_id") and v}
            assert not ids & outside, (table.name, ids & outside)
            text = " ".join(str(v) for v in row.values())
            assert set(RECORD_KEY.findall(text)) <= seen, (table.name, row)
            for column, value in row.items():
                if PII_COLUMNS.get(column) in ("phone", "id_number", "email", "handle") and value:
                    assert MASKED.match(value), (table.name, column, value)
                if column in ("birth_date",) and value:
                    assert re.fullmatch(r"\d{4}", value)
                if column == "address_detail":
                    assert value is None
    sales = pq.read_table(folder / "sales_by_region_product_month.parquet")
    assert set(sales.column("province").to_pylist()) == {"福建省"}


def test_masked_role_sets_rerun_byte_identical(published):
    _, root, first, _, _, _ = published
    for role in ROLES:
        for table in first[role.name].tables:
            a = (root / "a" / role.name / table.file).read_bytes()
            assert a == (root / "b" / role.name / table.file).read_bytes(), table.file

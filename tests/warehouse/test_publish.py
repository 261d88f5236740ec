"""Publishing: Parquet files and a manifest, whole or not at all, the same bytes for the same rows."""

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

import warehouse.publish as publish
from warehouse.publish import MANIFEST, publish_tables, read_manifest

WHEN = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
TABLES = ["master.customers", "master.relationships"]


@pytest.fixture
def con(tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("CREATE SCHEMA master")
    con.execute(
        """CREATE TABLE master.customers AS SELECT * FROM (VALUES
             ('CM00000002', 'person', '张伟', DATE '1985-03-12', ['regional']),
             ('CM00000001', 'company', '厦门洪来文印店', NULL, ['dealers', 'regional'])
           ) t(customer_id, entity_type, name, birth_date, sources)"""
    )
    con.execute(
        """CREATE TABLE master.relationships AS SELECT * FROM (VALUES
             ('CM00000001', 'CM00000002', 'employment', 1.0)
           ) t(from_customer_id, to_customer_id, relationship_type, confidence)"""
    )
    yield con
    con.close()


def files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_every_table_is_exported_with_a_manifest(con, tmp_path):
    exports = tmp_path / "exports"
    publication = publish_tables(con, TABLES, exports, "run-1", WHEN)

    assert sorted(p.name for p in exports.iterdir()) == [
        MANIFEST,
        "customers.parquet",
        "relationships.parquet",
    ]
    manifest = read_manifest(exports)
    assert manifest == publication.manifest()
    assert manifest["run_id"] == "run-1" and manifest["published_at"] == "2026-11-23T06:00:00+00:00"
    customers = manifest["tables"]["customers"]
    assert customers["table"] == "master.customers" and customers["rows"] == 2
    assert customers["columns"] == {
        "customer_id": "VARCHAR",
        "entity_type": "VARCHAR",
        "name": "VARCHAR",
        "birth_date": "DATE",
        "sources": "VARCHAR[]",
    }
    # rows sorted by their first column, whatever order the table holds them in
    ids = duckdb.sql(f"SELECT customer_id FROM '{exports / 'customers.parquet'}'").fetchall()
    assert ids == [("CM00000001",), ("CM00000002",)]
    # files are readable by the tools they are published for, not only by their writer
    for path in exports.iterdir():
        assert path.stat().st_mode & stat.S_IRGRP


def test_same_rows_give_the_same_bytes_whatever_their_order(con, tmp_path):
    first = publish_tables(con, TABLES, tmp_path / "a", "run-1", WHEN)
    con.execute("CREATE OR REPLACE TABLE master.customers AS FROM master.customers ORDER BY name")
    second = publish_tables(con, TABLES, tmp_path / "b", "run-2", WHEN)

    assert [t.sha256 for t in first.tables] == [t.sha256 for t in second.tables]
    a, b = files(tmp_path / "a"), files(tmp_path / "b")
    assert a["customers.parquet"] == b["customers.parquet"]
    manifests = [json.loads(f[MANIFEST]) for f in (a, b)]
    assert manifests[0]["run_id"] != manifests[1]["run_id"]
    for manifest in manifests:
        manifest.pop("run_id")
    assert manifests[0] == manifests[1]


def test_a_missing_table_publishes_nothing(con, tmp_path):
    exports = tmp_path / "exports"
    publish_tables(con, TABLES, exports, "run-1", WHEN)
    before = files(exports)

    con.execute("INSERT INTO master.customers VALUES ('CM00000003', 'person', '李娜', NULL, [])")
    with pytest.raises(ValueError, match="master.customer_value"):
        publish_tables(con, [*TABLES, "master.customer_value"], exports, "run-2", WHEN)
    assert files(exports) == before


def test_a_failure_midway_leaves_the_previous_export_whole(con, tmp_path, monkeypatch):
    exports = tmp_path / "exports"
    publish_tables(con, TABLES, exports, "run-1", WHEN)
    before = files(exports)
    con.execute("INSERT INTO master.customers VALUES ('CM00000003', 'person', '李娜', NULL, [])")

    real_export = publish._export

    def export_then_fail(con, table, query, directory):
        if table == "master.relationships":
            raise OSError("disk full")
        return real_export(con, table, query, directory)

    monkeypatch.setattr(publish, "_export", export_then_fail)
    with pytest.raises(OSError, match="disk full"):
        publish_tables(con, TABLES, exports, "run-2", WHEN)
    # customers.parquet was written to a temporary name but never renamed; no temp file is left
    assert files(exports) == before


def test_leftovers_of_a_killed_run_are_removed(con, tmp_path):
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / ".customers.parquet.0a1b2c.tmp").write_bytes(b"half a file")
    publish_tables(con, TABLES, exports, "run-1", WHEN)
    assert not list(exports.glob(".*"))


def test_an_unchanged_table_keeps_its_file_and_the_manifest_is_that_of_a_full_export(
    con, tmp_path, monkeypatch
):
    kept, whole = tmp_path / "kept", tmp_path / "whole"
    publish_tables(con, TABLES, kept, "run-1", WHEN)
    con.execute(
        "INSERT INTO master.relationships VALUES ('CM00000002', 'CM00000001', 'family', 1.0)"
    )
    exported = []
    real_export = publish._export

    def counting_export(con, table, query, directory):
        exported.append(table)
        return real_export(con, table, query, directory)

    monkeypatch.setattr(publish, "_export", counting_export)
    publish_tables(con, TABLES, kept, "run-2", WHEN, unchanged={"master.customers"})
    assert exported == ["master.relationships"]  # customers.parquet was not written again
    publish_tables(con, TABLES, whole, "run-2", WHEN)
    assert files(kept) == files(whole)


def test_a_kept_file_that_is_not_the_published_one_is_exported_again(con, tmp_path):
    exports = tmp_path / "exports"
    publish_tables(con, TABLES, exports, "run-1", WHEN)
    before = files(exports)
    (exports / "customers.parquet").write_bytes(b"not what was published")

    publish_tables(con, TABLES, exports, "run-1", WHEN, unchanged=set(TABLES))
    assert files(exports) == before
    (exports / "relationships.parquet").unlink()
    publish_tables(con, TABLES, exports, "run-1", WHEN, unchanged=set(TABLES))
    assert files(exports) == before


def test_a_table_is_sorted_on_its_row_key_only_when_it_leads(con, tmp_path):
    """``ROW_KEYS``: sorting on the key gives the order of all columns; a table whose
    leading columns are not its key (another layout) is sorted on all of them."""
    con.execute(
        """CREATE TABLE master.customer_roles AS SELECT * FROM (VALUES
             ('prospect', 'CM00000002', 'b'), ('customer', 'CM00000002', 'a'),
             ('customer', 'CM00000001', 'c')
           ) t(role, customer_id, evidence)"""
    )
    exports = tmp_path / "exports"
    publish_tables(con, ["master.customer_roles", "master.customers"], exports, "run-1", WHEN)

    for name in ("customer_roles", "customers"):
        path = exports / f"{name}.parquet"
        assert (
            duckdb.sql(f"FROM '{path}'").fetchall()
            == duckdb.sql(f"FROM '{path}' ORDER BY ALL").fetchall()
        )
    assert publish._sort_order(con, "master.customers", "FROM master.customers") == '"customer_id"'
    assert publish._sort_order(con, "master.customer_roles", "FROM master.customer_roles") == "ALL"


def test_the_costliest_tables_start_first_and_the_manifest_keeps_the_config_order(
    con, tmp_path, monkeypatch
):
    con.execute(
        "CREATE TABLE master.wide AS SELECT range AS id, range AS a, range AS b FROM range(500)"
    )
    tables = [*TABLES, "master.wide"]
    costs = publish.export_costs(con, tables)
    assert costs["master.wide"] == 1500 and costs["master.customers"] == 10
    assert publish.largest_first(tables, costs) == [
        "master.wide",
        "master.customers",
        "master.relationships",
    ]
    # a table of unknown cost (a query, not a table) goes first; ties keep the given order
    assert publish.largest_first(["a", "b", "c"], {"a": 1, "b": 1}) == ["c", "a", "b"]
    started = []
    export = publish._export
    monkeypatch.setattr(publish, "_export", lambda *args: started.append(args[1]) or export(*args))
    monkeypatch.setattr(publish, "EXPORT_WORKERS", 1)  # one at a time: the order they start
    one_worker = publish_tables(con, tables, tmp_path / "one", "run-1", WHEN)
    assert list(one_worker.manifest()["tables"]) == ["customers", "relationships", "wide"]
    started.clear()
    monkeypatch.setattr(publish, "EXPORT_WORKERS", 2)
    two_workers = publish_tables(con, tables, tmp_path / "two", "run-1", WHEN)
    # two start at once, the largest two; the third waits for one of them
    assert set(started[:2]) == {"master.wide", "master.customers"}
    assert started[2] == "master.relationships"
    assert list(two_workers.manifest()["tables"]) == ["customers", "relationships", "wide"]
    assert files(tmp_path / "one") == files(tmp_path / "two")

"""The published tables are a contract: the exported Parquet files, their manifest and
docs/schema.md agree, column by column and type by type."""

import hashlib
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from pipelines.runner import PROJECT_ROOT
from sources.config import load_config
from warehouse.publish import MANIFEST, ROW_KEYS, read_manifest
from warehouse.schema_doc import compare, parse

SCHEMA_DOC = PROJECT_ROOT / "docs" / "schema.md"


@pytest.fixture
def published(demo_run, demo_for) -> tuple[Path, str]:
    """The shared demo after its one run: its export folder and the run that published it."""
    demo = demo_for(demo_run.folder)
    return load_config(demo / "customer_master.yaml").exports_path, demo_run.outcome.run_id


def parquet_schemas(exports: Path) -> dict[str, dict[str, str]]:
    """Table → column → type of every Parquet file in the folder, read from the files."""
    con = duckdb.connect()
    return {
        path.stem: {
            name: type_
            for name, type_, *_ in con.execute(f"DESCRIBE FROM read_parquet('{path}')").fetchall()
        }
        for path in sorted(exports.glob("*.parquet"))
    }


def test_exported_files_and_docs_schema_md_agree(published):
    exports, _ = published
    _, documented = parse(SCHEMA_DOC.read_text(encoding="utf-8"))
    problems = compare(documented, parquet_schemas(exports))
    assert not problems, (
        "docs/schema.md and the exported tables disagree (after a deliberate change run "
        "`custmaster schema-doc --write` and describe the new columns):\n  " + "\n  ".join(problems)
    )


def test_the_manifest_describes_the_files_beside_it(published):
    exports, run_id = published
    manifest = read_manifest(exports)
    config = load_config(exports.parent.parent / "customer_master.yaml")
    assert list(manifest["tables"]) == [t.split(".")[1] for t in config.publish.tables]
    assert manifest["run_id"] == run_id
    assert datetime.fromisoformat(manifest["published_at"]).tzinfo is not None
    schemas = parquet_schemas(exports)
    assert set(schemas) == set(manifest["tables"])
    con = duckdb.connect()
    for name, entry in manifest["tables"].items():
        path = exports / entry["file"]
        assert entry["columns"] == schemas[name]
        assert con.execute(f"SELECT count(*) FROM '{path}'").fetchone()[0] == entry["rows"]
        assert entry["bytes"] == path.stat().st_size
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert sorted(p.name for p in exports.iterdir()) == sorted(
        [MANIFEST, *(t["file"] for t in manifest["tables"].values())]
    )


def test_published_tables_hold_what_the_warehouse_holds(published):
    exports, _ = published
    manifest = read_manifest(exports)
    con = duckdb.connect(str(exports.parent / "warehouse.duckdb"), read_only=True)
    try:
        for entry in manifest["tables"].values():
            difference = con.execute(
                f"""SELECT count(*) FROM (
                      (FROM {entry["table"]} EXCEPT ALL FROM '{exports / entry["file"]}')
                      UNION ALL
                      (FROM '{exports / entry["file"]}' EXCEPT ALL FROM {entry["table"]}))"""
            ).fetchone()[0]
            assert difference == 0, entry["table"]
    finally:
        con.close()


def test_rows_are_sorted_on_all_columns_and_row_keys_identify_them(published):
    """Docs: rows are sorted by all columns. Tables of ``ROW_KEYS`` are sorted on their keys
    alone, which gives that order only while no two rows share a key."""
    exports, _ = published
    con = duckdb.connect()
    for name, entry in read_manifest(exports)["tables"].items():
        path = exports / entry["file"]
        as_written = con.execute(f"FROM read_parquet('{path}')").fetchall()
        assert as_written == con.execute(f"FROM read_parquet('{path}') ORDER BY ALL").fetchall()
        key = ROW_KEYS.get(entry["table"])
        if key is not None:
            assert list(entry["columns"])[: len(key)] == list(key), name
            distinct = con.execute(
                f"SELECT count(DISTINCT ({', '.join(key)})) FROM read_parquet('{path}')"
            ).fetchone()[0]
            assert distinct == entry["rows"], name

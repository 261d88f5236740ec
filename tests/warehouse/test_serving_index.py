"""Publishing the serving index: whole folders made current by one rename, a failure leaves
the current one, old folders pruned but the newest kept."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from warehouse.serving import (
    SERVING_INPUTS,
    SERVING_TABLES,
    publishing,
    read_pointer,
    read_table,
    write_tables,
)

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def publish(serving_dir: Path, run_id: str, at: datetime, keep: int = 2) -> Path:
    with publishing(serving_dir, run_id, at, keep=keep) as (folder, contents):
        (folder / "data.txt").write_text(run_id, encoding="utf-8")
        contents["note"] = run_id
    pointer = read_pointer(serving_dir)
    assert pointer is not None
    return pointer.folder


def test_nothing_published_reads_as_none(tmp_path):
    assert read_pointer(tmp_path) is None


def test_the_pointer_names_a_complete_folder_with_its_contents(tmp_path):
    folder = publish(tmp_path, "run-1", T0)
    pointer = read_pointer(tmp_path)
    assert pointer is not None and pointer.run_id == "run-1"
    assert (folder / "data.txt").read_text(encoding="utf-8") == "run-1"
    assert pointer.contents["note"] == "run-1" and pointer.contents["run_id"] == "run-1"
    assert not list(tmp_path.glob(".*"))  # no hidden folder left behind


def test_a_failure_midway_leaves_the_current_index_and_no_leftovers(tmp_path):
    publish(tmp_path, "run-1", T0)
    with (
        pytest.raises(RuntimeError),
        publishing(tmp_path, "run-2", T0 + timedelta(days=1)) as (
            folder,
            _,
        ),
    ):
        (folder / "data.txt").write_text("half", encoding="utf-8")
        raise RuntimeError("the sync died here")
    pointer = read_pointer(tmp_path)
    assert pointer is not None and pointer.run_id == "run-1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["20261201T060000-run-1", "CURRENT.json"]


def test_old_indexes_are_pruned_keeping_the_newest(tmp_path):
    for day in range(4):
        publish(tmp_path, f"run-{day}", T0 + timedelta(days=day), keep=2)
    folders = sorted(p.name for p in tmp_path.iterdir() if p.is_dir())
    assert folders == ["20261203T060000-run-2", "20261204T060000-run-3"]
    pointer = read_pointer(tmp_path)
    assert pointer is not None and pointer.run_id == "run-3"


def test_every_serving_table_is_written_from_the_warehouse(tmp_path):
    con = duckdb.connect()
    con.execute(
        "CREATE SCHEMA master; CREATE SCHEMA marts; CREATE SCHEMA staging; CREATE SCHEMA matching"
    )
    for name, query in SERVING_TABLES.items():
        if name != "records":
            con.execute(f"CREATE TABLE {query.split()[1]} AS SELECT 'CM00000001' AS customer_id")
    con.execute("CREATE TABLE staging.customers AS SELECT 'a:1' AS record_key, 'x' AS name")
    con.execute(
        "CREATE TABLE master.customer_xref AS SELECT 'a:1' AS record_key, "
        "'CM00000001' AS customer_id, NULL::TIMESTAMP AS valid_to"
    )
    rows = write_tables(con, tmp_path)
    assert set(rows) == set(SERVING_TABLES) and all(n == 1 for n in rows.values())
    assert read_table(tmp_path, "records")["customer_id"].tolist() == ["CM00000001"]


def test_every_table_the_index_reads_decides_whether_it_is_published_again():
    read = {
        t
        for q in SERVING_TABLES.values()
        for t in re.findall(r"\b(?:master|marts|matching|staging)\.\w+", q)
    }
    read |= {"staging.customers", "master.customer_xref"}  # the current records
    assert read <= set(SERVING_INPUTS)
    assert {"matching.prepared_records", "matching.models"} <= set(SERVING_INPUTS)

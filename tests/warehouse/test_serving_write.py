"""A serving index's two halves written at once: both land in the folder, each read through
its own connection, and an error in either reaches the caller."""

import threading
from pathlib import Path

import duckdb
import pytest

import warehouse.serving_write as serving_write
from matching.linkage.junk import JunkRules
from tests.warehouse.test_serving_index import small_warehouse
from warehouse.serving import read_table


def test_the_tables_and_the_check_files_are_written_at_once_on_two_connections(
    tmp_path, monkeypatch
):
    con = small_warehouse()
    seen: dict[str, object] = {}

    def check_files(check_con, folder: Path, junk, previous, carried=None, rewritten="ignore"):
        seen.update(con=check_con, thread=threading.current_thread().name, previous=previous)
        # the check files' connection reads the same warehouse
        seen["customers"] = check_con.execute("SELECT count(*) FROM master.customers").fetchall()
        (folder / "check.json").write_text("{}", encoding="utf-8")
        return {"company": 2}

    monkeypatch.setattr(serving_write, "write_warehouse_check_files", check_files)
    files = serving_write.write_serving_files(con, tmp_path, JunkRules())
    assert files.check_records == {"company": 2}
    assert files.tables["customers"] == 2 and len(read_table(tmp_path, "customers")) == 2
    assert (tmp_path / "check.json").is_file()
    assert seen["con"] is not con and seen["customers"] == [(2,)] and seen["previous"] is None
    assert seen["thread"] != threading.current_thread().name
    with pytest.raises(duckdb.ConnectionException):  # closed once both halves are done
        seen["con"].execute("SELECT 1")  # type: ignore[attr-defined]


def test_an_error_in_the_check_files_reaches_the_caller_after_the_tables_are_done(
    tmp_path, monkeypatch
):
    con = small_warehouse()

    def check_files(check_con, folder, junk, previous, carried=None, rewritten="ignore"):
        raise RuntimeError("no model")

    monkeypatch.setattr(serving_write, "write_warehouse_check_files", check_files)
    with pytest.raises(RuntimeError, match="no model"):
        serving_write.write_serving_files(con, tmp_path, JunkRules())
    assert len(read_table(tmp_path, "customers")) == 2  # the tables half ran to its end
    # the warehouse connection is free again: the tables' file was detached
    assert con.execute("SELECT count(*) FROM duckdb_databases()").fetchall()[0][0] >= 1
    assert "serving_out" not in {
        d for (d,) in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()
    }


def test_any_sync_takes_the_scoring_statements_from_the_current_index(tmp_path, monkeypatch):
    """A full sync writes the tables whole but still offers the current index's statements
    to the check files (taken only for the same model and columns); only an incremental
    one has its check indexes carried over from the index it replaces."""
    con = small_warehouse()
    given: list[object] = []
    monkeypatch.setattr(
        serving_write,
        "write_warehouse_check_files",
        lambda check_con, folder, junk, previous, carried=None, rewritten="ignore": (
            given.append((previous, carried)) or {}
        ),
    )
    current, new, day = tmp_path / "current", tmp_path / "new", tmp_path / "day"
    for folder in (current, new, day):
        folder.mkdir()
    serving_write.write_serving_files(con, current, JunkRules())
    serving_write.write_serving_files(con, new, JunkRules(), current=current)
    serving_write.write_serving_files(con, day, JunkRules(), previous=new)
    assert given == [(None, None), (current, None), (new, new)]

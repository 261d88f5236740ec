"""A step rebuilds when how it builds changed, skips when nothing it reads changed, and
works on what changed otherwise."""

import os
from pathlib import Path

import duckdb
import pytest

from warehouse import step_inputs
from warehouse.step_inputs import (
    StepInputs,
    decide,
    file_fingerprint,
    fingerprint,
    forget,
    inputs_snapshot,
    keep_file_fingerprints,
    recall_file_fingerprints,
    remember,
    table_fingerprint,
)


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA staging")
    yield con
    con.close()


def test_a_step_decides_from_what_it_last_built_from(con):
    first = StepInputs("staging.customers", settings="s1", data="d1")
    assert decide(con, first, full=False, incremental=True).work == "full"  # never built
    remember(con, first, "run-1")
    assert decide(con, first, full=False, incremental=True).work == "skip"
    assert decide(con, first, full=True, incremental=True).work == "full"
    changed = StepInputs("staging.customers", settings="s1", data="d2")
    assert decide(con, changed, full=False, incremental=True).work == "incremental"
    assert decide(con, changed, full=False, incremental=False).work == "full"
    reconfigured = StepInputs("staging.customers", settings="s2", data="d1")
    decision = decide(con, reconfigured, full=False, incremental=True)
    assert decision.work == "full" and "config" in decision.reason
    forget(con, "staging.customers")
    assert decide(con, first, full=False, incremental=True).work == "full"


def test_a_table_fingerprint_follows_content_not_row_order(con):
    assert table_fingerprint(con, "staging", "customers") == ""
    con.execute(
        "CREATE TABLE staging.customers AS SELECT * FROM (VALUES (1, 'a'), (2, 'b')) t(k, v)"
    )
    first = table_fingerprint(con, "staging", "customers")
    con.execute(
        "CREATE OR REPLACE TABLE staging.customers AS SELECT * FROM (VALUES (2, 'b'), (1, 'a')) t(k, v)"
    )
    assert table_fingerprint(con, "staging", "customers") == first
    con.execute("UPDATE staging.customers SET v = 'c' WHERE k = 2")
    assert table_fingerprint(con, "staging", "customers") != first
    con.execute(
        "CREATE OR REPLACE TABLE staging.customers AS SELECT k, v, NULL::INT AS w FROM (VALUES (1, 'a'), (2, 'b')) t(k, v)"
    )
    assert table_fingerprint(con, "staging", "customers") != first  # a new column is a change


def test_a_table_fingerprint_follows_column_names_and_types_not_other_schemas(con):
    con.execute("CREATE TABLE staging.customers AS SELECT 1 AS k, 'a' AS v")
    first = table_fingerprint(con, "staging", "customers")
    con.execute("CREATE SCHEMA master")
    con.execute("CREATE TABLE master.customers AS SELECT 1 AS k, 2 AS v, 3 AS w")
    assert table_fingerprint(con, "staging", "customers") == first  # a namesake elsewhere
    con.execute("ALTER TABLE staging.customers RENAME v TO name")
    renamed = table_fingerprint(con, "staging", "customers")
    assert renamed != first
    con.execute("ALTER TABLE staging.customers ALTER k TYPE BIGINT")
    assert table_fingerprint(con, "staging", "customers") not in (first, renamed)


def test_the_snapshot_covers_the_steps_run_so_far(con):
    remember(con, StepInputs("raw.dealers", "s", "d"), "run-1")
    one = inputs_snapshot(con, "run-1")
    remember(con, StepInputs("staging.customers", "s", "d"), "run-2")
    assert inputs_snapshot(con, "run-1") == one  # another run's steps are not part of it
    remember(con, StepInputs("raw.dealers", "s", "d"), "run-2")
    assert inputs_snapshot(con, "run-2") != one
    assert fingerprint({"a": 1, "b": 2}) == fingerprint({"b": 2, "a": 1})


def _reads(monkeypatch) -> list[Path]:
    """The files read by ``file_fingerprint`` from now on."""
    read: list[Path] = []
    real = Path.read_bytes

    def counted(self: Path) -> bytes:
        read.append(self)
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", counted)
    return read


def test_a_file_is_hashed_once_while_it_stays_as_it_was(tmp_path, monkeypatch):
    monkeypatch.setattr(step_inputs, "_FILE_PRINTS", {})
    monkeypatch.setattr(step_inputs, "_SETTLED_NS", 0)  # written long enough ago
    export = tmp_path / "dealer_XM01.csv"
    export.write_bytes(b"id,name\n1,a\n")
    read = _reads(monkeypatch)
    first = file_fingerprint(export)
    assert file_fingerprint(export) == first and len(read) == 1
    export.write_bytes(b"id,name\n1,b\n")  # same size, other bytes, another modification time
    os.utime(export, ns=(1_000_000_000, 1_000_000_000))
    assert file_fingerprint(export) != first and len(read) == 2
    assert file_fingerprint(tmp_path / "absent.csv") == ""


def test_a_file_written_just_before_it_was_hashed_is_hashed_again(tmp_path, monkeypatch):
    monkeypatch.setattr(step_inputs, "_FILE_PRINTS", {})
    export = tmp_path / "dealer_XM01.csv"
    export.write_bytes(b"id,name\n1,a\n")
    read = _reads(monkeypatch)
    # a write within the same time-stamp tick would leave size and times as they are
    assert file_fingerprint(export) == file_fingerprint(export) and len(read) == 2


def test_the_next_sync_reads_no_file_left_as_the_last_one_hashed_it(con, tmp_path, monkeypatch):
    monkeypatch.setattr(step_inputs, "_FILE_PRINTS", {})
    monkeypatch.setattr(step_inputs, "_SETTLED_NS", 0)
    same, changed = tmp_path / "dealer_XM01.csv", tmp_path / "dealer_FZ01.csv"
    same.write_bytes(b"id,name\n1,a\n")
    changed.write_bytes(b"id,name\n2,b\n")
    prints = [file_fingerprint(same), file_fingerprint(changed)]
    keep_file_fingerprints(con, [same, changed])
    monkeypatch.setattr(step_inputs, "_FILE_PRINTS", {})  # the next sync's process
    changed.write_bytes(b"id,name\n2,c\n")
    os.utime(changed, ns=(1_000_000_000, 1_000_000_000))
    read = _reads(monkeypatch)
    recall_file_fingerprints(con)
    assert file_fingerprint(same) == prints[0] and read == []
    assert file_fingerprint(changed) != prints[1] and read == [changed]


def test_kept_file_fingerprints_hold_one_row_per_file_with_its_latest_print(
    con, tmp_path, monkeypatch
):
    """A sync that hashed one changed file among kept ones writes that file's row again,
    and leaves every other file's row as it was."""
    monkeypatch.setattr(step_inputs, "_FILE_PRINTS", {})
    monkeypatch.setattr(step_inputs, "_SETTLED_NS", 0)
    files = [tmp_path / f"dealer_{i}.csv" for i in range(3)]
    for i, path in enumerate(files):
        path.write_bytes(f"id,name\n{i},a\n".encode())
        file_fingerprint(path)
    keep_file_fingerprints(con, files)
    files[1].write_bytes(b"id,name\n1,changed\n")
    os.utime(files[1], ns=(1_000_000_000, 1_000_000_000))
    prints = [file_fingerprint(path) for path in files]
    keep_file_fingerprints(con, files)
    kept = con.execute(
        f"SELECT path, size, fingerprint FROM {step_inputs.FILES_TABLE} ORDER BY path"
    ).fetchall()
    assert kept == [
        (str(p.resolve()), p.stat().st_size, f) for p, f in zip(files, prints, strict=True)
    ]


def test_a_step_remembered_again_keeps_one_row_with_its_latest_inputs(con):
    remember(con, StepInputs("raw.dealers", "s1", "d1"), "run-1")
    remember(con, StepInputs("raw.key_accounts", "s1", "d1"), "run-1")
    remember(con, StepInputs("raw.dealers", "s2", "d2"), "run-2")
    rows = con.execute(
        f"SELECT step, settings, data, run_id FROM {step_inputs.TABLE} ORDER BY step"
    ).fetchall()
    assert rows == [("raw.dealers", "s2", "d2", "run-2"), ("raw.key_accounts", "s1", "d1", "run-1")]

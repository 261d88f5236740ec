"""Row-wise work on several processes gives exactly what one pass over the table gives."""

import os
import time
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

import sources.build_staging as build_staging_module
import sources.row_slices as row_slices
from sources.build_staging import _stage_slice, build_staging
from sources.config import load_config
from sources.demo import generate_demo
from sources.ingest import ingest_feed
from sources.row_slices import WORKERS_ENV, map_row_slices, slice_bounds, worker_count

#: A file a helper writes when it has taken a slice; the asking process waits for it before
#: its own first slice, so a helper's part is tested however slowly it starts.
HELPER_WAS_HERE = "ROW_SLICES_TEST_MARKER"


def after_a_helper(table: pa.Table) -> None:
    """In a helper, say so; in the asking process, wait until a helper has said so (when a
    test asks for it)."""
    if HELPER_WAS_HERE not in os.environ:
        return
    marker = Path(os.environ[HELPER_WAS_HERE])
    if os.environ["ROW_SLICES_TEST_OWNER"] != str(os.getpid()):
        marker.touch()
        return
    deadline = time.monotonic() + 120
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def rows_and_pid(table: pa.Table, label: str) -> tuple[str, list[int], int]:
    """The work of the tests below: the slice's rows and the process that saw them."""
    if table.num_rows != row_slices.WARM_UP_ROWS:
        after_a_helper(table)
    return label, table.column("n").to_pylist(), os.getpid()


def fails_on_row_500(table: pa.Table) -> int:
    if 500 in table.column("n").to_pylist():
        raise ValueError("row 500 is bad")
    return table.num_rows


def staged_after_a_helper(mapped: pa.Table, *args):
    """Staging's own slice work, the helper's first."""
    if mapped.num_rows != row_slices.WARM_UP_ROWS:
        after_a_helper(mapped)
    return _stage_slice(mapped, *args)


@pytest.fixture
def helper_first(tmp_path, monkeypatch):
    """The asking process starts on its slices only once a helper has taken one."""
    monkeypatch.setenv(HELPER_WAS_HERE, str(tmp_path / "helper-was-here"))
    monkeypatch.setenv("ROW_SLICES_TEST_OWNER", str(os.getpid()))


@pytest.fixture
def small_threshold(monkeypatch):
    """Helpers from 100 rows, slices of 100 rows: what a million rows do, on a thousand."""
    monkeypatch.setattr(row_slices, "PARALLEL_FROM_ROWS", 100)
    monkeypatch.setattr(row_slices, "SLICE_ROWS", 100)


def test_the_environment_wins_over_the_config_and_the_config_over_the_cores(monkeypatch):
    monkeypatch.delenv(WORKERS_ENV, raising=False)
    assert worker_count(None) == len(os.sched_getaffinity(0))
    assert worker_count(3) == 3
    monkeypatch.setenv(WORKERS_ENV, "1")
    assert worker_count(3) == 1
    for bad in ("two", "0"):
        monkeypatch.setenv(WORKERS_ENV, bad)
        with pytest.raises(ValueError, match=WORKERS_ENV):
            worker_count(None)


def test_slices_cover_every_row_once_in_order():
    assert slice_bounds(10, 3) == [(0, 4), (4, 3), (7, 3)]
    assert slice_bounds(2, 5) == [(0, 1), (1, 1)]
    assert slice_bounds(0, 4) == [(0, 0)]


def test_a_small_table_is_handled_here_in_one_pass():
    table = pa.table({"n": list(range(1000))})
    [(label, rows, pid)] = map_row_slices(rows_and_pid, table, "x", workers=4)
    assert (label, rows, pid) == ("x", list(range(1000)), os.getpid())


def test_a_large_table_is_shared_with_a_helper_and_comes_back_in_order(
    small_threshold, helper_first
):
    table = pa.table({"n": list(range(1000))})
    parts = map_row_slices(rows_and_pid, table, "x", workers=2)
    assert len(parts) == 10
    assert [n for _, rows, _ in parts for n in rows] == list(range(1000))
    assert {label for label, _, _ in parts} == {"x"}
    assert {pid for _, _, pid in parts} - {os.getpid()}, "a helper process took a slice"


def test_a_failing_slice_fails_the_whole(small_threshold):
    table = pa.table({"n": list(range(1000))})
    with pytest.raises(ValueError, match="row 500 is bad"):
        map_row_slices(fails_on_row_500, table, workers=2)


def test_staging_on_two_processes_is_staging_on_one(tmp_path, monkeypatch, helper_first):
    generate_demo(tmp_path, customers=150, seed=5)
    config = load_config(tmp_path / "customer_master.yaml")
    tables, rejected = {}, {}
    for source in config.sources:
        batch = ingest_feed(source, config, ingested_at=datetime(2026, 10, 2, 6, 0))
        tables[source.name], rejected[source.name] = batch.table, batch.rejected_table()
    monkeypatch.setenv(WORKERS_ENV, "1")
    alone = build_staging(tables, rejected, config, today=date(2026, 10, 2))
    monkeypatch.setattr(row_slices, "PARALLEL_FROM_ROWS", 10)
    monkeypatch.setattr(row_slices, "SLICE_ROWS", 29)  # slices that cut across sources
    monkeypatch.setenv(WORKERS_ENV, "2")
    monkeypatch.setattr(build_staging_module, "_stage_slice", staged_after_a_helper)
    shared = build_staging(tables, rejected, config, today=date(2026, 10, 2))
    assert sum(t.num_rows for t in tables.values()) > 6 * 29
    assert (tmp_path / "helper-was-here").exists(), "a helper staged a slice"
    assert shared.customers.equals(alone.customers)
    assert shared.quarantine.equals(alone.quarantine)

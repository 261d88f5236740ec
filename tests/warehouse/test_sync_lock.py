"""The sync lock: one sync per warehouse; the second waits (saying for whom) or stops naming
the first; a lock left by a killed process never blocks."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from warehouse.sync_lock import SyncInProgress, hold_warehouse, lock_path, read_holder

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def held_elsewhere(warehouse: Path, run_id: str, release_after: float = 60) -> Iterator[None]:
    """Another sync holding ``warehouse`` in another thread, until ``release_after`` seconds
    have passed or the block ends."""
    taken, stop = threading.Event(), threading.Event()

    def hold():
        with hold_warehouse(warehouse, run_id, wait_seconds=0):
            taken.set()
            stop.wait(release_after)

    holder = threading.Thread(target=hold)
    holder.start()
    assert taken.wait(10)
    try:
        yield
    finally:
        stop.set()
        holder.join()


def test_a_second_sync_stops_at_once_naming_the_one_that_holds_the_warehouse(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with held_elsewhere(warehouse, "run-first"):
        started = time.monotonic()
        with pytest.raises(SyncInProgress) as stopped:
            with hold_warehouse(warehouse, "run-second", wait_seconds=0):
                pytest.fail("the second sync got the warehouse")
    assert time.monotonic() - started < 1
    message = str(stopped.value)
    assert "run run-first" in message
    assert f"pid {os.getpid()} on {socket.gethostname()}" in message
    assert "holding it since 20" in message and "not waiting" in message
    assert stopped.value.holder.run_id == "run-first"
    # the warehouse is free again once the first has finished
    with hold_warehouse(warehouse, "run-third", wait_seconds=0) as holder:
        assert read_holder(warehouse) == holder
    assert read_holder(warehouse) is None  # released: nobody named


def test_a_second_sync_waits_for_the_first_and_says_for_whom(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    said: list[str] = []
    with held_elsewhere(warehouse, "run-first", release_after=0.8):
        started = time.monotonic()
        with hold_warehouse(warehouse, "run-second", wait_seconds=30, say=said.append) as me:
            waited = time.monotonic() - started
            assert read_holder(warehouse) == me
    assert 0.5 < waited < 10
    assert len(said) == 1
    assert said[0].startswith("waiting up to 30 s for run run-first (pid ")
    assert str(warehouse) in said[0]


def test_the_wait_ends_after_wait_seconds(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with held_elsewhere(warehouse, "run-first"):
        started = time.monotonic()
        with pytest.raises(SyncInProgress, match="gave up after waiting 1 s") as stopped:
            with hold_warehouse(warehouse, "run-second", wait_seconds=1, say=lambda _: None):
                pass
        assert 1 <= time.monotonic() - started < 5
    assert "run run-first" in str(stopped.value)


def test_a_lock_left_by_a_killed_process_does_not_block(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from warehouse.sync_lock import hold_warehouse\n"
            "with hold_warehouse(Path(sys.argv[1]), 'run-killed', wait_seconds=0):\n"
            "    print('held', flush=True); time.sleep(600)",
            str(warehouse),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(SyncInProgress, match="run-killed"):
            with hold_warehouse(warehouse, "run-next", wait_seconds=0):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # the file still names the killed process, but its lock died with it
    assert read_holder(warehouse).pid == holder.pid
    with hold_warehouse(warehouse, "run-next", wait_seconds=0) as me:
        assert me.run_id == "run-next"


def test_the_sync_that_holds_the_warehouse_may_ask_again_in_its_own_thread(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with hold_warehouse(warehouse, "run-1", wait_seconds=0) as outer:
        with hold_warehouse(warehouse, "run-1", wait_seconds=0) as inner:
            assert inner == outer
        assert read_holder(warehouse) == outer  # the inner block did not release it
        with ThreadPoolExecutor(1) as another_thread:  # another thread is another sync
            attempt = another_thread.submit(hold_warehouse(warehouse, "run-2", 0).__enter__)
            with pytest.raises(SyncInProgress, match="run run-1"):
                attempt.result()
    assert lock_path(warehouse) == tmp_path / "warehouse.duckdb.sync.lock"

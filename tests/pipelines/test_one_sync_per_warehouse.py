"""One sync per warehouse, whoever starts it: a second ``custmaster run`` stops naming the
first (or waits for it, up to ``sync.wait_seconds``), a run the daemon or the UI starts does
the same, readers never wait, and killing a sync leaves the previous exports and a warehouse
the next sync can use."""

import hashlib
import logging
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from pipelines.cli import main
from pipelines.definitions import build_definitions
from pipelines.schedules import SYNC_JOB
from sources.config import load_config
from warehouse.publish import read_manifest
from warehouse.sync_lock import SyncHolder, hold_warehouse, read_holder

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _root_logger_as_it_was() -> Iterator[None]:
    """``main`` points the root logger at this test's captured stderr; later tests must not
    write to it once it is closed."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def demo(demo_run, demo_for) -> Path:
    """The shared demo after its first run; a copy for a test that runs or locks it."""
    return demo_for(demo_run.folder)


def config_with(demo: Path, name: str, wait_seconds: int) -> Path:
    """The demo's config with ``sync.wait_seconds`` set, beside it (same relative paths)."""
    settings = yaml.safe_load((demo / "customer_master.yaml").read_text(encoding="utf-8"))
    settings["sync"] = {"wait_seconds": wait_seconds}
    path = demo / name
    path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return path


@contextmanager
def held_by_another_sync(
    warehouse: Path, release_when: Callable[[], bool] = lambda: False
) -> Iterator[list[float]]:
    """Another sync (run ``run-held-by-test``, in another thread) holds ``warehouse`` until
    ``release_when()`` is true, the block ends or two minutes have passed; yields [when it
    let go]."""
    taken, stop, released = threading.Event(), threading.Event(), []

    def hold():
        with hold_warehouse(warehouse, "run-held-by-test", wait_seconds=0):
            taken.set()
            deadline = time.monotonic() + 120
            while not release_when() and time.monotonic() < deadline:
                if stop.wait(0.1):
                    break
        released.append(time.time())

    holder = threading.Thread(target=hold)
    holder.start()
    assert taken.wait(10)
    try:
        yield released
    finally:
        stop.set()
        holder.join()


def run_first_raw_step(config_path: Path, run_id: str) -> dg.ExecuteInProcessResult:
    """The sync job as the daemon and the UI run it (the Definitions' resources and in-process
    executor), for one raw asset only: enough to take the warehouse. Recorded in the test's
    Dagster instance."""
    defs = build_definitions(config_path)
    job = defs.resolve_job_def(SYNC_JOB).get_subset(
        asset_selection={dg.AssetKey(["raw", "regional"])}, asset_check_selection=set()
    )
    return job.execute_in_process(
        instance=dg.DagsterInstance.get(), run_id=run_id, raise_on_error=False
    )


def test_every_asset_and_check_of_the_sync_holds_the_warehouse_for_the_whole_run(demo_run):
    """Any selection of the job (the whole sync, or a few assets materialised in the UI) needs
    the warehouse resource, which Dagster sets up once per run with the in-process executor."""
    config_path = demo_run.folder / "customer_master.yaml"
    defs = build_definitions(config_path)
    graph = defs.resolve_asset_graph()
    assert graph.assets_defs
    for assets_def in graph.assets_defs:
        assert "warehouse" in assets_def.required_resource_keys, assets_def.keys
    assert defs.resolve_job_def(SYNC_JOB).executor_def.name == "in_process"
    wait = load_config(config_path).sync.wait_seconds
    assert defs.resources["warehouse"].sync_wait_seconds == wait == 900


@pytest.mark.writes_demo
def test_a_run_started_by_the_daemon_or_the_ui_waits_for_the_sync_holding_the_warehouse(demo):
    config_path = config_with(demo, "wait.yaml", wait_seconds=60)
    run_id, instance = str(uuid.uuid4()), dg.DagsterInstance.get()

    def said_it_waits() -> bool:
        return any(
            entry.user_message.startswith("waiting up to 60 s for run run-held-by-test (pid ")
            for entry in instance.all_logs(run_id)
        )

    warehouse = load_config(config_path).warehouse_path
    with held_by_another_sync(warehouse, release_when=said_it_waits) as released:
        result = run_first_raw_step(config_path, run_id)
    assert result.success
    assert said_it_waits()
    started = instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START)
    assert started and min(e.timestamp for e in started) >= released[0]


@pytest.mark.writes_demo
def test_a_run_started_by_the_daemon_or_the_ui_stops_naming_the_sync_holding_the_warehouse(demo):
    config_path = config_with(demo, "no_wait.yaml", wait_seconds=0)
    run_id = str(uuid.uuid4())
    with held_by_another_sync(load_config(config_path).warehouse_path):
        result = run_first_raw_step(config_path, run_id)
    assert not result.success
    failure = next(
        e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE
    ).event_specific_data.error
    while failure.cause is not None:
        failure = failure.cause
    assert "held by run run-held-by-test (pid " in failure.message
    assert not dg.DagsterInstance.get().all_logs(run_id, of_type=dg.DagsterEventType.STEP_START)


@pytest.mark.writes_demo
def test_readers_do_not_wait_for_a_sync(demo, capsys):
    config_path = config_with(demo, "no_wait.yaml", wait_seconds=0)
    with held_by_another_sync(load_config(config_path).warehouse_path):
        checked = main(["check", "--config", str(config_path), "--name", "厦门洪来文印店"])
        evaluated = main(
            ["evaluate", "--config", str(config_path), "--truth", str(demo / "truth/records.csv")]
        )
    assert (checked, evaluated) == (0, 0), capsys.readouterr().err


def published(exports: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(exports.iterdir())}


def wait_for(condition, process: subprocess.Popen, what: str, timeout: float = 240):
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert process.poll() is None, f"the first sync ended (exit {process.returncode}) {what}"
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.1)
    return found


@pytest.mark.writes_demo
def test_two_custmaster_runs_and_a_killed_one(demo, tmp_path, monkeypatch, capsys, sync_outputs):
    """A second ``custmaster run`` stops naming the first (at once, or after its wait); the
    first, killed once it is past raw, leaves the exports as they were and a warehouse the next
    sync (the job without its checks, to save time) publishes from, although the lock file
    still names the killed run."""
    monkeypatch.setenv("CUSTMASTER_CONFIG", str(demo / "customer_master.yaml"))  # restored
    config = load_config(demo / "customer_master.yaml")
    before = published(config.exports_path)
    with (tmp_path / "first.log").open("w") as first_log:  # the child keeps its own copy
        first = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pipelines.cli",
                "run",
                "--config",
                str(config.base_dir / "customer_master.yaml"),
                # a whole sync: it writes every layer, and cannot reach its exports in the
                # time this test takes to see it past raw (a sync of unchanged files, every
                # step skipped, once did, and rewrote the manifest before it was killed)
                "--full",
            ],
            cwd=ROOT,
            stdout=first_log,
            stderr=subprocess.STDOUT,
        )
    try:
        holder: SyncHolder = wait_for(
            lambda: (h := read_holder(config.warehouse_path)) and h.pid == first.pid and h,
            first,
            "lock taken",
        )
        named = f"run {holder.run_id} (pid {first.pid} on {socket.gethostname()}, holding it since "

        assert main(["run", "--config", str(config_with(demo, "no_wait.yaml", 0))]) == 3
        assert named in capsys.readouterr().err

        started = time.monotonic()
        assert main(["run", "--config", str(config_with(demo, "wait_1.yaml", 1))]) == 3
        assert time.monotonic() - started >= 1
        said = capsys.readouterr().err
        assert f"waiting up to 1 s for {named}" in said
        assert "gave up after waiting 1 s" in said

        instance = dg.DagsterInstance.get()  # the one the first sync records its run in
        wait_for(
            lambda: any(
                not entry.dagster_event.step_key.startswith("raw")
                for entry in instance.all_logs(
                    holder.run_id, of_type=dg.DagsterEventType.STEP_START
                )
            ),
            first,
            "step after raw",
        )
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()

    assert published(config.exports_path) == before
    manifest = read_manifest(config.exports_path)
    for table in manifest["tables"].values():
        assert before[table["file"]] == table["sha256"]
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM master.customers").fetchone()[0] > 0

    assert read_holder(config.warehouse_path).pid == first.pid  # its name, not its lock
    next_run = sync_outputs(config.base_dir / "customer_master.yaml")  # raises if it fails
    assert read_manifest(config.exports_path)["run_id"] == next_run != manifest["run_id"]

"""Shared test settings and shared builds.

- No telemetry, no network, a throwaway Dagster home for every test and another for the
  session's and modules' fixtures (never the project's ``.dagster_home``: two pytest-xdist
  workers would write the same SQLite files).
- Demos that take a whole pipeline run are built once per test run, also across the xdist
  workers (``build_once``), and then only read. A test that changes its demo (reruns the
  pipeline, writes a steward decision, rebuilds a mart) carries ``@pytest.mark.writes_demo``
  and gets a copy of the built folder (fixture ``demo_for``): copying a demo is a few milliseconds, a
  pipeline run many seconds.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from tests.background_build import build_in_background
from tests.shared_runs import (
    DEMO,
    DEMO_RUN,
    SPARK_RUN,
    build_name,
    put_in_run_order,
    reads,
    run_demo,
)

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

#: The loaded code out of the cycle collector's walks, as in a ``custmaster`` process.
pytest_plugins = ["tests.loaded_code"]

# Temporary folders in memory where the machine has one (unless TMPDIR says otherwise): a
# pipeline run commits hundreds of Dagster events to SQLite, each commit an fsync, and one
# commit took 7.5 ms in /tmp on disk here against 0.2 ms in /dev/shm.
# A small /dev/shm (a container's default is 64 MB) would fill up: a run leaves ~300 MB.
_SHM_NEEDED = 2 * 1024**3


def _roomy(folder: str) -> bool:
    try:
        stats = os.statvfs(folder)
    except OSError:
        return False
    return stats.f_bavail * stats.f_frsize >= _SHM_NEEDED


if "TMPDIR" not in os.environ and os.access("/dev/shm", os.W_OK) and _roomy("/dev/shm"):
    tempfile.tempdir = "/dev/shm"


def dagster_yaml(home: Path) -> str:
    """The ``dagster.yaml`` of a test's Dagster home: the project's own
    (``pipelines.instance.dagster_yaml``: telemetry off, one sync per warehouse, the event log
    kept open between events), so the tests' runs record their events as a deployment's do.
    A home with a ``dagster.yaml`` of other text kept Dagster's own event log, which opens
    and closes its SQLite databases for each of a sync's ~550 events: storing events took
    26.6 of the 122.6 CPU-seconds of three pipeline test modules (py-spy, one process;
    docs/operating.md). Imported when first asked for (it imports Dagster)."""
    from pipelines.instance import dagster_yaml as project_dagster_yaml

    return project_dagster_yaml(home)


#: The build the shared Spark run (``demo_spark_run``) is kept under, and the demo it runs
#: (the demo of ``demo_run``).
SPARK_BUILD = "demo_150_seed3_spark"
SPARK_DEMO = DEMO

#: How much a test worker lowers its priority (``os.nice``) while the shared Spark run is
#: made beside it: at 10 a busy worker weighs a tenth of the run's processes on a shared core.
#: The run beside two processes that kept a core busy each took 308 s with them at nice 10,
#: 510 s with them at its own priority (load average 9-14 from other work).
BEHIND_THE_SPARK_RUN = 10


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "writes_demo: the test changes its demo, so it gets its own copy of the build"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests on the shared demo's run after the others, and those on the shared Spark
    run last (``put_in_run_order``): both runs are made in processes of their own from the
    test run's start (``_shared_runs_in_background``) while the workers run the others."""
    put_in_run_order(items)


@pytest.fixture(scope="session", autouse=True)
def _session_dagster_home(tmp_path_factory) -> Iterator[None]:
    """Session and module fixtures start before a test's own Dagster home exists."""
    home = tmp_path_factory.mktemp("session_dagster_home")
    (home / "dagster.yaml").write_text(dagster_yaml(home), encoding="utf-8")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DAGSTER_HOME", str(home))
        yield


@pytest.fixture(autouse=True)
def _dagster_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text(dagster_yaml(home), encoding="utf-8")
    monkeypatch.setenv("DAGSTER_HOME", str(home))


@pytest.fixture(scope="session")
def built_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the test run's shared builds, the same for every pytest-xdist worker."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder, above the workers' own
    root = root / "built"
    root.mkdir(exist_ok=True)
    return root


@pytest.fixture(scope="session")
def build_once(built_root: Path) -> Callable[[str, Callable[[Path], Any]], tuple[Path, Any]]:
    """``build_once(name, build)`` → ``(folder, value)``: ``build(folder)`` fills an empty
    folder and may return a picklable value; it runs once per test run, whichever worker
    asks first (pytest-xdist's documented pattern: a file lock in the temporary folder the
    workers share), and every later call gets the same folder and value. Read the folder,
    never write it: copy it first (``copy_build``). A build made in the background
    (``build_in_background``) holds the lock while it runs: a call waits for it, and fails
    with its traceback if it failed."""
    root = built_root

    def build_once(name: str, build: Callable[[Path], Any]) -> tuple[Path, Any]:
        folder, value = root / name, root / f"{name}.pickle"
        with FileLock(str(root / f"{name}.lock")):
            error = root / f"{name}.error"
            if error.exists():
                pytest.fail(
                    f"the background build {name} failed (log: {root / name}.log):\n"
                    + error.read_text(encoding="utf-8")
                )
            if not value.exists():
                shutil.rmtree(folder, ignore_errors=True)  # a build that failed midway
                folder.mkdir()
                value.write_bytes(pickle.dumps(build(folder)))
        return folder, pickle.loads(value.read_bytes())

    return build_once


def copy_build(folder: Path, into: Path) -> Path:
    """A copy of a built folder that a test may change: a demo's config names its exports and
    outputs relative to itself, so a run on the copy reads and writes only the copy."""
    return Path(shutil.copytree(folder, into / folder.name))


def _files(folder: Path) -> dict[Path, tuple[int, int]]:
    return {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def demo_for(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[Path], Path]]:
    """``demo_for(folder)``: the built folder itself for a test that only reads it, a copy in
    the test's ``tmp_path`` for a test marked ``writes_demo``. A test that changed a built
    folder without the mark fails, naming what it changed."""
    shared: list[tuple[Path, dict[Path, tuple[int, int]]]] = []

    def demo_for(folder: Path) -> Path:
        if request.node.get_closest_marker("writes_demo") is not None:
            return copy_build(folder, tmp_path)
        shared.append((folder, _files(folder)))
        return folder

    yield demo_for
    for folder, before in shared:
        after = _files(folder)
        changed = sorted(
            str(p) for p in before.keys() | after.keys() if before.get(p) != after.get(p)
        )
        assert not changed, f"the test changed its shared demo (mark it writes_demo): {changed}"


@dataclass(frozen=True)
class DemoRun:
    """A generated demo after one whole pipeline run: the folder (exports, truth, config,
    ``out/``) and what the run reported."""

    folder: Path
    outcome: Any  # pipelines.runner.RunOutcome


@pytest.fixture(scope="session")
def run_demo_once(build_once) -> Callable[[int, int], DemoRun]:
    """``run_demo_once(customers, seed)``: that demo after one whole pipeline run, generated
    and run once per test run (whether the run succeeded is for the tests to assert)."""

    def run_demo_once(customers: int, seed: int) -> DemoRun:
        def build(folder: Path):
            return run_demo(folder, customers, seed)

        return DemoRun(*build_once(build_name(customers, seed), build))

    return run_demo_once


@pytest.fixture(scope="session")
def demo_run(run_demo_once) -> DemoRun:
    """The demo of 150 customers (seed 3) after one whole pipeline run, built once per test
    run: the pipeline tests (but the sync idempotence ones) and the published-schema tests read
    it. A seed whose run leaves several separate pairs to a steward (the review page tests
    decide two; seed 1 left one once issue 14's standardisation sharpened the model). Made
    in a process of its own from the test run's start (``_shared_runs_in_background``)."""
    run = run_demo_once(**DEMO)
    assert run.outcome.succeeded, run.outcome.render()
    return run


@pytest.fixture(scope="session", autouse=True)
def _shared_runs_in_background(request: pytest.FixtureRequest, built_root: Path) -> Iterator[None]:
    """The shared demo's run (``demo_run``) and the shared Spark run (``demo_spark_run``)
    start in processes of their own as the test run starts, each when a collected test
    reads it (and the Spark run where Spark can run here), so that no worker waits idle
    for the other's build and both run the tests that need neither meanwhile (those that
    read them come after: ``pytest_collection_modifyitems``). The Spark run is mostly
    waiting for the cluster's jobs, one after the other (a few hundred), which would hold a
    pytest-xdist worker idle for minutes. The worker that started a build waits for it
    before it ends (or stops it, when the test run is stopping).

    The Spark run is the test run's longest path, and most of its wall time is its jobs'
    share of the cores: each worker (the one that started it, after starting both) lowers
    its own priority by :data:`BEHIND_THE_SPARK_RUN`, so that the two runs, the Spark
    cluster and its executor, which keep the priority they started with, get the cores
    they ask for and the tests around them take the rest."""
    items = request.session.items
    processes = []
    if any(reads(item, DEMO_RUN) for item in items):
        processes.append(
            build_in_background(
                built_root, build_name(**DEMO), "tests.shared_runs:run_demo", DEMO, dagster_yaml
            )
        )
    if any(reads(item, SPARK_RUN) for item in items):
        from matching.linkage.spark_session import spark_problem

        if spark_problem() is None:
            processes.append(
                build_in_background(
                    built_root,
                    SPARK_BUILD,
                    "tests.matching.linkage.spark_support:run_demo_on_cluster",
                    SPARK_DEMO,
                    dagster_yaml,
                )
            )
            os.nice(BEHIND_THE_SPARK_RUN)
    yield
    for process in processes:
        if process is None:
            continue
        if request.session.shouldfail or request.session.shouldstop:
            process.terminate()
        process.wait()


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def demo_spark_run(build_once, demo_run) -> DemoRun:
    """The shared demo's exports (``demo_run``'s, the same bytes) run from scratch by
    ``custmaster run`` with ``matching: {backend: spark}`` on a real Spark standalone cluster
    (a master and a two-core worker on 127.0.0.1, stopped after the run; the tests' lean
    settings): both models trained there, pairs scored and clusters solved there. One run
    proves what a run on Spark does and that it does it on a cluster (it took 110 s on
    ``local[2]`` and the cluster's own test, matching alone, 229 s more). Built once per
    test run, in the background from the start (``_shared_runs_in_background``); skipped,
    saying why, where Java or pyspark is missing. Its ``outcome`` is the run's, whether it
    succeeded is for the tests to assert; ``cluster/worker`` beside the folder holds the
    worker's executor logs."""
    from tests.matching.linkage.spark_support import run_demo_on_cluster, skip_without_spark

    skip_without_spark()
    folder, outcome = build_once(
        SPARK_BUILD, lambda folder: run_demo_on_cluster(folder, **SPARK_DEMO)
    )
    run = DemoRun(folder / demo_run.folder.name, outcome)
    for files in ("exports", "truth"):
        assert _digests(run.folder / files) == _digests(demo_run.folder / files), files
    return run


@pytest.fixture(scope="session")
def demo_rerun(build_once, demo_run) -> DemoRun:
    """The shared demo (``demo_run``) after a second whole pipeline run on the same files, as a
    nightly sync with nothing new leaves it; built once per test run. Its ``folder`` holds
    the copy that was run again, and ``dagster_home`` beside it the Dagster instance that
    recorded the second run; ``demo_run.folder`` still shows the state after the first."""

    def build(folder: Path):
        from pipelines.runner import run_pipeline

        copy = copy_build(demo_run.folder, folder)
        home = folder / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text(dagster_yaml(home), encoding="utf-8")
        with pytest.MonkeyPatch.context() as env:
            env.setenv("DAGSTER_HOME", str(home))
            return run_pipeline(copy / "customer_master.yaml")

    folder, outcome = build_once("demo_150_seed3_rerun", build)
    return DemoRun(folder / demo_run.folder.name, outcome)


@pytest.fixture(scope="session")
def sync_outputs():
    """A function that runs the sync job on a deployment without its asset checks and without the
    sync report: every table and export a sync writes, in a fraction of the time (the checks
    write no table; the report, a page drawn from the tables, has tests of its own);
    ``full=True`` as ``custmaster run --full``; ``skip``: assets left out too (a step that did
    not run that day). Returns the run id; raises when a step fails."""
    import dagster as dg

    from assets.report import SYNC_REPORT
    from pipelines.definitions import build_definitions
    from pipelines.schedules import SYNC_JOB

    def sync(
        config_path: Path, full: bool = False, skip: frozenset[dg.AssetKey] = frozenset()
    ) -> str:
        from assets.step_work import SYNC_TAG

        defs = build_definitions(config_path)
        everything = set(defs.resolve_asset_graph().get_all_asset_keys()) - {SYNC_REPORT, *skip}
        job = defs.resolve_job_def(SYNC_JOB).get_subset(
            asset_selection=everything, asset_check_selection=set()
        )
        result = job.execute_in_process(
            instance=dg.DagsterInstance.ephemeral(),
            tags={SYNC_TAG: "full"} if full else None,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
        return result.run_id

    return sync

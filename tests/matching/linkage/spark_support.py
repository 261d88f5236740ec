"""What the Spark tests share: skipping where Spark cannot run, a lean session, a real
standalone cluster on the loopback address, the demo's DuckDB results to compare with."""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from matching.linkage.spark_session import spark_problem

#: The JVMs of a test session (driver, executors) compile with the quick compiler only: a
#: session on a few hundred records is short, and Java's optimising compiler spends the
#: cores on code that runs a few times. A whole run of the demo on the test cluster took
#: 102-106 s instead of 114-116 s with it (two runs each, load average 2-3); never for a
#: real deployment, whose long jobs need the optimising compiler.
QUICK_JIT = "-XX:TieredStopAtLevel=1"

#: The JVMs of the tests (driver, executor, the cluster's master and worker) collect garbage
#: on one thread, between the work: a test JVM's heap is small and mostly short-lived
#: objects, and the default collector (G1) runs threads of its own beside the work on
#: every core. With it and :data:`WHOLE_STAGE_CODEGEN` off, the shared Spark run (the
#: demo's run on the test cluster, every process of it counted) took 118.0 and 111.8
#: CPU-seconds instead of 132.4 and 131.9 (two pairs side by side, load average 8-20;
#: docs/operating.md). Never for a real deployment, whose executors' heaps are large.
TEST_JVM_OPTIONS = f"{QUICK_JIT} -XX:+UseSerialGC"

#: Spark turns each stage of a query plan into Java source and compiles it (whole-stage
#: code generation) before it runs: for a table of a few hundred rows the compiling costs
#: more than running the operators as they are, and a run makes a few hundred queries,
#: each of Splink's comparisons a long expression.
WHOLE_STAGE_CODEGEN = "false"

#: Settings that keep a test session small and on the loopback address: no UI, no progress
#: bars, few shuffle partitions for a few hundred records, no adaptive query execution (it
#: plans each query again after every shuffle, for tables of a few hundred rows: the test
#: run on the cluster 273 s instead of 294 s, the same CPU time, the two side by side at
#: load average 11-13), no whole-stage code generation, the JVMs' quick compiler and one
#: garbage collector thread.
LEAN_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.shuffle.partitions": "2",
    "spark.sql.adaptive.enabled": "false",
    "spark.default.parallelism": "2",
    "spark.driver.memory": "1g",
    "spark.sql.codegen.wholeStage": WHOLE_STAGE_CODEGEN,
    "spark.driver.extraJavaOptions": TEST_JVM_OPTIONS,
    "spark.executor.extraJavaOptions": TEST_JVM_OPTIONS,
}

#: Cores and memory of the test cluster's one worker, and of the one executor a test
#: application gets there: the two cores of local[2], the least memory Spark's defaults
#: leave room for.
CLUSTER_CORES = 2
CLUSTER_EXECUTOR_MEMORY = "1g"
CLUSTER_WORKER_MEMORY = "2g"

#: How long a JVM may take to come up on a loaded machine.
START_SECONDS = 300


def cluster_settings(url: str, app_name: str) -> dict:
    """The ``spark:`` section of a test deployment that matches on the standalone cluster at
    ``url`` (:func:`standalone_cluster`)."""
    conf = {
        **LEAN_CONF,
        "spark.executor.memory": CLUSTER_EXECUTOR_MEMORY,
        "spark.cores.max": str(CLUSTER_CORES),
    }
    return {"master": url, "app_name": app_name, "conf": conf}


def run_demo_on_cluster(folder: Path, customers: int, seed: int) -> Any:
    """The demo of ``customers`` customers (``seed``) generated into ``folder`` and run from
    scratch by ``custmaster run`` with ``matching: {backend: spark}`` on a standalone cluster
    started for the run under ``folder / "cluster"`` (stopped after it): both models trained
    on the cluster, pairs scored and clusters solved there. Returns the run's outcome
    (``pipelines.runner.RunOutcome``); the demo is ``folder / f"demo_{customers}_seed{seed}"``,
    the name ``run_demo_once`` gives the same demo run on DuckDB."""
    import yaml

    from pipelines.runner import run_pipeline
    from sources.demo import generate_demo

    demo = folder / f"demo_{customers}_seed{seed}"
    generate_demo(demo, customers=customers, seed=seed)
    config = demo / "customer_master.yaml"
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    settings["matching"] = {**settings.get("matching", {}), "backend": "spark"}
    with standalone_cluster(folder / "cluster") as url:
        settings["spark"] = cluster_settings(url, "customer-master-tests")
        config.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
        return run_pipeline(config)


def skip_without_spark() -> None:
    """Skip (saying why) where Java or pyspark is missing; everywhere else Spark must run."""
    problem = spark_problem()
    if problem:
        print(f"Spark tests skipped: {problem}")  # noqa: T201 - the reason, in the test log
        pytest.skip(f"Spark cannot run here: {problem}")


def read_demo(folder: Path, sql: str) -> pd.DataFrame:
    """A query on a built demo's warehouse, read-only (the demo is shared)."""
    con = duckdb.connect(str(folder / "out" / "warehouse.duckdb"), read_only=True)
    try:
        return con.sql(sql).df()
    finally:
        con.close()


def scored_both_ways(folder: Path, entity_type: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The pairs a Spark run scored for ``entity_type`` and those the same model file scores
    on DuckDB from the same staged records, both in key order: ``(on_spark, on_duckdb)``."""
    from matching.linkage import latest_version
    from matching.linkage.prediction import predict_pairs
    from matching.linkage.steps import junk_rules
    from sources.config import load_config

    config = load_config(folder / "customer_master.yaml")
    version = latest_version(config.model_path, entity_type)
    assert version is not None, entity_type
    staged = read_demo(folder, "FROM staging.customers")
    pairs = read_demo(folder, "FROM matching.pairs")
    keys = ["record_key_l", "record_key_r"]
    on_spark = (
        pairs[pairs["entity_type"] == entity_type]
        .drop(columns=["entity_type", "model"])
        .sort_values(keys, ignore_index=True)
    )
    on_duckdb = predict_pairs(
        staged,
        version.path,
        config.matching.lower_threshold,
        entity_type=entity_type,
        junk=junk_rules(config.matching),
    )
    return on_spark, on_duckdb


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Daemon:
    """A Spark daemon run in the foreground, its log read line by line as it comes."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for(self, text: str) -> None:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {text!r} in:\n{''.join(self.log[-40:])}") from None
            self.log.append(line)
            if text in line:
                return

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def standalone_cluster(work: Path) -> Iterator[str]:
    """A Spark standalone master and one worker (:data:`CLUSTER_CORES` cores) started on
    127.0.0.1 from the pyspark distribution, stopped on exit; its URL. The worker keeps each
    application's executor logs under ``work / "worker"``."""
    import pyspark

    home = Path(pyspark.__file__).parent
    spark_class = str(home / "bin" / "spark-class")
    env = {
        **os.environ,
        "SPARK_HOME": str(home),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_DAEMON_JAVA_OPTS": TEST_JVM_OPTIONS,  # the master's and the worker's JVMs
    }
    port = _free_port()
    url = f"spark://127.0.0.1:{port}"
    master = _Daemon(
        [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1"]
        + ["--port", str(port), "--webui-port", str(_free_port())],
        env,
    )
    worker = None
    try:
        master.wait_for("I have been elected leader")
        worker = _Daemon(
            [spark_class, "org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1"]
            + ["--cores", str(CLUSTER_CORES), "--memory", CLUSTER_WORKER_MEMORY]
            + ["--webui-port", str(_free_port()), "--work-dir", str(work / "worker")],
            env,
        )
        worker.wait_for("Successfully registered with master")
        yield url
    finally:
        if worker is not None:
            worker.stop()
        master.stop()

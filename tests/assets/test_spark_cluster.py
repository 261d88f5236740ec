"""Matching through a real Spark standalone cluster: a master and one worker started on
127.0.0.1 from the pyspark distribution, the matching assets run with the deployment's
Spark resource pointed at ``spark://127.0.0.1:<port>``, and both stopped afterwards."""

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

import dagster as dg
import pytest
import yaml

from assets.matching import candidate_pairs, clusters_and_review
from pipelines.definitions import build_definitions
from tests.matching.linkage.spark_support import LEAN_CONF, read_demo, skip_without_spark

#: How long a JVM may take to come up on a loaded machine.
START_SECONDS = 300


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
    """A Spark standalone master and one worker (1 core, 1 GB) on 127.0.0.1; its URL."""
    import pyspark

    home = Path(pyspark.__file__).parent
    spark_class = str(home / "bin" / "spark-class")
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1"}
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
            + ["--cores", "1", "--memory", "1g", "--webui-port", str(_free_port())]
            + ["--work-dir", str(work / "worker")],
            env,
        )
        worker.wait_for("Successfully registered with master")
        yield url
    finally:
        if worker is not None:
            worker.stop()
        master.stop()


@pytest.mark.writes_demo
def test_matching_runs_on_a_standalone_cluster_and_lands_in_the_warehouse(
    demo_run, demo_for, tmp_path
):
    skip_without_spark()
    folder = demo_for(demo_run.folder)
    config_path = folder / "customer_master.yaml"
    with standalone_cluster(tmp_path) as url:
        settings = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        settings["matching"] = {**settings.get("matching", {}), "backend": "spark"}
        settings["spark"] = {
            "master": url,
            "app_name": "customer-master-cluster-test",
            "conf": {**LEAN_CONF, "spark.executor.memory": "512m", "spark.cores.max": "1"},
        }
        config_path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
        defs = build_definitions(config_path)
        result = dg.materialize(
            [candidate_pairs, clusters_and_review], resources=defs.resources, raise_on_error=False
        )
        assert result.success, [e.message for e in result.all_events if e.is_failure]
    # the models the pipeline trained on DuckDB, scored on the cluster: the same pairs and
    # clusters as on DuckDB, written back into the warehouse
    keys = "record_key_l, record_key_r"
    duckdb_pairs = read_demo(demo_run.folder, f"SELECT {keys}, match_weight FROM matching.pairs")
    spark_pairs = read_demo(folder, f"SELECT {keys}, match_weight FROM matching.pairs")
    assert len(spark_pairs) > 0
    assert spark_pairs[["record_key_l", "record_key_r"]].equals(
        duckdb_pairs[["record_key_l", "record_key_r"]]
    )
    assert spark_pairs["match_weight"].to_numpy() == pytest.approx(
        duckdb_pairs["match_weight"].to_numpy(), abs=1e-6
    )
    clusters = "SELECT record_key, cluster_id FROM matching.clusters ORDER BY record_key"
    assert read_demo(folder, clusters).equals(read_demo(demo_run.folder, clusters))

"""Benchmark: the matching stage (training, prediction, clustering) at N source records.

Uses the demo exports of ``bench_ingest_standardise.py`` (generated once, cached under
benchmarks/.cache), stages them once into a Parquet file beside them, then in a fresh
process reads the staged records, counts the comparisons blocking creates per record,
and times the pipeline's own matching steps (``matching.linkage.steps`` and
``cluster_step``): training of both models (u by random sampling, m by EM), chunked
prediction, clustering with the contact-person rule and the review queue. Prints the peak
resident memory of that process and the accuracy against the demo's truth.

``--backend spark`` runs the same steps on Splink's SparkAPI in Spark local mode
(``local[2]``, driver memory 10g) beside a DuckDB run on the same staged records, each in a
fresh process, and prints both: wall time of each step, and peak memory (on Spark, the
Python process plus the JVM's peak resident memory, read from /proc before it stops).

    .venv/bin/python benchmarks/bench_matching.py --records 1000000
    .venv/bin/python benchmarks/bench_matching.py --records 1000000 --backend spark
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def staged_parquet(records: int, seed: int) -> Path:
    """Stage the cached demo exports once and keep the result as Parquet."""
    from bench_ingest_standardise import generate

    out = generate(records, seed)
    path = out / "staged.parquet"
    if not path.exists():
        import pyarrow.parquet as pq

        from sources.build_staging import build_staging
        from sources.config import load_config
        from sources.ingest import ingest_feed

        config = load_config(out / "customer_master.yaml")
        raw, rejected = {}, {}
        for source in config.sources:
            batch = ingest_feed(source, config, ingested_at=datetime.now(UTC).replace(tzinfo=None))
            raw[source.name], rejected[source.name] = batch.table, batch.rejected_table()
        result = build_staging(raw, rejected, config, today=date.today())
        pq.write_table(result.customers, path)
        print(f"staged {result.customers.num_rows:,} records into {path}", flush=True)
    return path


#: Spark local mode of the benchmark: two cores, as the machine has.
SPARK_MASTER = "local[2]"
SPARK_CONF = {
    "spark.driver.memory": "10g",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}


def _jvm_peak_gib(session) -> float:
    """Peak resident memory of the JVM behind a local Spark session (VmHWM), in GiB."""
    pid = session.sparkContext._gateway.proc.pid
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024**2
    return float("nan")


def one_run(path: Path, truth: Path, backend: str = "duckdb") -> dict:
    """Block, train, predict and cluster the staged records exactly as the pipeline's matching
    assets do (``matching.linkage.steps`` and ``cluster_step``), on ``backend``; figures of
    this process."""
    import tempfile

    import pandas as pd

    from matching.linkage.backend import SparkRun
    from matching.linkage.blocking_report import blocking_report
    from matching.linkage.cluster_step import cluster_records
    from matching.linkage.decisions import empty_decisions
    from matching.linkage.evaluation import score_clusters
    from matching.linkage.prepared_store import prepare_by_type
    from matching.linkage.spark_session import start_spark
    from matching.linkage.steps import ensure_models, junk_rules, score_pairs
    from sources.config import MatchingConfig

    settings = MatchingConfig(backend=backend)
    staged = pd.read_parquet(path)
    figures: dict = {"backend": backend, "records": len(staged), "entity_types": {}}
    for entity_type in ("company", "person") if backend == "duckdb" else ():
        records = staged[staged["entity_type"] == entity_type]
        report = blocking_report(records, entity_type)
        figures["entity_types"][entity_type] = {
            "records": len(records),
            "comparisons": report.comparisons,
            "comparisons_per_record": report.comparisons_per_record,
        }
    with tempfile.TemporaryDirectory() as work:
        spark, session = None, None
        started = time.perf_counter()
        if backend == "spark":
            session, _ = start_spark(SPARK_MASTER, "bench-matching", SPARK_CONF, Path(work))
            spark = SparkRun(session, Path(work) / "exchange")
            figures["spark_start_s"] = time.perf_counter() - started
            started = time.perf_counter()
        # once per sync, shared by training and prediction (matching.prepared_records)
        prepared = prepare_by_type(staged, junk_rules(settings))
        ready = time.perf_counter()
        models = ensure_models(prepared, Path(work) / "models", settings, retrain=True, spark=spark)
        trained = time.perf_counter()
        pairs = score_pairs(prepared, models, settings, spark=spark)
        predicted = time.perf_counter()
        clustering = cluster_records(
            staged, pairs, empty_decisions(), models, settings, spark=spark
        )
        clustered = time.perf_counter()
        if session is not None:
            figures["jvm_peak_gib"] = _jvm_peak_gib(session)
            session.stop()
    figures.update(
        prepare_s=ready - started,
        train_s=trained - ready,
        predict_s=predicted - trained,
        cluster_s=clustered - predicted,
        pairs=len(pairs),
        review_queue=len(clustering.review_queue),
        clusters=clustering.resolution.counts(),
        peak_rss_gib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
    )
    truth_ids = pd.read_csv(truth, usecols=["record_key", "customer_id"], dtype=str)
    clusters = clustering.resolution.clusters
    figures["scores"] = {
        name: score_clusters(part[["record_key", "cluster_id"]], truth_ids).as_dict()
        for name, part in [("all", clusters), *clusters.groupby("entity_type")]
    }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--backend",
        choices=["duckdb", "spark"],
        default="duckdb",
        help="spark: Spark local[2] beside DuckDB on the same records",
    )
    parser.add_argument("--one-run", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_run:
        logging.basicConfig(level=logging.WARNING)
        path, truth, backend = args.one_run
        print(json.dumps(one_run(Path(path), Path(truth), backend), default=str))
        return

    path = staged_parquet(args.records, args.seed)
    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    )
    backends = ["duckdb", "spark"] if args.backend == "spark" else ["duckdb"]
    runs = {}
    for backend in backends:
        wall = time.perf_counter()
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one-run",
                str(path),
                str(path.parent / "truth" / "records.csv"),
                backend,
            ],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        runs[backend] = json.loads(proc.stdout.strip().splitlines()[-1])
        runs[backend]["process_wall_s"] = time.perf_counter() - wall
        # each backend's figures as soon as it is done: a Spark run can take long
        print(f"--- {backend}" + (f" ({SPARK_MASTER})" if backend == "spark" else ""))
        report(runs[backend])
        sys.stdout.flush()
    if len(runs) == 2:
        compare(runs["duckdb"], runs["spark"])


def report(run: dict) -> None:
    """One backend's figures."""
    print(f"staged records: {run['records']:,}")
    for entity_type, f in run["entity_types"].items():
        print(
            f"{entity_type:<8} {f['records']:>9,} records  {f['comparisons']:>12,} comparisons "
            f"({f['comparisons_per_record']:.1f} per record; target < 50)"
        )
    total = stage(run)
    print(
        f"preparing records {run['prepare_s']:.1f} s, training {run['train_s']:.1f} s, prediction {run['predict_s']:.1f} s ({run['pairs']:,} pairs >= lower "
        f"threshold), clustering + review queue {run['cluster_s']:.1f} s"
    )
    print(f"clusters: {run['clusters']}; review queue {run['review_queue']:,} pairs")
    print(f"matching stage (prepare + train + predict + cluster): {total:.1f} s (target < 300 s)")
    if "spark_start_s" in run:
        print(f"Spark session start: {run['spark_start_s']:.1f} s (not in the matching stage)")
    print(f"whole process, staged Parquet read to exit: {run['process_wall_s']:.1f} s")
    print(f"peak memory: {run['peak_rss_gib']:.2f} GiB Python (target < 12)")
    if "jvm_peak_gib" in run:
        print(
            f"           + {run['jvm_peak_gib']:.2f} GiB JVM = "
            f"{run['peak_rss_gib'] + run['jvm_peak_gib']:.2f} GiB"
        )
    for name, s in run["scores"].items():
        print(
            f"{name:<8} pairwise P {s['pairwise_precision']:.4f} R {s['pairwise_recall']:.4f} "
            f"F1 {s['pairwise_f1']:.4f}; B-cubed F1 {s['bcubed_f1']:.4f}"
        )


def stage(run: dict) -> float:
    """The matching stage's seconds: records prepared once, trained, scored, clustered."""
    return run["prepare_s"] + run["train_s"] + run["predict_s"] + run["cluster_s"]


def compare(duck: dict, spark: dict) -> None:
    """The two backends side by side, and how far apart their clusterings are in accuracy."""

    def memory(run: dict) -> float:
        return run["peak_rss_gib"] + run.get("jvm_peak_gib", 0.0)

    print("--- side by side")
    print(f"{'':<22}{'duckdb':>10}{'spark':>10}")
    for label, key in [
        ("preparing s", "prepare_s"),
        ("training s", "train_s"),
        ("prediction s", "predict_s"),
    ]:
        print(f"{label:<22}{duck[key]:>10.1f}{spark[key]:>10.1f}")
    print(f"{'clustering s':<22}{duck['cluster_s']:>10.1f}{spark['cluster_s']:>10.1f}")
    print(f"{'matching stage s':<22}{stage(duck):>10.1f}{stage(spark):>10.1f}")
    print(f"{'peak memory GiB':<22}{memory(duck):>10.2f}{memory(spark):>10.2f}")
    f1 = {n: r["scores"]["all"]["pairwise_f1"] for n, r in [("duckdb", duck), ("spark", spark)]}
    print(f"{'pairwise F1 (truth)':<22}{f1['duckdb']:>10.4f}{f1['spark']:>10.4f}")


if __name__ == "__main__":
    main()

"""Benchmark: the matching stage (training, prediction, clustering) at N source records.

Uses the demo exports of ``bench_ingest_standardise.py`` (generated once, cached under
benchmarks/.cache), stages them once into a Parquet file beside them, then in a fresh
process reads the staged records and times, per entity type, the blocking count
(comparisons per record), training (u by random sampling, m by EM), prediction (chunked)
and clustering; prints the peak resident memory of that process and the accuracy
against the demo's truth.

    .venv/bin/python benchmarks/bench_matching.py --records 1000000
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


def one_run(path: Path, truth: Path) -> dict:
    """Block, train, predict and cluster the staged records; figures of this process."""
    import pandas as pd

    from matching.blocking_report import blocking_report
    from matching.decisions import empty_decisions
    from matching.evaluation import score_clusters
    from matching.predict import predict_pairs
    from matching.resolve import resolve_clusters
    from matching.train import train_model
    from sources.config import MatchingConfig

    settings = MatchingConfig()
    staged = pd.read_parquet(path)
    figures: dict = {"records": len(staged), "entity_types": {}}
    all_pairs = []
    for entity_type in ("company", "person"):
        records = staged[staged["entity_type"] == entity_type]
        started = time.perf_counter()
        blocking = blocking_report(records, entity_type)
        blocked = time.perf_counter()
        model = train_model(records, entity_type)
        trained = time.perf_counter()
        pairs = predict_pairs(records, model, settings.lower_threshold, entity_type=entity_type)
        predicted = time.perf_counter()
        all_pairs.append(pairs[["record_key_l", "record_key_r", "match_probability"]])
        figures["entity_types"][entity_type] = {
            "records": len(records),
            "comparisons": blocking.comparisons,
            "comparisons_per_record": blocking.comparisons_per_record,
            "blocking_count_s": blocked - started,
            "train_s": trained - blocked,
            "predict_s": predicted - trained,
            "pairs": len(pairs),
        }
    started = time.perf_counter()
    resolution = resolve_clusters(
        staged["record_key"], pd.concat(all_pairs), empty_decisions(), settings.upper_threshold, settings.max_cluster_size
    )
    figures["cluster_s"] = time.perf_counter() - started
    figures["clusters"] = resolution.counts()
    figures["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    truth_ids = pd.read_csv(truth, usecols=["record_key", "customer_id"], dtype=str)
    figures["scores"] = score_clusters(resolution.clusters[["record_key", "cluster_id"]], truth_ids).as_dict()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--one-run", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_run:
        logging.basicConfig(level=logging.WARNING)
        print(json.dumps(one_run(Path(args.one_run[0]), Path(args.one_run[1])), default=str))
        return

    path = staged_parquet(args.records, args.seed)
    proc = subprocess.run(
        [sys.executable, __file__, "--one-run", str(path), str(path.parent / "truth" / "records.csv")],
        check=True, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    run = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}")
    print(f"staged records: {run['records']:,}")
    total = run["cluster_s"]
    for entity_type, f in run["entity_types"].items():
        total += f["train_s"] + f["predict_s"]
        print(
            f"{entity_type:<8} {f['records']:>9,} records  {f['comparisons_per_record']:.1f} comparisons/record  "
            f"train {f['train_s']:.1f} s  predict {f['predict_s']:.1f} s  {f['pairs']:,} pairs >= lower threshold"
        )
    print(f"clustering: {run['cluster_s']:.1f} s  {run['clusters']}")
    print(f"matching stage (train + predict + cluster): {total:.1f} s (target < 300 s)")
    print(f"peak memory: {run['peak_rss_gib']:.2f} GiB (target < 12)")
    s = run["scores"]
    print(f"pairwise P {s['pairwise_precision']:.4f} R {s['pairwise_recall']:.4f} F1 {s['pairwise_f1']:.4f}; "
          f"B-cubed F1 {s['bcubed_f1']:.4f}")


if __name__ == "__main__":
    main()

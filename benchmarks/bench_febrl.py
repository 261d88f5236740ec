"""FEBRL3 and FEBRL4 through the whole pipeline: precision, recall, F1 and wall time.

For each data set: ``custmaster febrl-data`` (``sources.febrl.write_febrl``) writes the
deployment into a scratch folder, the pipeline runs on its config exactly as
``custmaster run --config <dir>/customer_master.yaml`` does (models trained afresh), and
the clusters are scored against the truth as ``custmaster evaluate`` scores them.
Issue 14's target: pairwise F1 >= 0.997 on both.

    .venv/bin/python benchmarks/bench_febrl.py                  # both, one run each
    .venv/bin/python benchmarks/bench_febrl.py --dataset febrl3 --runs 3

Wall time is the pipeline's (ingest to publish); with ``--runs`` above 1 the median is
printed. Accuracy does not vary between runs (training is seeded).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_matching_accuracy import HEADER, _line  # noqa: E402

DATASETS = ("febrl3", "febrl4")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=DATASETS, action="append", help="default: both")
    parser.add_argument("--runs", type=int, default=1, help="pipeline runs per data set")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    for noisy in ("splink", "dagster"):
        logging.getLogger(noisy).setLevel(logging.ERROR)

    import duckdb

    from matching.linkage.evaluate_run import read_truth
    from matching.linkage.evaluation import score_clusters
    from pipelines.runner import run_pipeline
    from sources.config import load_config
    from sources.febrl import write_febrl

    print(f"{HEADER} {'wall s':>8}")
    for dataset in args.dataset or DATASETS:
        seconds = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as scratch:
                config_path = write_febrl(Path(scratch), dataset)
                config = load_config(config_path)
                started = time.perf_counter()
                outcome = run_pipeline(config_path, retrain=True)
                seconds.append(time.perf_counter() - started)
                if not outcome.succeeded:
                    print(outcome.render())
                    return 1
                con = duckdb.connect(str(config.warehouse_path), read_only=True)
                clusters = con.sql("SELECT record_key, cluster_id FROM matching.clusters").df()
                con.close()
                truth = read_truth(config.base_dir / "truth" / "records.csv")
                scores = score_clusters(clusters, truth[["record_key", "customer_id"]])
        print(f"{_line(dataset, scores)} {statistics.median(seconds):>8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

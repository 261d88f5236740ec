"""Accuracy side by side: Customer Master's matching vs plain Splink on the same demo.

One command generates a demo (or takes an existing deployment), runs the whole pipeline
on it, runs the plain-Splink baseline (``bench_matching_baseline.py``) on the same raw
exports, and prints pairwise and B-cubed precision / recall / F1 of both against the
truth:

- on the records both have (the source rows; the baseline has no contact persons), and
- for the pipeline, on every staged record including the contact persons it derives.

    .venv/bin/python benchmarks/bench_matching_accuracy.py                        # demo: 2000 customers, seed 7
    .venv/bin/python benchmarks/bench_matching_accuracy.py --config /tmp/f3/customer_master.yaml --no-baseline
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

HEADER = f"{'':<34} {'records':>8} {'P':>7} {'R':>7} {'F1':>7} {'B3 P':>7} {'B3 R':>7} {'B3 F1':>7}"


def _line(label: str, s) -> str:
    return (
        f"{label:<34} {s.records:>8,} {s.pairwise_precision:>7.4f} {s.pairwise_recall:>7.4f} {s.pairwise_f1:>7.4f} "
        f"{s.bcubed_precision:>7.4f} {s.bcubed_recall:>7.4f} {s.bcubed_f1:>7.4f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--config", type=Path, help="an existing deployment with truth/records.csv beside it"
    )
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-baseline", action="store_true", help="score the pipeline only")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    for noisy in ("splink", "dagster"):
        logging.getLogger(noisy).setLevel(logging.ERROR)

    import duckdb

    from matching.linkage.evaluate_run import read_truth
    from matching.linkage.evaluation import score_clusters
    from pipelines.runner import run_pipeline
    from sources.config import load_config

    with tempfile.TemporaryDirectory() as scratch:
        if args.config is None:
            from sources.demo import generate_demo

            generate_demo(Path(scratch), customers=args.customers, seed=args.seed)
            config_path = Path(scratch) / "customer_master.yaml"
            label = f"demo: {args.customers} customers, seed {args.seed}"
        else:
            config_path, label = args.config, str(args.config)
        config = load_config(config_path)
        truth = read_truth(config.base_dir / "truth" / "records.csv")[["record_key", "customer_id"]]

        started = time.perf_counter()
        outcome = run_pipeline(config_path, retrain=True)
        pipeline_s = time.perf_counter() - started
        if not outcome.succeeded:
            print(outcome.render())
            return 1
        con = duckdb.connect(str(config.warehouse_path), read_only=True)
        clusters = con.sql(
            "SELECT record_key, cluster_id, derived_from_record_key IS NULL AS source_row "
            "FROM matching.clusters JOIN staging.customers USING (record_key)"
        ).df()
        con.close()
        ours_all = score_clusters(clusters[["record_key", "cluster_id"]], truth)
        rows = clusters[clusters["source_row"]]
        print(label)
        print(HEADER)
        if not args.no_baseline:
            from bench_matching_baseline import baseline_clusters

            started = time.perf_counter()
            baseline = baseline_clusters(config.warehouse_path, config_path)
            baseline_s = time.perf_counter() - started
            shared = set(rows["record_key"]) & set(baseline.clusters["record_key"])
            ours = score_clusters(
                rows[rows["record_key"].isin(shared)][["record_key", "cluster_id"]], truth
            )
            theirs = score_clusters(
                baseline.clusters[baseline.clusters["record_key"].isin(shared)], truth
            )
            print(_line("plain Splink (same records)", theirs))
            print(_line("Customer Master (same records)", ours))
        print(_line("Customer Master (all staged records)", ours_all))
        print(f"\npipeline run (whole pipeline, models retrained): {pipeline_s:.0f} s", end="")
        if not args.no_baseline:
            gain = ours.pairwise_f1 - theirs.pairwise_f1
            print(
                f"; plain Splink: {baseline_s:.0f} s\npairwise F1 gain over plain Splink: {gain:+.4f} (target >= 0.15)"
            )
        else:
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

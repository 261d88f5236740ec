"""Benchmark: latency of one duplicate check against a master built from N source records.

Uses the staged demo records of ``bench_matching.py`` (generated and staged once, cached
under benchmarks/.cache), trains the models and clusters the records once (kept beside
them: ``models/`` and ``clusters.parquet``; each cluster stands for one customer ID), then
in a fresh process loads a ``DuplicateChecker`` on that master (the one-off start-up,
timed) and times single checks the way a CRM form sends them. The probes are held back:
the checker's master is built without their records, so no probe can find itself.

- existing customers: a held-back record of a customer that keeps other records (the
  answer should be that customer);
- new customers: the only record of a customer (the answer should be weak or empty).

Each probe is typed as a person would type it again (``bench_service.typed``): phones in
another format, and the name in traditional script, a field left out or a typo.

Each check is timed alone; the figures are medians and 95th percentiles over all checks,
with and without the entity type given by the form.

    .venv/bin/python benchmarks/bench_lookup.py --records 1000000
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def master(records: int, seed: int) -> tuple[Path, Path, Path]:
    """Staged records, saved models and clusters for the cached demo of ``records`` rows."""
    from bench_matching import staged_parquet

    staged_path = staged_parquet(records, seed)
    model_dir = staged_path.parent / "models"
    clusters_path = staged_path.parent / "clusters.parquet"
    if not clusters_path.exists():
        import pandas as pd

        from matching.linkage.decisions import empty_decisions
        from matching.linkage.steps import cluster_records, ensure_models, score_pairs
        from sources.config import MatchingConfig

        settings = MatchingConfig()
        staged = pd.read_parquet(staged_path)
        models = ensure_models(staged, model_dir, settings)
        pairs = score_pairs(staged, models, settings)
        clustering = cluster_records(staged, pairs, empty_decisions(), models, settings)
        clustering.resolution.clusters[["record_key", "cluster_id"]].to_parquet(clusters_path)
        print(f"trained and clustered {len(staged):,} records once", flush=True)
    return staged_path, model_dir, clusters_path


def probes(staged, n: int, rng: random.Random) -> tuple[list[dict], set[str]]:
    """Cases for ``n`` existing and ``n // 2`` new customers, typed as a person would
    (``bench_service.typed``), and the record keys to hold back from the master."""
    from bench_service import typed

    own = staged[staged["derived_from_record_key"].isna()]
    per_customer = staged.groupby("customer_id")["record_key"].transform("size")
    existing = own[per_customer[own.index] >= 2]
    existing = existing.iloc[rng.sample(range(len(existing)), n)].drop_duplicates("customer_id")
    new = own[per_customer[own.index] == 1]
    new = new.iloc[rng.sample(range(len(new)), n // 2)]
    cases = [typed(row, "existing", rng) for row in existing.to_dict("records")]
    cases += [typed(row, "new", rng) for row in new.to_dict("records")]
    return cases, set(existing["record_key"]) | set(new["record_key"])


def one_run(staged_path: Path, model_dir: Path, clusters_path: Path, n: int, seed: int) -> dict:
    """Start a checker on the master, then time every check alone; figures of this process."""
    import pandas as pd

    from matching.duplicate_check import DuplicateChecker
    from matching.linkage.model_store import latest_version

    staged = pd.read_parquet(staged_path)
    clusters = pd.read_parquet(clusters_path).rename(columns={"cluster_id": "customer_id"})
    staged = staged.merge(clusters, on="record_key", how="inner")
    models = {t: latest_version(model_dir, t).load() for t in ("company", "person")}
    checks, held_back = probes(staged, n, random.Random(seed))
    staged = staged[~staged["record_key"].isin(held_back)]  # no probe can find itself
    started = time.perf_counter()
    checker = DuplicateChecker(staged, models)
    startup = time.perf_counter() - started

    latencies: dict[str, list[float]] = {"given": [], "guessed": []}
    top1 = found_any_new = 0
    existing = 0
    for case in checks:
        for mode in ("given", "guessed"):
            entity_type = case["entity_type"] if mode == "given" else None
            t = time.perf_counter()
            found = checker.check(entity_type=entity_type, **case["fields"])
            latencies[mode].append(time.perf_counter() - t)
            if mode == "given" and case["kind"] == "existing":
                existing += 1
                top1 += bool(found) and found[0].customer_id == case["customer_id"]
            if mode == "given" and case["kind"] == "new":
                found_any_new += bool(found) and found[0].probability >= 0.9
    checker.close()
    return {
        "records": len(staged),
        "customers": int(staged["customer_id"].nunique()),
        "startup_s": startup,
        "checks": len(checks),
        "existing": existing,
        "top1_existing": top1,
        "new_with_strong_match": found_any_new,
        "latency_ms": {
            mode: {
                "p50": statistics.median(v) * 1000,
                "p95": statistics.quantiles(v, n=20)[-1] * 1000,
                "max": max(v) * 1000,
            }
            for mode, v in latencies.items()
        },
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--checks", type=int, default=200, help="existing-customer checks")
    parser.add_argument("--one-run", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_run:
        logging.basicConfig(level=logging.WARNING)
        paths = [Path(p) for p in args.one_run]
        print(json.dumps(one_run(*paths, n=args.checks, seed=args.seed)))
        return

    paths = master(args.records, args.seed)
    proc = subprocess.run(
        [sys.executable, __file__, "--checks", str(args.checks), "--seed", str(args.seed),
         "--one-run", *map(str, paths)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )  # fmt: skip
    run = json.loads(proc.stdout.strip().splitlines()[-1])
    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    )
    print(f"master: {run['records']:,} source records, {run['customers']:,} customers")
    print(
        f"start-up (one-off): {run['startup_s']:.1f} s; peak memory {run['peak_rss_gib']:.2f} GiB"
    )
    print(
        f"{run['checks']} checks: {run['existing']} existing customers (own customer first: "
        f"{run['top1_existing']}), {run['checks'] - run['existing']} new "
        f"(with a candidate >= 0.9: {run['new_with_strong_match']})"
    )
    for mode, f in run["latency_ms"].items():
        label = "entity type given" if mode == "given" else "entity type guessed"
        print(
            f"{label:<20} p50 {f['p50']:.1f} ms  p95 {f['p95']:.1f} ms  max {f['max']:.1f} ms"
            " (target p95 < 100 ms)"
        )


if __name__ == "__main__":
    main()

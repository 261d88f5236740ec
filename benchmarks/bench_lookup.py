"""Benchmark: the duplicate check's engine alone (no HTTP) on a master of N source records.

The master and the probes are ``bench_service.py``'s, so the two benchmarks tell apart
what the engine costs and what the HTTP service adds:

1. the cached demo of about N records goes through the whole pipeline once
   (``bench_service.pipeline``);
2. a serving index is published from that warehouse without the probes' records
   (``bench_service.held_back_index``): existing customers are a held-back record of a
   customer that keeps other records, new customers the only record of a customer, and
   every probe is typed again as a person would (other phone formats, and the name in
   traditional script, a field left out or a typo), so no probe can find itself;
3. in a fresh process a ``DuplicateChecker`` is loaded from that index (the service's
   start-up, timed) and every probe is checked alone, with the entity type given by the
   form and guessed (both models tried).

Prints p50 / p95 / p99 / max latency per mode, the CPU time of a check (what a loaded
machine does not inflate), the top-1 hit rate on existing customers and the share of new
customers with a candidate at probability ≥ 0.9, and the machine's load average.

    .venv/bin/python benchmarks/bench_lookup.py --records 1000000
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

MODES = ("given", "guessed")


def one_run(serving_dir: Path) -> dict:
    """Load a checker from the held-back index, then time every check alone."""
    from matching.check_store import load_check_files
    from warehouse.serving import read_pointer

    cases = json.loads((serving_dir / "probes.json").read_text(encoding="utf-8"))
    pointer = read_pointer(serving_dir)
    assert pointer is not None, f"{serving_dir}: nothing published"
    started = time.perf_counter()
    checker = load_check_files(pointer.folder)
    startup = time.perf_counter() - started
    rows = pointer.contents["check_records"]

    wall: dict[str, list[float]] = {mode: [] for mode in MODES}
    cpu: dict[str, list[float]] = {mode: [] for mode in MODES}
    hits = wrong = existing = new = 0
    for case in cases:
        for mode in MODES:
            entity_type = case["entity_type"] if mode == "given" else None
            t, c = time.perf_counter(), time.process_time()
            found = checker.check(entity_type=entity_type, **case["fields"])
            wall[mode].append(time.perf_counter() - t)
            cpu[mode].append(time.process_time() - c)
            if mode != "given":
                continue
            if case["kind"] == "existing":
                existing += 1
                hits += bool(found) and found[0].customer_id == case["customer_id"]
            else:
                new += 1
                wrong += any(f.probability >= 0.9 for f in found)
    checker.close()
    return {
        "records": sum(rows.values()),
        "startup_s": startup,
        "existing": existing,
        "hits": hits,
        "new": new,
        "wrong": wrong,
        "latency_ms": {mode: _figures(wall[mode]) for mode in MODES},
        "cpu_ms": {mode: _figures(cpu[mode]) for mode in MODES},
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
    }


def _figures(seconds: list[float]) -> dict[str, float]:
    q = statistics.quantiles(seconds, n=100, method="inclusive")
    return {
        "p50": statistics.median(seconds) * 1000,
        "p95": q[94] * 1000,
        "p99": q[98] * 1000,
        "max": max(seconds) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--probes", type=int, default=400, help="existing-customer probes")
    parser.add_argument("--one-run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_run:
        logging.basicConfig(level=logging.WARNING)
        print(json.dumps(one_run(Path(args.one_run))))
        return

    from bench_service import held_back_index, pipeline

    config = pipeline(args.records, args.seed)
    serving_dir, _ = held_back_index(config, args.probes, args.seed)
    load_before = os.getloadavg()[0]
    proc = subprocess.run(
        [sys.executable, __file__, "--one-run", str(serving_dir)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    run = json.loads(proc.stdout.strip().splitlines()[-1])
    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}; load average {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after"
    )
    print(f"master: {run['records']:,} source records indexed (probes' records held back)")
    print(
        f"start-up (checker loaded from the published index): {run['startup_s']:.1f} s; "
        f"peak memory {run['peak_rss_gib']:.2f} GiB"
    )
    print(
        f"existing customers ({run['existing']}, own record held back): top-1 hit rate "
        f"{run['hits'] / run['existing']:.1%}; new customers ({run['new']}): wrongly matched "
        f"(a candidate >= 0.9) {run['wrong'] / run['new']:.1%}"
    )
    for mode in MODES:
        label = "entity type given" if mode == "given" else "entity type guessed"
        f, c = run["latency_ms"][mode], run["cpu_ms"][mode]
        print(
            f"{label:<20} p50 {f['p50']:.1f} ms  p95 {f['p95']:.1f} ms  p99 {f['p99']:.1f} ms  "
            f"max {f['max']:.1f} ms  (CPU time p50 {c['p50']:.1f} ms, p95 {c['p95']:.1f} ms)"
        )


if __name__ == "__main__":
    main()

"""Benchmark: ingest + standardise N source records of the demo exports.

Generates the demo exports once (cached under benchmarks/.cache), then, in a fresh
process per repetition, reads every customer export into raw tables with lineage,
maps and standardises them into staging.customers (including contact persons), and
reports records/s and the peak resident memory of that process. Prints the median.

    .venv/bin/python benchmarks/bench_ingest_standardise.py --records 1000000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: demo customers per source record (the generator writes ~1.77 records per customer)
RECORDS_PER_CUSTOMER = 1.77


def generate(records: int, seed: int) -> Path:
    out = ROOT / "benchmarks" / ".cache" / f"demo-{records}-{seed}"
    if not (out / "customer_master.yaml").exists():
        from sources.demo import generate_demo

        started = time.perf_counter()
        generate_demo(out, customers=int(records / RECORDS_PER_CUSTOMER), seed=seed)
        print(f"generated demo exports in {time.perf_counter() - started:.1f} s: {out}", flush=True)
    return out


def one_run(config_path: Path) -> dict:
    """Ingest + stage every customer source; return timings and peak memory of this process."""
    from sources.build_staging import build_staging
    from sources.config import load_config
    from sources.ingest import ingest_feed

    config = load_config(config_path)
    started = time.perf_counter()
    raw, rejected, received = {}, {}, 0
    for source in config.sources:
        batch = ingest_feed(source, config, ingested_at=datetime.now(UTC).replace(tzinfo=None))
        raw[source.name], rejected[source.name] = batch.table, batch.rejected_table()
        received += batch.rows_received
    ingested = time.perf_counter()
    result = build_staging(raw, rejected, config, today=date.today())
    finished = time.perf_counter()
    return {
        "records": received,
        "staged": result.customers.num_rows,
        "quarantined": result.quarantine.num_rows,
        "ingest_s": ingested - started,
        "standardise_s": finished - ingested,
        "total_s": finished - started,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--one-run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_run:
        print(json.dumps(one_run(Path(args.one_run))))
        return

    config = generate(args.records, args.seed) / "customer_master.yaml"
    runs = []
    for i in range(args.runs):
        proc = subprocess.run(
            [sys.executable, __file__, "--one-run", str(config)],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        run = json.loads(proc.stdout.strip().splitlines()[-1])
        runs.append(run)
        print(
            f"run {i + 1}: {run['records']:,} records in {run['total_s']:.1f} s "
            f"(ingest {run['ingest_s']:.1f} s, standardise {run['standardise_s']:.1f} s), "
            f"{run['records'] / run['total_s']:,.0f} records/s, peak {run['peak_rss_gib']:.2f} GiB",
            flush=True,
        )
    total = statistics.median(r["total_s"] for r in runs)
    records = runs[0]["records"]
    print(
        f"\nmachine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    )
    print(
        f"source records:        {records:,} (staged {runs[0]['staged']:,} incl. contact persons, "
        f"quarantined {runs[0]['quarantined']:,})"
    )
    print(f"median ingest:         {statistics.median(r['ingest_s'] for r in runs):.1f} s")
    print(f"median standardise:    {statistics.median(r['standardise_s'] for r in runs):.1f} s")
    print(
        f"median total:          {total:.1f} s  → {records / total:,.0f} records/s (target ≥ 20,000)"
    )
    print(
        f"median peak memory:    {statistics.median(r['peak_rss_gib'] for r in runs):.2f} GiB (target < 4)"
    )


if __name__ == "__main__":
    main()

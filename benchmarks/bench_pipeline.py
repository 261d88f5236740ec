"""Benchmark: the whole sync at N source records, then the next day's sync after a 1% delta.

Generates the demo exports once (cached under benchmarks/.cache, shared with the other
benchmarks), copies them into a working folder, and runs ``custmaster run`` on them as a
user would, in its own process with its own Dagster instance. Prints the wall time of
every step (from the run's own step events in the Dagster instance), the peak resident
memory of the process and the pairwise F1 against the demo's truth. Then it changes the
exports as a normal day does (``sources.demo.delta``: edited, removed and new records,
new orders and interactions, about ``--share`` of the records) and times the next sync
the same way, then a third sync on unchanged files. Prints all three and their ratios.
With ``--runs R`` the whole sequence is repeated on a fresh copy and medians are printed.

    .venv/bin/python benchmarks/bench_pipeline.py --records 1000000
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

CUSTMASTER = ROOT / ".venv" / "bin" / "custmaster"


@dataclass
class SyncFigures:
    """One ``custmaster run``: wall time, peak memory, what it said, its steps' wall times."""

    label: str
    wall_s: float
    peak_gib: float
    succeeded: bool
    kind: str
    steps: dict[str, float] = field(default_factory=dict)


def run_sync(config: Path, home: Path, label: str, extra: tuple[str, ...] = ()) -> SyncFigures:
    """``custmaster run`` in a child process; its wall time, peak RSS and step durations."""
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONWARNINGS": "ignore"}
    log = home.parent / f"{label.replace(' ', '_')}.log"
    home.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            [str(CUSTMASTER), "run", "--config", str(config), *extra],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
        _, _, rusage = os.wait4(proc.pid, 0)  # the child's own peak memory (Linux: KiB)
    wall = time.perf_counter() - started
    peak = rusage.ru_maxrss / 1024**2
    output = log.read_text(encoding="utf-8")
    match = re.search(r"^run (\S+): (succeeded|FAILED)", output, re.M)
    if not match:
        raise RuntimeError(f"custmaster run printed no outcome:\n{output[-3000:]}")
    kind = re.search(r"^\s*sync: (.+)$", output, re.M)
    return SyncFigures(
        label=label,
        wall_s=wall,
        peak_gib=peak,
        succeeded=match.group(2) == "succeeded",
        kind=kind.group(1).strip() if kind else "full",
        steps=step_durations(home, match.group(1)),
    )


def step_durations(home: Path, run_id: str) -> dict[str, float]:
    """Wall seconds per step of ``run_id``, read from the run's events in the instance."""
    import dagster as dg

    started: dict[str, float] = {}
    durations: dict[str, float] = {}
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for record in instance.all_logs(run_id):
            event = record.dagster_event
            if event is None or event.step_key is None:
                continue
            if event.event_type_value == "STEP_START":
                started.setdefault(event.step_key, record.timestamp)
            elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
                durations[event.step_key] = record.timestamp - started[event.step_key]
    return durations


def pairwise_f1(config: Path, truth: Path, home: Path) -> str:
    proc = subprocess.run(
        [str(CUSTMASTER), "evaluate", "--truth", str(truth), "--config", str(config)],
        capture_output=True,
        text=True,
        env={**os.environ, "DAGSTER_HOME": str(home)},
    )
    found = re.search(r"^all\s+\S+\s+\S+\s+\S+\s+\S+\s+([0-9.]+)", proc.stdout, re.M)
    return found.group(1) if found else f"? ({proc.stdout[-200:]}{proc.stderr[-200:]})"


def one_sequence(
    demo: Path, work: Path, share: float, seed: int
) -> tuple[list[SyncFigures], str, str]:
    """Full sync on a fresh copy, a delta, the next sync, and a sync on unchanged files."""
    from sources.demo.delta import apply_delta

    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    shutil.copytree(demo / "exports", work / "exports")
    shutil.copy2(demo / "customer_master.yaml", work / "customer_master.yaml")
    config, home = work / "customer_master.yaml", work / ".dagster_home"
    full = run_sync(config, home, "full sync")
    f1 = pairwise_f1(config, demo / "truth" / "records.csv", home)
    delta = apply_delta(work, share=share, seed=seed)
    after_delta = run_sync(config, home, f"sync after a {share:.0%} delta")
    unchanged = run_sync(config, home, "sync on unchanged files")
    return [full, after_delta, unchanged], f1, delta.render()


def _group(step: str) -> str:
    """Steps of one layer together (raw__dealers and raw__regional are one line)."""
    return step.split("__")[0] if step.startswith("raw__") else step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--share", type=float, default=0.01, help="share of records the delta changes"
    )
    parser.add_argument("--runs", type=int, default=1, help="sequences to run; medians are printed")
    args = parser.parse_args()

    from bench_ingest_standardise import generate

    demo = generate(args.records, args.seed)
    work = demo.parent / f"pipeline-{args.records}-{args.seed}"
    sequences, f1s = [], []
    for run in range(args.runs):
        syncs, f1, delta = one_sequence(demo, work, args.share, args.seed + run)
        sequences.append(syncs)
        f1s.append(f1)
        print(
            f"run {run + 1}: " + "; ".join(f"{s.label} {s.wall_s:.1f} s" for s in syncs), flush=True
        )

    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}; "
        f"{args.records:,} records, median of {args.runs} run(s)"
    )
    print(f"delta: {delta}")
    labels = [s.label for s in sequences[0]]
    medians = {
        label: (
            statistics.median(seq[i].wall_s for seq in sequences),
            statistics.median(seq[i].peak_gib for seq in sequences),
        )
        for i, label in enumerate(labels)
    }
    steps: dict[str, list[dict[str, float]]] = defaultdict(list)
    for seq in sequences:
        for s in seq:
            grouped: dict[str, float] = defaultdict(float)
            for step, seconds in s.steps.items():
                grouped[_group(step)] += seconds
            steps[s.label].append(grouped)
    names = sorted(
        {n for runs in steps.values() for r in runs for n in r}, key=_order(sequences[0][0])
    )
    header = f"{'step':<34}" + "".join(f"{label[:22]:>24}" for label in labels)
    print(header)
    for name in names:
        cells = [statistics.median(r.get(name, 0.0) for r in steps[label]) for label in labels]
        print(f"{name:<34}" + "".join(f"{c:>22.1f} s" for c in cells))
    print(f"{'whole sync (wall)':<34}" + "".join(f"{medians[lab][0]:>22.1f} s" for lab in labels))
    print(f"{'peak memory':<34}" + "".join(f"{medians[lab][1]:>20.2f} GiB" for lab in labels))
    print(
        f"{'kind of sync':<34}"
        + "".join(f"{sequences[0][i].kind[:22]:>24}" for i in range(len(labels)))
    )
    full = medians[labels[0]][0]
    for label in labels[1:]:
        print(f"{label}: {medians[label][0] / full:.1%} of the full sync (target <= 10%)")
    print(f"pairwise F1 of the full sync against the truth: {', '.join(f1s)}")
    if not all(s.succeeded for seq in sequences for s in seq):
        print("WARNING: a sync failed; see the work folder", work)


def _order(full: SyncFigures):
    """Steps in the order the full sync started them."""
    ranks = {_group(step): i for i, step in reversed(list(enumerate(full.steps)))}
    return lambda name: ranks.get(name, len(ranks))


if __name__ == "__main__":
    main()

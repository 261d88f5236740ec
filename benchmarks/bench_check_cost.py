"""Benchmark: the CPU time of a duplicate check, by step, for one version of the code.

Runs every probe of a held-back serving index (``bench_lookup.py`` builds one, under
``benchmarks/.cache/demo-<N>-<seed>/out/serving-held-back-<probes>-<seed>``) through a
``DuplicateChecker`` loaded from it, with the entity type given, then guessed, in one
process; prints the CPU time of a check (p50, p95, mean) per mode and the mean CPU time of
each step with the type given (staging the form, preparing it, finding candidates,
scoring), and writes every answer to ``--answers``. ``--code`` imports another checkout
of the project (an exported copy of main, say), so two versions can be run back to back on
the same probes and their answers compared with ``--compare``:

    git archive main | tar -x -C /tmp/main-code
    .venv/bin/python benchmarks/bench_check_cost.py SERVING_DIR --code /tmp/main-code \\
        --answers /tmp/before.json
    .venv/bin/python benchmarks/bench_check_cost.py SERVING_DIR --answers /tmp/after.json \\
        --compare /tmp/before.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Functions of ``matching.duplicate_check`` timed as steps (those the version has).
STEPS = {
    "standardise_input": "staging",
    "stage_form": "staging",
    "prepare_records": "preparing",
    "prepare_record": "preparing",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("serving_dir", type=Path)
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout to import")
    parser.add_argument("--answers", type=Path, help="write every answer here (JSON)")
    parser.add_argument("--compare", type=Path, help="answers of another run to compare with")
    args = parser.parse_args()
    sys.path.insert(0, str(args.code.resolve()))
    logging.basicConfig(level=logging.WARNING)

    import matching.duplicate_check as dc
    from matching.check_store import load_check_files
    from sources.standardise import phones
    from warehouse.serving import read_pointer

    spent: dict[str, float] = {}
    timing = [False]

    def timed(step: str, function):
        def wrapper(*a, **k):
            started = time.process_time()
            try:
                return function(*a, **k)
            finally:
                if timing[0]:
                    spent[step] = spent.get(step, 0.0) + time.process_time() - started

        return wrapper

    for name, step in STEPS.items():
        if hasattr(dc, name):
            setattr(dc, name, timed(step, getattr(dc, name)))
    index_class = dc._EntityIndex
    index_class.candidates = timed("finding candidates", index_class.candidates)
    index_class.score_rows = timed("scoring", index_class.score_rows)

    cases = json.loads((args.serving_dir / "probes.json").read_text(encoding="utf-8"))
    pointer = read_pointer(args.serving_dir)
    assert pointer is not None, f"{args.serving_dir}: nothing published"
    checker = load_check_files(pointer.folder)
    cpu: dict[str, list[float]] = {"given": [], "guessed": []}
    answers = []
    load = os.getloadavg()[0]
    for mode in cpu:
        timing[0] = mode == "given"
        # a check may keep answers for the cells it saw (phones): not those of the other mode
        cache = getattr(phones, "_phone_cell", None)
        if cache is not None:
            cache.cache_clear()
        for case in cases:
            entity_type = case["entity_type"] if mode == "given" else None
            started = time.process_time()
            found = checker.check(entity_type=entity_type, **case["fields"])
            cpu[mode].append(time.process_time() - started)
            answers.append([c.as_dict() for c in found])
    checker.close()

    print(
        f"code: {args.code}; {len(cases)} probes; load average {load:.1f} → {os.getloadavg()[0]:.1f}"
    )
    for mode, seconds in cpu.items():
        q = statistics.quantiles(seconds, n=100, method="inclusive")
        print(
            f"entity type {mode:<8} CPU per check p50 {statistics.median(seconds) * 1000:.1f} ms, "
            f"p95 {q[94] * 1000:.1f} ms, mean {statistics.mean(seconds) * 1000:.1f} ms"
        )
    steps = ", ".join(f"{s} {t / len(cases) * 1000:.1f} ms" for s, t in spent.items())
    print(f"mean CPU per check by step (type given): {steps}")
    if args.answers:
        args.answers.write_text(json.dumps(answers, ensure_ascii=False), encoding="utf-8")
    if args.compare:
        other = json.loads(args.compare.read_text(encoding="utf-8"))
        same = sum(a == b for a, b in zip(answers, other, strict=True))
        print(f"answers identical to {args.compare}: {same} of {len(answers)} checks")


if __name__ == "__main__":
    main()

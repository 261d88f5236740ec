"""Benchmark: what a Dagster step costs beside the checks it runs (``assets/checks.py``).

Eight trivial assets with four blocking checks each, materialised on a persistent
(SQLite) instance as ``custmaster run`` does, four ways: no checks; all checks in one
``multi_asset_check`` step; checks inside the asset bodies (``check_specs``); one step per
check. Prints the best wall and CPU time of ``--runs`` runs per way.

    .venv/bin/python benchmarks/bench_check_steps.py --runs 5
"""

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg

ASSETS, CHECKS = 8, 4
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _key(i: int) -> dg.AssetKey:
    return dg.AssetKey(["bench", f"t{i}"])


def _plain(i: int) -> dg.AssetsDefinition:
    @dg.asset(key=_key(i))
    def _asset() -> None:
        return None

    return _asset


def no_checks() -> list:
    return [_plain(i) for i in range(ASSETS)]


def one_step() -> list:
    specs = [
        dg.AssetCheckSpec(f"c{j}", asset=_key(i), blocking=True)
        for i in range(ASSETS)
        for j in range(CHECKS)
    ]

    @dg.multi_asset_check(specs=specs, can_subset=True)
    def layer(context: dg.AssetCheckExecutionContext):
        for k in context.selected_asset_check_keys:
            yield dg.AssetCheckResult(asset_key=k.asset_key, check_name=k.name, passed=True)

    return [*no_checks(), layer]


def inside_assets() -> list:
    def build(i: int) -> dg.AssetsDefinition:
        specs = [dg.AssetCheckSpec(f"c{j}", asset=_key(i), blocking=True) for j in range(CHECKS)]

        @dg.asset(key=_key(i), check_specs=specs)
        def _asset(context: dg.AssetExecutionContext):
            yield dg.MaterializeResult()
            for k in context.selected_asset_check_keys:
                yield dg.AssetCheckResult(asset_key=k.asset_key, check_name=k.name, passed=True)

        return _asset

    return [build(i) for i in range(ASSETS)]


def step_per_check() -> list:
    def build(i: int, j: int) -> dg.AssetChecksDefinition:
        @dg.asset_check(asset=_key(i), name=f"c{j}", blocking=True)
        def _check() -> dg.AssetCheckResult:
            return dg.AssetCheckResult(passed=True)

        return _check

    return [*no_checks(), *(build(i, j) for i in range(ASSETS) for j in range(CHECKS))]


WAYS: dict[str, Callable[[], list]] = {
    "no checks": no_checks,
    "one step": one_step,
    "inside the assets": inside_assets,
    "a step per check": step_per_check,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench_check_steps_"))
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    instance = dg.DagsterInstance.get()
    for name, build in WAYS.items():
        definitions, walls, cpus = build(), [], []
        for _ in range(args.runs):
            wall, cpu = time.perf_counter(), time.process_time()
            assert dg.materialize(definitions, instance=instance, run_config=QUIET).success
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        print(f"{name:<18} wall {min(walls):5.2f} s  cpu {min(cpus):5.2f} s  per run")


if __name__ == "__main__":
    main()

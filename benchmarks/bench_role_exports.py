"""Benchmark: role-scoped publishing (``access.roles``) on a master of N source records.

1. The demo exports of about N records (``sources.demo.generate_demo``, in ``--cache``,
   default benchmarks/.cache) go through the whole pipeline once (``custmaster run``), or
   ``--warehouse`` names a warehouse a sync already built (read only; nothing regenerated).
2. On that warehouse, opened read-only, the main export (``publish_tables``) and then each
   role's set (``publish_role_sets``: cut, masked, Parquet, manifest and read-only DuckDB
   file) are written into a temporary folder, ``--runs`` times. The roles are the ones of
   docs/access.md: a province scope (masked), a source scope (full), an owner and
   province scope (full; the master's two most frequent owners) and every customer
   (masked).

Prints the median wall time of the main export, of each role and of all roles together,
each role's rows of ``customers`` and the tables withheld from it, and the load average.

    .venv/bin/python benchmarks/bench_role_exports.py --records 100000
    .venv/bin/python benchmarks/bench_role_exports.py --warehouse out/warehouse.duckdb --runs 3
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RECORDS_PER_CUSTOMER = 1.77  # the demo's records per customer (bench_ingest_standardise)


def roles(owners: list[str]) -> list:
    """The roles of docs/access.md; ``finance`` with two owners of the master."""
    from sources.config import RoleConfig

    return [
        RoleConfig(name="fujian_office", rows={"province": ["福建省"]}, pii="masked"),
        RoleConfig(name="key_accounts", rows={"source": ["key_accounts"]}, pii="full"),
        RoleConfig(
            name="finance", rows={"owner": owners, "province": ["福建省", "广东省"]}, pii="full"
        ),
        RoleConfig(name="analysts", pii="masked"),
    ]


def built_warehouse(records: int, seed: int, cache: Path) -> tuple[Path, list[str]]:
    """The warehouse of the demo of about ``records`` records after one ``custmaster run``
    (built once into ``cache``), and the config's published tables."""
    from sources.config import load_config
    from sources.demo import generate_demo

    folder = cache / f"roles-{records}-{seed}"
    config_path = folder / "customer_master.yaml"
    if not config_path.exists():
        started = time.perf_counter()
        generate_demo(folder, customers=int(records / RECORDS_PER_CUSTOMER), seed=seed)
        print(f"generated the demo exports in {time.perf_counter() - started:.1f} s", flush=True)
    config = load_config(config_path)
    if not config.warehouse_path.exists():
        started = time.perf_counter()
        env = {**os.environ, "DAGSTER_HOME": str(folder / ".dagster_home")}
        (folder / ".dagster_home").mkdir(exist_ok=True)
        with (folder / "run.log").open("w", encoding="utf-8") as log:
            subprocess.run(
                [str(ROOT / ".venv" / "bin" / "custmaster"), "run", "--config", str(config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                check=True,
            )
        print(f"ran the pipeline in {time.perf_counter() - started:.1f} s", flush=True)
    return config.warehouse_path, config.publish.tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--runs", type=int, default=3, help="repetitions; medians are printed")
    parser.add_argument("--cache", type=Path, default=ROOT / "benchmarks" / ".cache")
    parser.add_argument("--warehouse", type=Path, help="a built warehouse to publish from")
    args = parser.parse_args()

    import duckdb

    from sources.config import DEFAULT_PUBLISHED_TABLES
    from warehouse.access import publish_role_sets
    from warehouse.publish import publish_tables, read_manifest

    if args.warehouse:
        path, tables = args.warehouse, list(DEFAULT_PUBLISHED_TABLES)
    else:
        path, tables = built_warehouse(args.records, args.seed, args.cache)
    main_export: list[float] = []
    total: list[float] = []
    now = datetime.now(UTC)
    with duckdb.connect(str(path), read_only=True) as con, tempfile.TemporaryDirectory() as tmp:
        customers = con.execute("SELECT count(*) FROM master.customers").fetchone()[0]
        records = con.execute("SELECT count(*) FROM staging.customers").fetchone()[0]
        tables = [t for t in tables if _exists(con, t)]
        owners = con.execute(
            "SELECT owner FROM master.customers WHERE owner IS NOT NULL "
            "GROUP BY owner ORDER BY count(*) DESC, owner LIMIT 2"
        ).fetchall()
        role_list = roles([str(row[0]) for row in owners])
        per_role: dict[str, list[float]] = {role.name: [] for role in role_list}
        for run in range(args.runs):
            started = time.perf_counter()
            publish_tables(con, tables, Path(tmp) / "exports", f"bench-{run}", now)
            main_export.append(time.perf_counter() - started)
            started = time.perf_counter()
            for role in role_list:
                one = time.perf_counter()
                root = Path(tmp) / "roles" / role.name  # a root each: it keeps only its roles
                publish_role_sets(con, [role], tables, root, f"bench-{run}", now)
                per_role[role.name].append(time.perf_counter() - one)
            total.append(time.perf_counter() - started)
            print(
                f"run {run + 1}: main export {main_export[-1]:.2f} s, roles "
                + ", ".join(f"{name} {times[-1]:.2f} s" for name, times in per_role.items()),
                flush=True,
            )
        manifests = {
            role.name: read_manifest(Path(tmp) / "roles" / role.name / role.name)
            for role in role_list
        }
    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    print(
        f"master: {customers:,} customers, {records:,} source records; {len(tables)} published "
        f"tables; median of {args.runs} run(s)"
    )
    print(f"{'main export (all tables, in clear)':<40}{statistics.median(main_export):>8.2f} s")
    for role in role_list:
        manifest = manifests[role.name]
        print(
            f"{'role ' + role.name + ' (' + role.pii + ')':<40}"
            f"{statistics.median(per_role[role.name]):>8.2f} s   "
            f"customers {manifest['tables']['customers']['rows']:>8,}   "
            f"withheld {', '.join(sorted(manifest['withheld'])) or '-'}"
        )
    print(f"{'all roles':<40}{statistics.median(total):>8.2f} s")


def _exists(con, table: str) -> bool:
    from warehouse.store import table_exists

    return table_exists(con, *table.split(".", 1))


if __name__ == "__main__":
    main()

"""Benchmark: the CPU time of each quality check's evaluation on tables K times a synced
warehouse's, about the 1M demo's at K = 10 from the 100k demo, without a 1M sync.

Copies the tables the staged, master and entity-resolution checks read from a synced
warehouse into ``--out``, each row K times with its identifying columns suffixed (``~0`` …
``~9``: record keys, customer and cluster IDs, source files stay unique, values repeat),
then evaluates every check ``--rounds`` times in one process: the first round judges every
value (a first sync), the next ones with the verdicts kept (``quality.value_verdicts``, as
after a delta; the lineage suite's later rounds, with every customer's counts kept, find
no customer changed: its digests only). Prints CPU and wall seconds per check and round. ``--code`` imports another
checkout (an exported copy of main, say), so two versions can be timed on the same tables:

    .venv/bin/python benchmarks/bench_pipeline.py --records 100000   # a synced warehouse
    W=benchmarks/.cache/demo-100000-11/pipeline-100000-11
    .venv/bin/python benchmarks/bench_check_suites.py $W/out/warehouse.duckdb \\
        $W/customer_master.yaml --out /tmp/checks-x10.duckdb
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Columns whose values name a row, a record, a customer or a cluster: suffixed per copy.
IDENTIFYING = {
    "record_key",
    "customer_id",
    "derived_from_record_key",
    "source_file",
    "merged_into",
    "from_customer_id",
    "to_customer_id",
    "cluster_id",
}
TABLES = (
    "staging.customers",
    "master.customer_xref",
    "master.customer_ids",
    "master.customers",
    "master.attribute_lineage",
    "master.relationships",
    "matching.clusters",
)


def scale(source: Path, out: Path, times: int, sources: list[str]) -> None:
    """``out``: the tables the checks read, each row of ``source``'s ``times`` times."""
    import duckdb

    out.unlink(missing_ok=True)
    with duckdb.connect(str(out)) as con:
        con.execute(f"ATTACH '{source}' AS s (READ_ONLY)")
        for table in (*TABLES, *(f"raw.{name}" for name in sources)):
            schema, name = table.split(".")
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            columns = con.execute(
                """SELECT column_name, data_type FROM information_schema.columns
                   WHERE table_catalog = 's' AND table_schema = ? AND table_name = ?
                   ORDER BY ordinal_position""",
                [schema, name],
            ).fetchall()
            select = ", ".join(
                f'"{c}" || \'~\' || i AS "{c}"'
                if c in IDENTIFYING and kind == "VARCHAR"
                else f'"{c}"'
                for c, kind in columns
            )
            con.execute(
                f"CREATE TABLE {table} AS SELECT {select} FROM s.{table}, range({times}) r(i) "
                "ORDER BY i"
            )


def cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("warehouse", type=Path, help="a synced warehouse")
    parser.add_argument("config", type=Path, help="its config")
    parser.add_argument("--out", type=Path, required=True, help="the scaled copy (replaced)")
    parser.add_argument("--times", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout to import")
    parser.add_argument("--keep", action="store_true", help="reuse --out if it exists")
    args = parser.parse_args()
    sys.path.insert(0, str(args.code.resolve()))
    os.environ["GX_ANALYTICS_ENABLED"] = "false"

    import duckdb

    from quality import master_suite as ms
    from quality import resolution_checks as rc
    from quality.gx import validate
    from quality.kept_verdicts import validate_in_warehouse

    try:
        from quality.partitioned_frames import validate_partitioned as partitioned
    except ImportError:  # an older checkout
        partitioned = None
    from quality.staged_suite import staged_frame_sql, staged_suite
    from quality.staging_checks import check_record_key_unique
    from sources.config import load_config

    config = load_config(args.config)
    if not (args.keep and args.out.exists()):
        scale(args.warehouse, args.out, args.times, [s.name for s in config.sources])
    con = duckdb.connect(str(args.out))
    con.execute("DROP TABLE IF EXISTS quality.value_verdicts")
    con.execute("DROP TABLE IF EXISTS quality.partitioned_frames")
    q = config.quality
    checks = {
        "staged suite": lambda: validate_in_warehouse(
            con, staged_suite(config, date.today()), staged_frame_sql(config)
        ),
        "record_key_unique": lambda: [check_record_key_unique(con)],
        "xref suite": lambda: validate_in_warehouse(con, ms.xref_suite(), ms.XREF_FRAME),
        "customers suite": lambda: validate_in_warehouse(
            con, ms.customers_suite(), ms.customers_frame_sql(con)
        ),
        "lineage suite": lambda: (
            validate_in_warehouse(con, ms.lineage_suite(), ms.lineage_frame_sql(con))
            if not hasattr(ms, "LINEAGE_PARTITIONS")  # an older checkout: the whole frame
            else partitioned(con, ms.lineage_suite(), ms.LINEAGE_PARTITIONS)
        ),
        "relationships suite": lambda: validate(
            ms.relationships_suite(), ms.relationships_frame(con)
        ),
        "cluster checks": lambda: (
            rc.check_clusters(con, q.giant_cluster_size, q.max_unlinked_share)
            if hasattr(rc, "check_clusters")  # an older checkout: one check after the other
            else [
                rc.check_giant_clusters(con, q.giant_cluster_size),
                rc.check_unlinked_share(con, q.max_unlinked_share),
            ]
        ),
    }
    validate(ms.relationships_suite(), ms.relationships_frame(con))  # GX imported and set up
    rows = con.execute("SELECT count(*) FROM staging.customers").fetchall()[0][0]
    print(f"{rows:,} staged records ({args.times} x), code {args.code}")
    for round_ in range(1, args.rounds + 1):
        for name, check in checks.items():
            wall, used = time.perf_counter(), cpu()
            outcomes = check()
            failed = [o.name for o in outcomes if not o.passed]
            print(
                f"round {round_}  {name:<20} cpu {cpu() - used:6.2f} s  "
                f"wall {time.perf_counter() - wall:6.2f} s  failed: {', '.join(failed) or '-'}",
                flush=True,
            )
    print(f"load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()

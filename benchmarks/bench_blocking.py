"""Benchmark: how many comparisons a sync's blocking rules generate, per rule.

Reads a synced warehouse (read only) and the newest saved models of its config, and prints
for each entity type and each prediction blocking rule the blocks (records sharing the
rule's key), the pairs of records within them, and the largest block. This is what the
candidate-pairs step scores before any pair is kept: the benchmark's README figures at 1M
and 3M (company records sharing a block: 5.2M and 34.7M pairs) came from it.

    .venv/bin/python benchmarks/bench_blocking.py --config benchmarks/.cache/pipeline-1000000-11/customer_master.yaml

Pairs are counted per rule, before the rules' pairs are merged (a pair two rules block is
counted twice), and only for rules that are equalities of one prepared column on both sides
(``l.name_block = r.name_block``), as every rule of the default models is.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from matching.linkage.model_store import latest_version  # noqa: E402
from matching.linkage.pairable import blocking_equalities  # noqa: E402
from matching.linkage.prepared_store import PREPARED_RECORDS  # noqa: E402
from sources.config import load_config  # noqa: E402
from warehouse.store import quote  # noqa: E402


def rule_blocks(
    con: duckdb.DuckDBPyConnection, entity_type: str, columns: list[str]
) -> tuple[int, int, int]:
    """Blocks, pairs within them and the largest block of the records sharing ``columns``."""
    key = ", ".join(map(quote, columns))
    present = " AND ".join(f"{quote(c)} IS NOT NULL" for c in columns)
    found = con.execute(
        f"""SELECT count(*), coalesce(sum(n * (n - 1) // 2), 0)::BIGINT, coalesce(max(n), 0)
            FROM (SELECT count(*) AS n FROM {PREPARED_RECORDS}
                  WHERE entity_type = ? AND {present} GROUP BY {key})""",
        [entity_type],
    ).fetchall()[0]
    return int(found[0]), int(found[1]), int(found[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True, help="the config of a synced deployment")
    args = parser.parse_args()
    config = load_config(args.config)
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        for entity_type in ("company", "person"):
            version = latest_version(config.model_path, entity_type)
            if version is None:
                print(f"{entity_type}: no saved model")
                continue
            records = con.execute(
                f"SELECT count(*) FROM {PREPARED_RECORDS} WHERE entity_type = ?", [entity_type]
            ).fetchall()[0][0]
            print(f"{entity_type} ({version.name}, {records:,} prepared records)")
            total = 0
            for rule in blocking_equalities(version.load()) or []:
                if any(left != right for left, right in rule):
                    print(f"  {rule}: not an equality of one column, not counted")
                    continue
                columns = [left for left, _ in rule]
                blocks, pairs, largest = rule_blocks(con, entity_type, columns)
                total += pairs
                print(
                    f"  {' + '.join(columns):30s} {blocks:>11,} blocks {pairs:>14,} pairs"
                    f"  largest {largest}"
                )
            print(f"  {'every rule':30s} {'':>18} {total:>14,} pairs")


if __name__ == "__main__":
    main()

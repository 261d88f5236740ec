"""A targeted change to a synced demo that merges two customers and splits a third.

- **merge**: a regional company record that is a customer of its own is overwritten with
  the values of another company's regional record (same name, USCC, phones, address):
  the next sync links it to that company, and its customer ID is merged into the other;
- **split**: a steward's ``no_match`` between the two records of a two-record company.

The customers are chosen from the demo's warehouse, so the change fits whichever demo it
is applied to. Used by the sync report's tests.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import duckdb

from sources.config import load_config


@dataclass(frozen=True)
class Delta:
    merged_id: str  # the customer whose record now joins another
    survivor_id: str
    merged_record: str
    split_id: str  # the two-record customer a steward splits
    split_records: tuple[str, str]


def _regional_file(folder: Path, source_file: str) -> Path:
    return folder / source_file


def apply_delta(folder: Path) -> Delta:
    """Change the demo in ``folder`` (exports and steward decisions) and say what should follow."""
    config = load_config(folder / "customer_master.yaml")
    con = duckdb.connect(str(config.warehouse_path), read_only=True)
    try:
        current = """(SELECT x.customer_id, s.* FROM master.customer_xref x
                      JOIN staging.customers s USING (record_key) WHERE x.valid_to IS NULL)"""
        lone, lone_file = con.execute(
            f"""SELECT r.source_record_id, r.source_file FROM {current} r
                JOIN master.customers c USING (customer_id)
                WHERE c.record_count = 1 AND r.source = 'regional' AND r.entity_type = 'company'
                ORDER BY r.customer_id LIMIT 1"""
        ).fetchall()[0]
        merged_id = con.execute(
            f"SELECT customer_id FROM {current} WHERE record_key = ?", [f"regional:{lone}"]
        ).fetchall()[0][0]
        donor, survivor_id = con.execute(
            f"""SELECT r.source_record_id, r.customer_id FROM {current} r
                JOIN master.customers c USING (customer_id)
                WHERE c.record_count >= 3 AND r.source = 'regional' AND r.entity_type = 'company'
                  AND r.uscc IS NOT NULL
                ORDER BY c.record_count DESC, r.customer_id LIMIT 1"""
        ).fetchall()[0]
        split_id, left, right = con.execute(
            f"""SELECT customer_id, min(record_key), max(record_key) FROM {current}
                WHERE entity_type = 'company' AND customer_id NOT IN (?, ?)
                GROUP BY customer_id HAVING count(*) = 2 ORDER BY customer_id LIMIT 1""",
            [merged_id, survivor_id],
        ).fetchall()[0]
    finally:
        con.close()

    path = _regional_file(config.base_dir, lone_file)
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    donors = [r for p in path.parent.glob("*.csv") for r in _rows(p) if r[0] == donor]
    for row in rows[1:]:
        if row[0] == lone:
            row[1:] = donors[0][1:]
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(rows)
    with config.decisions_path.open("a", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        if f.tell() == 0:
            writer.writerow(
                ["record_key_l", "record_key_r", "decision", "decided_by", "decided_at", "note"]
            )
        writer.writerow([left, right, "no_match", "林小燕", "2026-11-30", "two shops, two owners"])
    return Delta(merged_id, survivor_id, f"regional:{lone}", split_id, (left, right))


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))[1:]

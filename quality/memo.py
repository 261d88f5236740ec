"""Check outcomes kept for a sync whose data did not change.

A check's verdict is a function of the tables it reads, the config and the code. When a
sync finds every step's inputs unchanged (``warehouse.step_inputs``) and the guarded table
unchanged, evaluating the check again gives the same verdict; ``quality.check_memo`` keeps
each guard's last outcomes with the fingerprint they were computed on, and the check step
reports them again (saying from which run) instead of reading a million rows again.
"""

from __future__ import annotations

import json

import duckdb

from quality.results import CheckOutcome

TABLE = "quality.check_memo"


def recall(
    con: duckdb.DuckDBPyConnection, guard: str, key: str
) -> tuple[str, list[CheckOutcome]] | None:
    """The run and outcomes ``guard`` had on inputs fingerprinted ``key``; None if not kept."""
    _ensure(con)
    row = con.execute(
        f"SELECT run_id, outcomes FROM {TABLE} WHERE guard = ? AND key = ?", [guard, key]
    ).fetchone()
    if row is None:
        return None
    return row[0], [CheckOutcome(**record) for record in json.loads(row[1])]


def keep(
    con: duckdb.DuckDBPyConnection, guard: str, key: str, run_id: str, outcomes: list[CheckOutcome]
) -> None:
    """Keep ``guard``'s outcomes of this run (replacing the earlier ones)."""
    _ensure(con)
    records = [
        {
            "name": o.name,
            "passed": o.passed,
            "description": o.description,
            "metadata": o.metadata,
            "severity": o.severity,
            "details": o.details,
        }
        for o in outcomes
    ]
    con.execute(f"DELETE FROM {TABLE} WHERE guard = ?", [guard])
    con.execute(
        f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?)",
        [guard, key, run_id, json.dumps(records, ensure_ascii=False, default=str)],
    )


def _ensure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS quality")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {TABLE} (
                guard VARCHAR, key VARCHAR, run_id VARCHAR, outcomes VARCHAR)"""
    )

"""Invariants of ``staging.customers`` that later layers rely on."""

from __future__ import annotations

import duckdb

from quality.results import ERROR, CheckDef, CheckOutcome

RECORD_KEY_UNIQUE_CHECK = "record_key_unique"
RECORD_KEY_UNIQUE = CheckDef(
    RECORD_KEY_UNIQUE_CHECK, ERROR, "Each staged record has its own record_key."
)


def check_record_key_unique(con: duckdb.DuckDBPyConnection) -> CheckOutcome:
    """Blocking check: every staged record has its own ``record_key`` (matching joins on it).

    The keys are grouped once; the repeated ones (none, on a sound day) are counted and the
    ten most repeated listed from that one result. Grouping every key twice, once for the
    examples and once for their number, took 0.42-0.62 s of CPU at 1.38M staged records
    (the 100k demo's ten times over, six runs alternated, load average 5-9); once,
    0.22-0.37 s.
    """
    duplicates = con.execute(
        """
        SELECT record_key, n, count(*) OVER () AS repeated FROM (
            SELECT record_key, count(*) AS n FROM staging.customers
            GROUP BY record_key HAVING count(*) > 1)
        ORDER BY n DESC, record_key LIMIT 10
        """
    ).fetchall()
    total = duplicates[0][2] if duplicates else 0
    return CheckOutcome(
        name=RECORD_KEY_UNIQUE_CHECK,
        passed=total == 0,
        description="record_key is unique"
        if total == 0
        else f"{total} record_key values are repeated",
        metadata={"duplicated_keys": total, "examples": [f"{k} ×{n}" for k, n, _ in duplicates]},
    )

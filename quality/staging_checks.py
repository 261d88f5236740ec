"""Invariants of ``staging.customers`` that later layers rely on."""

from __future__ import annotations

import duckdb

from quality.results import ERROR, CheckDef, CheckOutcome

RECORD_KEY_UNIQUE_CHECK = "record_key_unique"
RECORD_KEY_UNIQUE = CheckDef(
    RECORD_KEY_UNIQUE_CHECK, ERROR, "Each staged record has its own record_key."
)


def check_record_key_unique(con: duckdb.DuckDBPyConnection) -> CheckOutcome:
    """Blocking check: every staged record has its own ``record_key`` (matching joins on it)."""
    duplicates = con.execute(
        """
        SELECT record_key, count(*) AS n FROM staging.customers
        GROUP BY record_key HAVING count(*) > 1 ORDER BY n DESC, record_key LIMIT 10
        """
    ).fetchall()
    total = con.execute(
        "SELECT count(*) FROM (SELECT record_key FROM staging.customers GROUP BY 1 HAVING count(*) > 1)"
    ).fetchall()[0][0]
    return CheckOutcome(
        name=RECORD_KEY_UNIQUE_CHECK,
        passed=total == 0,
        description="record_key is unique"
        if total == 0
        else f"{total} record_key values are repeated",
        metadata={"duplicated_keys": total, "examples": [f"{k} ×{n}" for k, n in duplicates]},
    )

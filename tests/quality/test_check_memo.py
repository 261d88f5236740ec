"""The outcomes kept for a guard: recalled on the same inputs, replaced by the next ones."""

import duckdb

from quality import memo
from quality.results import CheckOutcome


def _outcome(passed: bool, rows: int) -> CheckOutcome:
    return CheckOutcome(
        name="rows_reconcile",
        passed=passed,
        description="every received row is staged or quarantined" if passed else "rows lost",
        metadata={"rows": rows, "per_feed": [{"feed": "dealers", "received": rows}]},
        severity="error",
        details={"rows": rows},
    )


def test_a_guard_recalls_its_outcomes_on_the_same_inputs_only():
    con = duckdb.connect()
    assert memo.recall(con, "staging.orders:rows_reconcile", "k1") is None
    memo.keep(con, "staging.orders:rows_reconcile", "k1", "run-1", [_outcome(True, 10)])
    assert memo.recall(con, "staging.orders:rows_reconcile", "k1") == (
        "run-1",
        [_outcome(True, 10)],
    )
    assert memo.recall(con, "staging.orders:rows_reconcile", "k2") is None
    assert memo.recall(con, "staging.interactions:rows_reconcile", "k1") is None


def test_keeping_again_replaces_the_guards_outcomes_and_leaves_the_others():
    con = duckdb.connect()
    memo.keep(con, "staging.orders:rows_reconcile", "k1", "run-1", [_outcome(True, 10)])
    memo.keep(con, "staging.receivables:rows_reconcile", "k9", "run-1", [_outcome(True, 3)])
    memo.keep(con, "staging.orders:rows_reconcile", "k2", "run-2", [_outcome(False, 12)])
    assert memo.recall(con, "staging.orders:rows_reconcile", "k1") is None
    assert memo.recall(con, "staging.orders:rows_reconcile", "k2") == (
        "run-2",
        [_outcome(False, 12)],
    )
    assert memo.recall(con, "staging.receivables:rows_reconcile", "k9") == (
        "run-1",
        [_outcome(True, 3)],
    )
    (rows,) = con.execute(f"SELECT count(*) FROM {memo.TABLE}").fetchone()
    assert rows == 2

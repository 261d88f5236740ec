"""Row counts of every feed, run after run, so a feed that suddenly shrinks is caught.

``quality.feed_row_counts`` holds one row per feed and run: the rows the raw table held and
whether the run accepted that count (its ``rows_vs_previous_run`` check passed). The next
run compares with the last *accepted* count, so a rerun of a broken export keeps failing
until the export is fixed or a person raises ``quality.max_row_drop_share`` for one run.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

TABLE = "quality.feed_row_counts"


def ensure_history(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS quality")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {TABLE} (
                feed VARCHAR, run_id VARCHAR, row_count BIGINT, accepted BOOLEAN,
                checked_at TIMESTAMP)"""
    )


def previous_row_count(con: duckdb.DuckDBPyConnection, feed: str, run_id: str) -> int | None:
    """The feed's row count in the last accepted run before ``run_id`` (None: no such run)."""
    ensure_history(con)
    row = con.execute(
        f"""SELECT row_count FROM {TABLE}
            WHERE feed = ? AND accepted AND run_id <> ?
            ORDER BY checked_at DESC LIMIT 1""",
        [feed, run_id],
    ).fetchone()
    return None if row is None else int(row[0])


def record_row_count(
    con: duckdb.DuckDBPyConnection,
    feed: str,
    run_id: str,
    row_count: int,
    accepted: bool,
    checked_at: datetime,
) -> None:
    """Keep this run's count (replacing an earlier attempt of the same run)."""
    ensure_history(con)
    con.execute(f"DELETE FROM {TABLE} WHERE feed = ? AND run_id = ?", [feed, run_id])
    con.execute(
        f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?)",
        [feed, run_id, row_count, accepted, checked_at],
    )

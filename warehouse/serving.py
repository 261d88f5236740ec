"""The serving index: what the HTTP service loads, published by every sync beside the exports.

Layout of ``<output_dir>/serving/`` (config ``serve.dir``)::

    CURRENT.json                  → {"run_id", "folder", "published_at"}: the index to serve
    20261202T014530-1a2b3c4d/     one folder per sync, complete before CURRENT names it
        serving.json              run, time, row counts of the tables below
        tables.duckdb             the tables a customer's page reads (``SERVING_TABLES``)
        check.json, check_*, model_*.json   the duplicate check's files (matching.check_store)

Publishing is the same promise as the Parquet exports, for a whole folder: everything is
written into a hidden folder, renamed into place, and only then does ``CURRENT.json`` (one
atomic rename) point to it. A service that reads ``CURRENT.json`` therefore always finds a
complete index, and a sync that fails midway leaves the previous one served. Older folders
are removed, keeping ``serve.keep`` (the current one and the ones before it, which a
service may still be loading when a new sync publishes). A delta day's folder hard-links
the files of the duplicate check it shares with the current one (``matching.check_delta``):
removing an older folder removes one name of such a file, never its bytes while a newer
folder names it.

The customer tables are copied into the folder, not read from the exports or the
warehouse: the exports move at the next sync, the warehouse is locked while a sync writes
it, and a service must answer from one sync at a time. They are one DuckDB database file,
each table ordered by its customer, so the service opens it read-only in milliseconds and
DuckDB reads (and caches) only the blocks a request touches, skipping the others by their
min/max; copying the tables into memory took the service 40 s at a million records.

A sync that changed a few customers does not write that file again: it copies the current
one (a file copy) and rewrites in each table only the
rows of the customers whose rows differ (``write_tables`` with ``previous``). At 100k
records a 1% day's tables took 2.7-3.3 s of CPU this way against 5.1-5.7 s written whole.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from matching.master.build import GOLDEN_TOUCHED
from matching.master.customer_ids import CUSTOMER_IDS_TOUCHED
from matching.master.relationships import RELATIONSHIPS_TOUCHED
from warehouse.files import write_json_atomically
from warehouse.store import table_exists
from warehouse.views import CURRENT_RECORDS

log = logging.getLogger(__name__)

POINTER = "CURRENT.json"
CONTENTS = "serving.json"
#: The customer tables of one index, a DuckDB database file in its folder.
TABLES = "tables.duckdb"

#: Table file → the query that fills it. Every sync builds the master tables and the marts;
#: ``records`` are the current source records with their customer; ``review_queue`` the pairs
#: stewards decide on the review page.
SERVING_TABLES: dict[str, str] = {
    "customers": "FROM master.customers",
    "customer_ids": "FROM master.customer_ids",
    "attribute_lineage": "FROM master.attribute_lineage",
    "records": f"FROM {CURRENT_RECORDS}",
    "relationships": "FROM master.relationships",
    "customer_roles": "FROM master.customer_roles",
    "customer_value": "FROM marts.customer_value",
    "customer_lifecycle": "FROM marts.customer_lifecycle",
    "followup_today": "FROM marts.followup_today",
    "review_queue": "FROM matching.review_queue",
}
#: Every warehouse table a serving index is made from: those of ``SERVING_TABLES`` (the
#: current records are the staged ones with their xref rows) and what the duplicate check
#: indexes (the sync's prepared records, the models in use). While none of them changes, the
#: published index stays current.
SERVING_INPUTS = (
    "master.customers",
    "master.customer_ids",
    "master.attribute_lineage",
    "staging.customers",
    "master.customer_xref",
    "master.relationships",
    "master.customer_roles",
    "marts.customer_value",
    "marts.customer_lifecycle",
    "marts.followup_today",
    "matching.review_queue",
    "matching.prepared_records",
    "matching.models",
)


@dataclass(frozen=True)
class ServingPointer:
    """Which published serving index is current."""

    run_id: str
    folder: Path
    published_at: str

    @property
    def contents(self) -> dict[str, Any]:
        return json.loads((self.folder / CONTENTS).read_text(encoding="utf-8"))


def read_pointer(serving_dir: Path) -> ServingPointer | None:
    """The current serving index under ``serving_dir``; None when no sync published one."""
    try:
        data = json.loads((serving_dir / POINTER).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return ServingPointer(data["run_id"], serving_dir / data["folder"], data["published_at"])


#: The column each table is ordered by: a customer's rows lie together, so a page's
#: lookups read one block per table.
_ORDER = ("customer_id", "from_customer_id", "record_key_l")

#: Columns of a table that a sync changes on rows whose content did not change: a record's
#: ``source_row`` moves when a row above it in its file is removed, ``ingested_at`` when
#: its file is read again (on a 1% day at 100k records, 116,022 of 137,587 rows of
#: ``records`` differed, and without these two columns the rows of 2,100 records' customers),
#: ``source_file`` when a feed sends the same record in another file. The golden step's
#: fingerprint of a record leaves out the same three (``matching.master.built_from``).
#: A customer's ``revenue_share`` and ``cumulative_share`` of ``customer_value`` move with
#: any other customer's order (on that day, 42,184 of 77,492 rows differed in them and in
#: nothing else but for 115 customers, so the table was written whole every sync).
#: They are kept in a narrow ``<table>_lineage`` table written whole; the table itself
#: holds them as nulls, and the view a reader sees (``open_tables``) puts them back.
VOLATILE_COLUMNS: dict[str, tuple[str, ...]] = {
    "records": ("source_file", "source_row", "ingested_at"),
    "customer_value": ("revenue_share", "cumulative_share"),
}
#: The columns that find a row's lineage row (its customer first: a page's lookup by
#: customer reads one block of each table).
_LINEAGE_KEY: dict[str, tuple[str, ...]] = {
    "records": ("customer_id", "record_key"),
    "customer_value": ("customer_id",),
}

#: A table updated over the previous index's file keeps its rows ordered by customer, but
#: for those of the customers changed since it was last written whole, appended at its
#: end, where every lookup reads them too. Once they would exceed this share of its rows,
#: the table is written whole again; so is one whose changed customers hold that many rows
#: (a mart whose shares all moved), where deleting and appending them costs more than the
#: write.
REWRITE_SHARE = 0.2
#: Table name → rows appended since the table was last written whole, in ``TABLES``.
_APPENDED = "_appended"

#: Serving tables whose rows of a customer follow from its current records alone (their
#: staged values, volatile columns apart, and when each entered the master): its golden
#: record, the lineage of its values, the records themselves. The golden step logs the
#: customers it touched (a record joined or left them, or a record of theirs changed) since
#: the index was last published (``GOLDEN_TOUCHED``), and the next sync rewrites in these
#: tables those customers, instead of hashing every row of both sides. Before, the index
#: kept a copy of the golden step's snapshot of its inputs and compared it with the
#: warehouse's on every sync: at 100k records after a 1% day 0.05-0.26 s of CPU for the
#: comparison and 0.02-0.12 s for updating the copy, both growing with the master.
BY_RECORDS = ("customers", "attribute_lineage", "records")
#: Serving table → the log its writer keeps of the customers (the table's ``_ORDER``
#: column) whose rows it deleted or wrote since the index now current was published: the
#: golden step's for ``BY_RECORDS``, the customer-ID step's for ``customer_ids`` (the
#: registry, updated in place), the relationships step's for ``relationships`` (which it
#: updates in place for the customers it read again). Each is dropped by a whole build of
#: its table, added to otherwise, and started empty by the serving step once its index is
#: published (:func:`restart_touched_log`); a table without its log is compared by
#: hashing, as are the tables their writers build whole (the marts, roles, review queue).
#: Hashing read every row of a table on both sides: at 100k records after a 1% day
#: 0.03-0.04 s of CPU each for ``relationships`` (lists of evidence included) and
#: ``customer_ids``, ten times that at 1M.
LOGGED: dict[str, str] = {
    **dict.fromkeys(BY_RECORDS, GOLDEN_TOUCHED),
    "customer_ids": CUSTOMER_IDS_TOUCHED,
    "relationships": RELATIONSHIPS_TOUCHED,
}


def _stored(name: str) -> str:
    """The table of ``TABLES`` that holds ``name``'s rows."""
    return f"{name}_values" if name in VOLATILE_COLUMNS else name


def _stored_query(query: str, volatile: tuple[str, ...]) -> str:
    """The rows ``TABLES`` keeps of a serving table: its query, with its ``volatile``
    columns as nulls of their type."""
    if not volatile:
        return query
    nulled = ", ".join(f"CASE WHEN false THEN {c} END AS {c}" for c in volatile)
    return f"SELECT * REPLACE ({nulled}) FROM ({query})"


def _serving_view(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """The query a reader of ``open_tables`` sees as ``name``: every column in its place."""
    if name not in VOLATILE_COLUMNS:
        return f"FROM published.{name}"
    lineage = [c for c, _ in _columns(con, f"FROM published.{name}_lineage")]
    volatile = [c for c in lineage if c not in _LINEAGE_KEY[name]]
    if not volatile:
        return f"FROM published.{_stored(name)}"
    replaced = ", ".join(f"l.{c} AS {c}" for c in volatile)
    return (
        f"SELECT v.* REPLACE ({replaced}) FROM published.{_stored(name)} v "
        f"JOIN published.{name}_lineage l USING ({', '.join(_LINEAGE_KEY[name])})"
    )


def write_tables(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    previous: Path | None = None,
    rewrite_share: float = REWRITE_SHARE,
) -> dict[str, int]:
    """The customer tables of the warehouse on ``con`` into ``folder``'s ``TABLES`` file
    (``con`` may be read-only); the rows written per table.

    With ``previous`` (the folder of the index being replaced), its file is copied and
    each table updated: the rows of the customers whose rows differ are deleted and
    written again, the others stay. In the tables of ``LOGGED``, those are the customers
    their writer logged since the index now current was published (``GOLDEN_TOUCHED``,
    ``CUSTOMER_IDS_TOUCHED``, ``RELATIONSHIPS_TOUCHED``, which the caller starts again once this index is:
    :func:`restart_touched_log`); in the others (or without their log), the customers
    whose rows hash differently:
    a 64-bit hash of each row, summed per customer with the count of rows, on both sides
    (a changed customer goes unseen only if the sums collide, odds about one in 10¹⁹).
    """
    target = folder / TABLES
    if previous is not None and (previous / TABLES).is_file():
        shutil.copyfile(previous / TABLES, target)
    rows: dict[str, int] = {}
    con.execute(f"ATTACH '{target}' AS serving_out (READ_WRITE)")
    try:
        con.execute(f"CREATE TABLE IF NOT EXISTS serving_out.{_APPENDED} (name VARCHAR, n BIGINT)")
        appended = dict(con.execute(f"FROM serving_out.{_APPENDED}").fetchall())
        for name, query in SERVING_TABLES.items():
            started = time.perf_counter()
            present = {c for c, _ in _columns(con, query)}
            volatile = tuple(c for c in VOLATILE_COLUMNS.get(name, ()) if c in present)
            stored, stored_query = _stored(name), _stored_query(query, volatile)
            columns = _columns(con, stored_query)
            order = next((c for c in _ORDER if c in dict(columns)), None)
            kept = (
                _columns(con, f"FROM serving_out.{stored}")
                if table_exists(con, "main", stored, database="serving_out")
                else None
            )
            if name in VOLATILE_COLUMNS:
                # written whole, before the table: its rows are the query's, one each, so
                # they count a customer's rows without reading the query again
                key = _LINEAGE_KEY[name]
                con.execute(
                    f"CREATE OR REPLACE TABLE serving_out.{name}_lineage AS "
                    f"SELECT {', '.join(key + volatile)} FROM ({query}) "
                    f"ORDER BY {key[0]}"
                )
            added = None
            if order is not None and kept == columns:
                added = _update_table(
                    con,
                    stored,
                    query,
                    volatile,
                    order,
                    appended.get(name, 0),
                    rewrite_share,
                    touched=name in LOGGED and _register_touched(con, LOGGED[name]),
                    counted=f"serving_out.{name}_lineage" if name in VOLATILE_COLUMNS else query,
                )
            if added is None:
                by = f" ORDER BY {order}" if order else ""
                con.execute(
                    f"CREATE OR REPLACE TABLE serving_out.{stored} AS "
                    f"SELECT * FROM ({stored_query}){by}"
                )
                appended[name] = 0
            else:
                appended[name] = appended.get(name, 0) + added
            rows[name] = int(
                con.execute(f"SELECT count(*) FROM serving_out.{stored}").fetchall()[0][0]
            )
            # which table costs what on a day, for a benchmark's log (DEBUG)
            log.debug(
                "serving table %s: %s in %.2f s",
                name,
                "written whole" if added is None else f"{added} rows rewritten",
                time.perf_counter() - started,
            )
        # tables of an earlier layout copied with the file (``records`` before its lineage
        # was split off, the copy of the golden inputs before the log) would only take space
        expected = {_APPENDED, *map(_stored, SERVING_TABLES)}
        expected |= {f"{name}_lineage" for name in VOLATILE_COLUMNS}
        for (stale,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'serving_out'"
        ).fetchall():
            if stale not in expected:
                con.execute(f"DROP TABLE serving_out.{stale}")
        con.execute(f"DELETE FROM serving_out.{_APPENDED}")
        con.executemany(
            f"INSERT INTO serving_out.{_APPENDED} VALUES (?, ?)", sorted(appended.items())
        )
    finally:
        con.execute("DROP TABLE IF EXISTS __serving_touched")
        con.execute("DETACH serving_out")
    return rows


def _register_touched(con: duckdb.DuckDBPyConnection, touched_log: str) -> bool:
    """Temp table ``__serving_touched``: the customers ``touched_log`` (of ``LOGGED``)
    holds, those whose rows its writer changed since the index copied into ``serving_out``
    was published, each once; False when the warehouse keeps no such log (a whole build of
    the table since, or a warehouse of an earlier version), and the table is compared by
    hashing."""
    if not table_exists(con, *touched_log.split(".")):
        return False
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __serving_touched AS "
        f"SELECT DISTINCT customer_id AS customer FROM {touched_log}"
    )
    return True


def restart_touched_log(con: duckdb.DuckDBPyConnection) -> None:
    """Start the writers' logs of touched customers (``LOGGED``) empty: called once the
    index written from this warehouse is published (current), so each log holds what
    changed since the current index. Not before: a sync that fails before it publishes
    leaves the previous index current and the logs still holding what changed since it; a
    sync stopped between a table's change and its log logs those customers again next
    time, rewriting rows that did not change, never missing one that did."""
    for touched_log in sorted(set(LOGGED.values())):
        con.execute(f"CREATE OR REPLACE TABLE {touched_log} (customer_id VARCHAR)")


def _update_table(
    con: duckdb.DuckDBPyConnection,
    stored: str,
    query: str,
    volatile: tuple[str, ...],
    order: str,
    appended: int,
    rewrite_share: float,
    touched: bool = False,
    counted: str | None = None,
) -> int | None:
    """Bring ``serving_out.<stored>`` to the rows of ``query`` as stored (its ``volatile``
    columns nulled) by rewriting the rows of the ``order`` values (customers) whose rows
    differ (``touched``: those of ``__serving_touched``); the number of rows appended, or
    None (nothing done) when that many rows are better written whole (``REWRITE_SHARE``).
    ``counted``: a table with one row per row of ``query`` and its ``order`` column, where
    the touched customers' rows are counted (``query`` by default): ``records``' lineage,
    written first, instead of every staged record joined again to its customer (at 100k
    records after a 1% day, 0.05 s of CPU of the index's 1.1 s).

    The changed customers' rows are picked from ``query`` before its volatile columns are
    nulled, by a plain ``IN`` (rows without a customer only when that group changed): with
    the filter above that projection, or with an ``OR EXISTS`` for the null group, DuckDB
    joined ``records`` (staged records with their customers) whole, every staged column,
    before dropping all but the changed customers' rows: at 100k records after a 1% day,
    0.11-0.12 s of CPU for that insert against 0.07 s."""
    stored_query = _stored_query(query, volatile)
    if touched:
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE __serving_changed AS
            SELECT t.customer, count(q.{order}) AS n
            FROM __serving_touched t LEFT JOIN ({counted or query}) q ON q.{order} = t.customer
            GROUP BY ALL"""
        )
    else:
        _hash_changed(con, stored, stored_query, order)
    try:
        changed, total = con.execute(
            f"SELECT (SELECT coalesce(sum(n), 0) FROM __serving_changed), "
            f"(SELECT count(*) FROM serving_out.{stored})"
        ).fetchall()[0]
        if appended + changed > rewrite_share * max(total, 1):
            return None
        of_changed = f"{order} IN (SELECT customer FROM __serving_changed)"
        null_changed = "SELECT count(*) FROM __serving_changed WHERE customer IS NULL"
        if con.execute(null_changed).fetchall()[0][0]:
            of_changed = f"({of_changed} OR {order} IS NULL)"
        con.execute(f"DELETE FROM serving_out.{stored} WHERE {of_changed}")
        rows_of_changed = _stored_query(f"SELECT * FROM ({query}) WHERE {of_changed}", volatile)
        con.execute(f"INSERT INTO serving_out.{stored} {rows_of_changed} ORDER BY {order}")
        return int(changed)
    finally:
        con.execute("DROP TABLE IF EXISTS __serving_changed")


def _hash_changed(con: duckdb.DuckDBPyConnection, stored: str, query: str, order: str) -> None:
    """Temp table ``__serving_changed``: the ``order`` values (customers) whose rows of
    ``query`` and of ``serving_out.<stored>`` differ, found by hashing both sides, with the
    number of rows ``query`` has for each (``n``)."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE __serving_changed AS
        WITH fresh AS (
            SELECT {order} AS customer, count(*) AS n, sum(hash(q)::HUGEINT) AS h
            FROM ({query}) q GROUP BY ALL),
        kept AS (
            SELECT {order} AS customer, count(*) AS n, sum(hash(q)::HUGEINT) AS h
            FROM serving_out.{stored} q GROUP BY ALL)
        SELECT coalesce(fresh.customer, kept.customer) AS customer, coalesce(fresh.n, 0) AS n
        FROM fresh FULL JOIN kept ON fresh.customer IS NOT DISTINCT FROM kept.customer
        WHERE fresh.n IS DISTINCT FROM kept.n OR fresh.h IS DISTINCT FROM kept.h"""
    )


def _columns(con: duckdb.DuckDBPyConnection, query: str) -> list[tuple[str, str]]:
    """The (name, type) of each column of ``query``."""
    description = con.execute(f"SELECT * FROM ({query}) LIMIT 0").description
    return [(d[0], str(d[1])) for d in description]


def open_tables(folder: Path) -> duckdb.DuckDBPyConnection:
    """A connection on which ``folder``'s customer tables answer by their names (views on
    the ``TABLES`` file, attached read-only; nothing is read until a query needs it). Its
    own in-memory catalog takes whatever a reader creates (a role's scope). The open file
    stays readable even once a later sync prunes the folder.

    Raises:
        FileNotFoundError: the folder has no ``TABLES`` file.
        duckdb.Error: the file is not a DuckDB database or lacks a table.
    """
    path = folder / TABLES
    if not path.exists():
        raise FileNotFoundError(f"{path}: no customer tables in this serving index")
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute(f"ATTACH '{path}' AS published (READ_ONLY)")
        for name in SERVING_TABLES:
            con.execute(f"CREATE VIEW {name} AS {_serving_view(con, name)}")
    except BaseException:
        con.close()
        raise
    return con


def read_table(folder: Path, name: str) -> pd.DataFrame:
    """One customer table of the serving index in ``folder``, whole (for tools and tests)."""
    con = open_tables(folder)
    try:
        return con.sql(f"FROM {name}").df()
    finally:
        con.close()


@contextmanager
def publishing(
    serving_dir: Path, run_id: str, published_at: datetime, keep: int = 2
) -> Iterator[tuple[Path, dict[str, Any]]]:
    """``with publishing(dir, run_id, at) as (folder, contents):`` fill ``folder`` and add
    to ``contents``; on a clean exit the folder is moved into place and made current, on an
    error it is removed and the current index stays."""
    serving_dir.mkdir(parents=True, exist_ok=True)
    name = f"{published_at:%Y%m%dT%H%M%S}-{run_id[:8]}"
    hidden = serving_dir / f".{name}.tmp"
    shutil.rmtree(hidden, ignore_errors=True)
    hidden.mkdir()
    contents: dict[str, Any] = {
        "run_id": run_id,
        "published_at": published_at.isoformat(timespec="seconds"),
    }
    try:
        yield hidden, contents
        (hidden / CONTENTS).write_text(json.dumps(contents, indent=2), encoding="utf-8")
        final = serving_dir / name
        shutil.rmtree(final, ignore_errors=True)
        os.replace(hidden, final)
    except BaseException:
        shutil.rmtree(hidden, ignore_errors=True)
        raise
    write_json_atomically(
        serving_dir / POINTER,
        {"run_id": run_id, "folder": name, "published_at": contents["published_at"]},
    )
    log.info("serving index %s published (run %s)", final, run_id)
    _prune(serving_dir, name, keep)


def _prune(serving_dir: Path, current: str, keep: int) -> None:
    """Remove published folders beyond the ``keep`` newest (the current one always stays)."""
    folders = sorted(
        (p for p in serving_dir.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.name,
        reverse=True,
    )
    kept = [p for p in folders if p.name == current] + [p for p in folders if p.name != current]
    for old in kept[keep:]:
        shutil.rmtree(old, ignore_errors=True)
    for leftover in serving_dir.glob(".*.tmp"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)

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
service may still be loading when a new sync publishes).

The customer tables are copied into the folder, not read from the exports or the
warehouse: the exports move at the next sync, the warehouse is locked while a sync writes
it, and a service must answer from one sync at a time. They are one DuckDB database file,
each table ordered by its customer, so the service opens it read-only in milliseconds and
DuckDB reads (and caches) only the blocks a request touches, skipping the others by their
min/max; copying the tables into memory took the service 40 s at a million records.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from warehouse.files import write_json_atomically
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


def write_tables(con: duckdb.DuckDBPyConnection, folder: Path) -> dict[str, int]:
    """The customer tables of the warehouse on ``con`` into ``folder``'s ``TABLES`` file
    (``con`` may be read-only); the rows written per table."""
    rows = {}
    con.execute(f"ATTACH '{folder / TABLES}' AS serving_out (READ_WRITE)")
    try:
        for name, query in SERVING_TABLES.items():
            columns = {d[0] for d in con.execute(f"SELECT * FROM ({query}) LIMIT 0").description}
            order = next((c for c in _ORDER if c in columns), None)
            by = f" ORDER BY {order}" if order else ""
            con.execute(f"CREATE TABLE serving_out.{name} AS SELECT * FROM ({query}){by}")
            rows[name] = int(
                con.execute(f"SELECT count(*) FROM serving_out.{name}").fetchall()[0][0]
            )
    finally:
        con.execute("DETACH serving_out")
    return rows


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
            con.execute(f"CREATE VIEW {name} AS FROM published.{name}")
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

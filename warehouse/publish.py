"""Publishing: the tables other tools read, as Parquet files with a manifest.

Every published table ``schema.table`` becomes ``<exports>/<table>.parquet``; beside them
``_manifest.json`` lists, per table, the file, its columns and types, its row count and
the SHA-256 of its bytes, with the run that published them and when.

A reader never sees half of anything, and a failure leaves the previous export whole:

1. every table is written to a temporary file in the export folder first;
2. only when all of them are written are they renamed over the published files
   (``os.replace``: atomic per file);
3. the manifest is written last, atomically, so it always describes files that are
   complete. A reader that wants a consistent set checks each file's ``sha256``.

Rows are sorted on all columns, and DuckDB writes the same bytes for the same rows, so a
sync over unchanged inputs publishes byte-identical files: only the manifest's
``run_id`` and ``published_at`` move. A table whose leading columns identify its rows
(``ROW_KEYS``) is sorted on those alone: no two rows tie on them, so the order is the
same, and so are the bytes, without comparing every other column. A caller that knows a table's rows are those of its
published file (``unchanged``: the pipeline compares the table's fingerprint with the one
it published) has that file kept instead of exported again, once its bytes are checked
against the manifest: sorting and compressing the unchanged tables was most of a
publication's time on a day that changed a few of them, and all of it on a day that
changed none.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from warehouse.files import temporary_beside, write_json_atomically
from warehouse.store import qualified, table_exists

log = logging.getLogger(__name__)

MANIFEST = "_manifest.json"
MANIFEST_VERSION = 1
#: What writes the files: the same rows give the same bytes with the same writer only.
WRITER = f"duckdb {duckdb.__version__}"
#: Files ``publish_tables`` writes at once. DuckDB writes one sorted Parquet file on about
#: one core (a 1% day's 14 tables at 100k records: 1.0 s wall, 0.99 s of CPU), so on the
#: two cores of the benchmark's machine two files at once take about half the wall time
#: when the other core is free; the bytes are the same.
EXPORT_WORKERS = 2
#: Published table → the columns that identify one of its rows (its grain, as
#: docs/schema.md states it), which are also its leading columns. Sorting on them gives the
#: order of sorting on all columns, as no two rows share them. On a 1% day's warehouse at
#: 100k records, with the rows copied ten times (775k), a file's export took 5-7% less CPU
#: for ``customers`` and ``customer_360`` and 23% less for ``customer_value`` (its
#: ``as_of``, the same on every row, came first), the same bytes. A table not listed here,
#: or whose leading columns are not these, is sorted on all columns.
ROW_KEYS: dict[str, tuple[str, ...]] = {
    "master.customers": ("customer_id",),
    "master.relationships": ("from_customer_id", "to_customer_id", "relationship_type"),
    "master.customer_roles": ("customer_id", "role"),
    "marts.customer_value": ("as_of", "customer_id"),
    "marts.customer_lifecycle": ("as_of", "customer_id"),
    "marts.followup_today": ("priority",),
    "marts.customer_360": ("customer_id",),
    "marts.next_order": ("as_of", "customer_id"),
    "marts.customer_satisfaction": ("as_of", "customer_id"),
}


@dataclass(frozen=True)
class PublishedTable:
    """One exported table: where it came from, where it is, what it holds."""

    table: str
    file: str
    rows: int
    columns: dict[str, str]
    sha256: str
    bytes: int

    @property
    def name(self) -> str:
        return self.table.split(".", 1)[1]

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "file": self.file,
            "rows": self.rows,
            "bytes": self.bytes,
            "sha256": self.sha256,
            "columns": self.columns,
        }


@dataclass(frozen=True)
class Publication:
    """What one run published: its tables and the manifest describing them."""

    run_id: str
    published_at: datetime
    directory: Path
    tables: list[PublishedTable]
    #: more manifest entries (a role's set names its role, masking and withheld tables)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def manifest_path(self) -> Path:
        return self.directory / MANIFEST

    def manifest(self) -> dict[str, Any]:
        return {
            "manifest_version": MANIFEST_VERSION,
            "run_id": self.run_id,
            "published_at": self.published_at.isoformat(timespec="seconds"),
            "format": "parquet",
            "tables": {t.name: t.as_dict() for t in self.tables},
            **self.extra,
        }


def publish_tables(
    con: duckdb.DuckDBPyConnection,
    tables: list[str],
    directory: Path,
    run_id: str,
    published_at: datetime,
    unchanged: Collection[str] = (),
) -> Publication:
    """Export ``tables`` (``schema.table``) to ``directory`` as Parquet, then write the manifest.

    Args:
        con: the warehouse connection.
        tables: the tables to publish; each is exported as ``<table>.parquet``.
        directory: the export folder (created when missing).
        run_id, published_at: recorded in the manifest.
        unchanged: tables whose rows are the ones the last publication in ``directory``
            exported; their files are kept when still as its manifest lists them.
    Returns:
        The publication, as written to ``directory/_manifest.json``.
    Raises:
        ValueError: a table does not exist in the warehouse; nothing is replaced.
    """
    missing = [t for t in tables if not table_exists(con, *t.split(".", 1))]
    if missing:
        raise ValueError(
            f"cannot publish {', '.join(missing)}: not in the warehouse (has its asset run?)"
        )
    queries = {table: f"SELECT * FROM {qualified(*table.split('.', 1))}" for table in tables}
    return publish_queries(
        con,
        queries,
        directory,
        run_id,
        published_at,
        unchanged=unchanged,
        workers=EXPORT_WORKERS,
        costs=export_costs(con, tables),
    )


def export_costs(con: duckdb.DuckDBPyConnection, tables: Collection[str]) -> dict[str, int]:
    """Each of ``tables``' (``schema.table``) rows times columns, as DuckDB's catalog
    estimates them without reading the table: what its export costs, roughly (at 100k
    records after a 1% day, customer_360's 4.2M cells and customers' 2.5M took 1.1 and 1.3 s,
    customer_xref's 1.1M 0.5 s, lead_funnel's 11k 0.05 s)."""
    found = con.execute(
        "SELECT schema_name || '.' || table_name, estimated_size * column_count "
        "FROM duckdb_tables() WHERE database_name = current_database()"
    ).fetchall()
    return {name: int(cost) for name, cost in found if name in tables}


def publish_queries(
    con: duckdb.DuckDBPyConnection,
    queries: dict[str, str],
    directory: Path,
    run_id: str,
    published_at: datetime,
    extra: dict[str, Any] | None = None,
    before_manifest: Callable[[Publication], dict[str, Any]] | None = None,
    unchanged: Collection[str] = (),
    workers: int = 1,
    costs: Mapping[str, int] | None = None,
) -> Publication:
    """Export each query's rows as ``<table>.parquet`` in ``directory`` (sorted on all
    columns), then write the manifest: the export of ``publish_tables``, for tables cut or
    masked on the way (the role-scoped sets).

    Args:
        queries: ``schema.table`` → the SELECT giving its published rows.
        extra: more manifest entries.
        before_manifest: called with the publication once its files are in place and
            before the manifest is written; what it returns is added to the manifest.
        unchanged: tables whose query gives the rows the last publication in ``directory``
            exported for them: a file still as that manifest lists it is kept as it is.
        workers: files written at once, each on its own cursor of ``con`` (``EXPORT_WORKERS``);
            only for queries that read no temporary table of ``con`` (a cursor sees none).
        costs: table → what its export costs, roughly (``export_costs``): with ``workers``,
            the costliest are started first, so that no large file starts last while the
            other workers have run out of files (the manifest keeps the order of ``queries``).
    """
    directory.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(directory)
    kept = _kept_files(directory, [t for t in queries if t in unchanged])
    todo = {table: query for table, query in queries.items() if table not in kept}
    written = _export_all(con, todo, directory, workers, costs or {})
    try:
        for published, temporary in written:
            os.replace(temporary, directory / published.file)
    finally:
        for _, temporary in written:
            temporary.unlink(missing_ok=True)
    exported = {p.table: p for p, _ in written}
    publication = Publication(
        run_id,
        published_at,
        directory,
        [kept[t] if t in kept else exported[t] for t in queries],
        dict(extra or {}),
    )
    if before_manifest is not None:
        publication.extra.update(before_manifest(publication))
    write_json_atomically(publication.manifest_path, publication.manifest())
    log.info("published %d tables to %s (%d kept unchanged)", len(queries), directory, len(kept))
    return publication


def read_manifest(directory: Path) -> dict[str, Any]:
    """The manifest of the export folder ``directory``."""
    return json.loads((directory / MANIFEST).read_text(encoding="utf-8"))


def parquet_columns(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, str]:
    """Column → type of a Parquet file, as DuckDB reads it."""
    described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({_literal(path)})").fetchall()
    return {name: type_ for name, type_, *_ in described}


def _export_all(
    con: duckdb.DuckDBPyConnection,
    queries: dict[str, str],
    directory: Path,
    workers: int,
    costs: Mapping[str, int],
) -> list[tuple[PublishedTable, Path]]:
    """``_export`` of each query, ``workers`` at once (each on its own cursor), the costliest
    started first (``largest_first``); returned in the order of ``queries``. When one
    fails, the temporary files of the others are removed once all have stopped, and its
    error is raised."""
    if workers <= 1 or len(queries) < 2:
        written: list[tuple[PublishedTable, Path]] = []
        try:
            for table, query in queries.items():
                written.append(_export(con, table, query, directory))
        except BaseException:
            for _, temporary in written:
                temporary.unlink(missing_ok=True)
            raise
        return written

    def export(table: str, query: str) -> tuple[PublishedTable, Path]:
        cursor = con.cursor()  # DuckDB: one connection per thread
        try:
            return _export(cursor, table, query, directory)
        finally:
            cursor.close()

    with ThreadPoolExecutor(workers, thread_name_prefix="publish") as pool:
        started = {
            table: pool.submit(export, table, queries[table])
            for table in largest_first(queries, costs)
        }
        futures = [started[table] for table in queries]
        wait(futures)
    failed = [f.exception() for f in futures if f.exception() is not None]
    if failed:
        for future in futures:
            if future.exception() is None:
                future.result()[1].unlink(missing_ok=True)
        raise failed[0]  # type: ignore[misc]
    return [future.result() for future in futures]


def largest_first(tables: Collection[str], costs: Mapping[str, int]) -> list[str]:
    """``tables`` in the order to start their exports on several workers: costliest first
    (a table without a known cost first of all, as it may be any size), else as given.

    Started in the config's order, the two largest files of the default set (customers,
    first, and customer_360, eighth) ran one after the other on one worker while the other
    ran out of files: with the seconds each of the 14 files took alone at 100k records after
    a 1% day (5.09 s in all), two workers need 2.76 s that way and 2.54 s largest first."""
    given = list(tables)
    return sorted(given, key=lambda t: (t in costs, -costs.get(t, 0), given.index(t)))


def _export(
    con: duckdb.DuckDBPyConnection, table: str, query: str, directory: Path
) -> tuple[PublishedTable, Path]:
    """Write the rows of ``query`` (published as ``table``) to a temporary Parquet file in
    ``directory``; describe it (its row count as COPY reports it, its columns as DuckDB
    reads the file)."""
    name = table.split(".", 1)[1]
    temporary = temporary_beside(directory / f"{name}.parquet")
    try:
        copied = con.execute(
            f"COPY (SELECT * FROM ({query}) ORDER BY {_sort_order(con, table, query)}) "
            f"TO {_literal(temporary)} (FORMAT parquet, COMPRESSION zstd)"
        )
        rows = int(copied.fetchall()[0][0])  # COPY answers with the rows it wrote
        published = PublishedTable(
            table=table,
            file=f"{name}.parquet",
            rows=rows,
            columns=parquet_columns(con, temporary),
            sha256=_sha256(temporary),
            bytes=temporary.stat().st_size,
        )
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    log.info("%s: %d rows → %s", table, rows, published.file)
    return published, temporary


def _sort_order(con: duckdb.DuckDBPyConnection, table: str, query: str) -> str:
    """The ORDER BY of ``table``'s export: its ``ROW_KEYS`` when they are the leading
    columns of ``query``'s rows, else all columns."""
    key = ROW_KEYS.get(table)
    if key is None:
        return "ALL"
    leading = [d[0] for d in con.execute(f"SELECT * FROM ({query}) LIMIT 0").description]
    if tuple(leading[: len(key)]) != key:
        return "ALL"
    return ", ".join(f'"{column}"' for column in key)


def _kept_files(directory: Path, tables: list[str]) -> dict[str, PublishedTable]:
    """Those of ``tables`` whose file in ``directory`` is, byte for byte, the one the
    current manifest lists for them (its size and SHA-256): table → its manifest entry.
    A file that is missing, changed or listed for another table is exported again."""
    if not tables or not (directory / MANIFEST).is_file():
        return {}
    try:
        listed = read_manifest(directory).get("tables", {})
    except (OSError, ValueError):
        return {}
    kept = {}
    for table in tables:
        name = table.split(".", 1)[1]
        entry = listed.get(name)
        if not isinstance(entry, dict) or entry.get("table") != table:
            continue
        if entry.get("file") != f"{name}.parquet":
            continue
        path = directory / str(entry.get("file"))
        if (
            path.is_file()
            and path.stat().st_size == entry.get("bytes")
            and _sha256(path) == entry.get("sha256")
        ):
            kept[table] = PublishedTable(
                table=table,
                file=entry["file"],
                rows=int(entry["rows"]),
                columns=dict(entry["columns"]),
                sha256=entry["sha256"],
                bytes=int(entry["bytes"]),
            )
    return kept


def _remove_leftovers(directory: Path) -> None:
    """Temporary files of a run that died mid-export: never published, safe to remove."""
    for leftover in directory.glob(".*.tmp"):
        leftover.unlink(missing_ok=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"

"""Ingestion: every file of a feed, as sent, into one raw table with lineage.

A raw table keeps the export's own columns untouched (all text) and adds who sent
what and where it stood: ``source``, ``source_file``, ``source_row``, ``ingested_at``
and ``record_hash`` (a fingerprint of the row's content, for change detection between
runs). Physical rows a reader could not split into fields are returned beside it so
that they are quarantined, not lost.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sources.config import FileSpec, PipelineConfig
from sources.readers import (
    ReadResult,
    RejectedRow,
    SourceReadError,
    detect_format,
    expand_paths,
    read_export,
)
from sources.readers.csv_reader import Tail, read_csv_tail
from sources.readers.model import row_numbers
from sources.schema import LINEAGE_COLUMNS
from warehouse.step_inputs import file_fingerprint
from warehouse.store import qualified, quote, table_exists

log = logging.getLogger(__name__)

ROW_NUMBER = "__row"


@dataclass(frozen=True)
class FileStats:
    """What one file contributed: rows read, rows rejected by the reader, encoding used, and
    what the file was: the SHA-256 of its bytes (``fingerprint``, ``""`` when not taken),
    its own columns in file order, its size in bytes (0: not taken) and, for a text file,
    the records after its header (read, rejected or blank; None: not known), which a
    record it gains at its end is numbered after."""

    source_file: str
    rows: int
    rejected: int
    encoding: str | None
    fingerprint: str = ""
    columns: tuple[str, ...] = ()
    size: int = 0
    records: int | None = None


@dataclass
class FileRead:
    """One file of a feed as read now: its rows with lineage (no record hash yet), the rows
    its reader rejected, and what it contributed."""

    rows: pa.Table
    rejected: list[RejectedRow]
    stats: FileStats


@dataclass
class RawBatch:
    """One feed's raw table plus the rows that could not be read into fields."""

    feed: str
    table: pa.Table
    rejected: list[RejectedRow] = field(default_factory=list)
    files: list[FileStats] = field(default_factory=list)

    #: the first rows of the feed, those ``raw.<feed>`` holds already as they are (a book
    #: that grew at its end): ``table`` holds only the rows after them
    held: int = 0

    #: the files whose rows ``raw.<feed>`` holds already as they are (taken over, not read:
    #: ``sources.raw_files.read_feed``), and how many rows they hold: ``table`` holds only
    #: the other files' rows, those to write
    kept: tuple[str, ...] = ()
    kept_rows: int = 0

    @property
    def rows(self) -> int:
        """The rows of the feed: those held already, those of kept files and those in ``table``."""
        return self.held + self.kept_rows + self.table.num_rows

    @property
    def rows_received(self) -> int:
        """Every data row the files held: readable plus rejected."""
        return self.rows + len(self.rejected)

    def rejected_table(self) -> pa.Table:
        """Reader-rejected rows as a table for the quarantine."""
        return pa.table(
            {
                "source": pa.array([self.feed] * len(self.rejected), pa.string()),
                "source_file": pa.array([r.source_file for r in self.rejected], pa.string()),
                "source_row": pa.array([r.source_row for r in self.rejected], pa.int64()),
                "reason": pa.array([r.reason for r in self.rejected], pa.string()),
                "raw": pa.array([r.raw for r in self.rejected], pa.string()),
            }
        )


def display_path(path: Path, base_dir: Path) -> str:
    try:
        return str(path.resolve().relative_to(base_dir.resolve()))
    except ValueError:
        return str(path)


def _check_columns(result: ReadResult, feed: FileSpec, path: Path) -> None:
    present = set(result.table.column_names)
    for column in feed.required_source_columns():
        if column not in present:
            available = ", ".join(c for c in result.table.column_names if c != ROW_NUMBER)
            raise SourceReadError(
                path,
                f"column '{column}' mapped in feed '{feed.name}' is missing; the file has: {available}",
                field=column,
            )


def _with_lineage(table: pa.Table, feed: str, source_file: str, ingested_at: datetime) -> pa.Table:
    """Put the lineage columns in front of the file's own columns."""
    n = table.num_rows
    own = table.drop_columns([ROW_NUMBER])
    # constant columns made by Arrow, not from lists of n Python objects: for the dealers'
    # order and interaction books of the 1M-record demo (2.8M rows, loaded machine) 0.7 s
    # instead of 7.0 s
    return pa.Table.from_arrays(
        [
            pa.repeat(pa.scalar(feed, pa.string()), n),
            pa.repeat(pa.scalar(source_file, pa.string()), n),
            table.column(ROW_NUMBER).cast(pa.int64()),
            pa.repeat(pa.scalar(ingested_at, pa.timestamp("us")), n),
            *own.columns,
        ],
        names=["source", "source_file", "source_row", "ingested_at", *own.column_names],
    )


@functools.cache
def _hashing_database() -> duckdb.DuckDBPyConnection:
    """The in-memory DuckDB this process hashes rows in. Opening a database per call cost
    16 ms of CPU (22 ms a call in all, for a few hundred rows): a sync after a 1% day hashes
    the rows of every changed file and grown book that way, and staging its persons."""
    return duckdb.connect()


def content_hashes(table: pa.Table, columns: list[str]) -> pa.ChunkedArray:
    """Each row's fingerprint over ``columns`` (its content, not its lineage): md5 of the
    values joined by the unit separator, an empty cell written as NUL, computed in DuckDB.
    A row keeps its hash exactly as long as those values stay the same."""
    if not columns:
        raise ValueError("a fingerprint needs at least one column")
    parts = ", ".join(f"coalesce({quote(c)}::VARCHAR, chr(0))" for c in columns)
    con = _hashing_database().cursor()  # a connection of its own: no name shared across threads
    try:
        con.register("t", table)
        hashed = con.sql(
            f"SELECT md5(concat_ws(chr(31), {parts})) AS record_hash FROM t"
        ).to_arrow_table()
    finally:
        con.close()
    return hashed.column(0)


def _add_record_hash(table: pa.Table, own_columns: list[str]) -> pa.Table:
    """Fingerprint each row's content (its own columns, not its lineage)."""
    if not own_columns:
        raise ValueError("a raw table needs at least one column of its own")
    return table.add_column(4, "record_hash", content_hashes(table, own_columns))


def raw_table(rows: pa.Table, feed: str, source_file: str, ingested_at: datetime) -> pa.Table:
    """One file's rows (its own columns; the header is row 1) as ``raw.<feed>`` keeps them:
    the lineage columns in front and each row's content hash, by the rules of ``ingest_feed``."""
    numbered = rows.append_column(ROW_NUMBER, pa.array(range(2, rows.num_rows + 2), pa.int64()))
    return _add_record_hash(
        _with_lineage(numbered, feed, source_file, ingested_at), rows.column_names
    )


def keep_first_read(con: duckdb.DuckDBPyConnection, feed: str, table: pa.Table) -> pa.Table:
    """``table`` (a feed's raw rows as just read) with each row read before keeping the
    ``ingested_at`` of its first read: a row of the same file with the same content
    (``source_file`` and ``record_hash``) in ``raw.<feed>`` as the last sync left it is the
    same version of that row, so it was ingested then. A new or changed row keeps this
    read's time. ``source_row`` is left as read: it is where the row stands in the file
    now, which a row removed above it moves. Row order and schema are those of ``table``.
    """
    if table.num_rows == 0 or not table_exists(con, "raw", feed):
        return table
    read = table.select(["source_file", "record_hash"])
    con.register("__read", read.append_column("pos", row_numbers(np.arange(read.num_rows))))
    # the rows of the files read only (a feed's unchanged files are not among them)
    con.register("__read_files", pa.table({"source_file": pc.unique(read.column("source_file"))}))
    try:
        # only the rows that hold a content read now: a book read for the rows it gained
        # at its end looks up those rows' hashes, not the million it held before
        stamps = con.sql(
            f"""WITH first AS (
                    SELECT source_file, record_hash, min(ingested_at) AS first_read
                    FROM {qualified("raw", feed)}
                    WHERE source_file IN (SELECT source_file FROM __read_files)
                      AND record_hash IN (SELECT record_hash FROM __read)
                    GROUP BY ALL)
                SELECT first.first_read
                FROM __read r
                LEFT JOIN first USING (source_file, record_hash) ORDER BY r.pos"""
        ).to_arrow_table()
    finally:
        con.unregister("__read")
        con.unregister("__read_files")
    column = table.schema.get_field_index("ingested_at")
    now = table.column(column)
    kept = pc.coalesce(stamps.column(0).cast(now.type), now)
    return table.set_column(column, table.schema.field(column), kept)


def read_file(
    path: Path,
    feed: FileSpec,
    config: PipelineConfig,
    ingested_at: datetime,
    fingerprint: str | None = None,
) -> FileRead:
    """One file of ``feed`` read with lineage, its columns checked against the mapping;
    ``fingerprint``: the SHA-256 of its bytes when the caller took it already.

    Raises SourceReadError (naming file, row, field) when a mapped column is missing, bytes
    do not decode in the declared encoding or a workbook is corrupt.
    """
    result = read_export(
        path,
        format=feed.format,
        encoding=feed.encoding,
        sheet=feed.sheet,
        delimiter=feed.delimiter,
    )
    return _file_read(path, feed, config, ingested_at, result, fingerprint)


def read_file_tail(
    path: Path,
    feed: FileSpec,
    config: PipelineConfig,
    ingested_at: datetime,
    before: FileStats,
    fingerprint: str,
) -> FileRead | None:
    """The rows a text file of ``feed`` gained at its end since it was read as ``before``
    (its first ``before.size`` bytes are those bytes, the caller checked their SHA-256),
    numbered and stamped as a read of the whole file gives them, with the stats of the whole
    file; None when the whole file must be read (see ``sources.readers.read_csv_tail``)."""
    if (
        (feed.format or detect_format(path)) != "csv"
        or before.records is None
        or before.encoding is None
        or not before.size
    ):
        return None
    result = read_csv_tail(
        path,
        Tail(before.size, before.records, before.encoding),
        encoding=feed.encoding,
        delimiter=feed.delimiter,
    )
    if result is None or [c for c in result.table.column_names if c != ROW_NUMBER] != list(
        before.columns
    ):
        return None
    read = _file_read(path, feed, config, ingested_at, result, fingerprint)
    stats = replace(
        read.stats,
        rows=before.rows + read.stats.rows,
        rejected=before.rejected + len(read.rejected),
    )
    return FileRead(read.rows, read.rejected, stats)


def _file_read(
    path: Path,
    feed: FileSpec,
    config: PipelineConfig,
    ingested_at: datetime,
    result: ReadResult,
    fingerprint: str | None,
) -> FileRead:
    _check_columns(result, feed, path)
    source_file = display_path(path, config.base_dir)
    rejected = [
        RejectedRow(source_file=source_file, source_row=r.source_row, reason=r.reason, raw=r.raw)
        for r in result.rejected
    ]
    columns = tuple(c for c in result.table.column_names if c != ROW_NUMBER)
    stats = FileStats(
        source_file,
        result.table.num_rows,
        len(result.rejected),
        result.encoding,
        file_fingerprint(path) if fingerprint is None else fingerprint,
        columns,
        path.stat().st_size,
        result.records,
    )
    log.info(
        "read %s: %d rows, %d rejected (%s)",
        source_file,
        result.table.num_rows,
        len(result.rejected),
        result.encoding,
    )
    return FileRead(
        _with_lineage(result.table, feed.name, source_file, ingested_at), rejected, stats
    )


def feed_columns(files: list[FileStats]) -> list[str]:
    """The feed's own columns: every file's columns, in the order they first appear when the
    files are taken in path order (the columns of ``raw.<feed>`` after its lineage)."""
    return list(dict.fromkeys(c for f in files for c in f.columns))


def hashed_rows(tables: list[pa.Table], own_columns: list[str]) -> pa.Table:
    """Files' rows (with lineage) as one table with the feed's own columns in order (a column
    a file lacks is empty on its rows) and each row's record hash over them."""
    if not tables:
        raise ValueError("no rows to fingerprint")
    combined = pa.concat_tables(tables, promote_options="default") if len(tables) > 1 else tables[0]
    for name in own_columns:
        if name not in combined.column_names:
            combined = combined.append_column(name, pa.nulls(combined.num_rows, pa.string()))
    lineage = [c for c in LINEAGE_COLUMNS if c != "record_hash"]
    return _add_record_hash(combined.select([*lineage, *own_columns]), own_columns)


def ingest_feed(feed: FileSpec, config: PipelineConfig, ingested_at: datetime) -> RawBatch:
    """Read every file of ``feed`` into one raw table with lineage.

    Raises SourceReadError (naming file, row, field) when a glob matches nothing, a mapped
    column is missing, bytes do not decode in the declared encoding or a workbook is corrupt.
    """
    paths = expand_paths(config.base_dir, feed.path)
    reads = [read_file(path, feed, config, ingested_at) for path in paths]
    batch = RawBatch(feed=feed.name, table=pa.table({}))
    for read in reads:
        batch.rejected.extend(read.rejected)
        batch.files.append(read.stats)
    batch.table = hashed_rows([r.rows for r in reads], feed_columns(batch.files))
    return batch

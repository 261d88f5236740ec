"""Ingestion: every file of a feed, as sent, into one raw table with lineage.

A raw table keeps the export's own columns untouched (all text) and adds who sent
what and where it stood: ``source``, ``source_file``, ``source_row``, ``ingested_at``
and ``record_hash`` (a fingerprint of the row's content, for change detection between
runs). Physical rows a reader could not split into fields are returned beside it so
that they are quarantined, not lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from sources.config import FileSpec, PipelineConfig
from sources.readers import ReadResult, RejectedRow, SourceReadError, expand_paths, read_export
from sources.schema import LINEAGE_COLUMNS
from warehouse.store import qualified, quote, table_exists

log = logging.getLogger(__name__)

ROW_NUMBER = "__row"


@dataclass(frozen=True)
class FileStats:
    """What one file contributed: rows read, rows rejected by the reader, encoding used."""

    source_file: str
    rows: int
    rejected: int
    encoding: str | None


@dataclass
class RawBatch:
    """One feed's raw table plus the rows that could not be read into fields."""

    feed: str
    table: pa.Table
    rejected: list[RejectedRow] = field(default_factory=list)
    files: list[FileStats] = field(default_factory=list)

    @property
    def rows_received(self) -> int:
        """Every data row the files held: readable plus rejected."""
        return self.table.num_rows + len(self.rejected)

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


def _display_path(path: Path, base_dir: Path) -> str:
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
    lineage = pa.table(
        {
            "source": pa.array([feed] * n, pa.string()),
            "source_file": pa.array([source_file] * n, pa.string()),
            "source_row": table.column(ROW_NUMBER).cast(pa.int64()),
            "ingested_at": pa.array([ingested_at] * n, pa.timestamp("us")),
        }
    )
    for name in own.column_names:
        lineage = lineage.append_column(name, own.column(name))
    return lineage


def content_hashes(table: pa.Table, columns: list[str]) -> pa.ChunkedArray:
    """Each row's fingerprint over ``columns`` (its content, not its lineage): md5 of the
    values joined by the unit separator, an empty cell written as NUL, computed in DuckDB.
    A row keeps its hash exactly as long as those values stay the same."""
    if not columns:
        raise ValueError("a fingerprint needs at least one column")
    parts = ", ".join(f"coalesce({quote(c)}::VARCHAR, chr(0))" for c in columns)
    con = duckdb.connect()
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
    con.register("__read", read.append_column("pos", pa.array(range(read.num_rows), pa.int64())))
    try:
        stamps = con.sql(
            f"""WITH first AS (
                    SELECT source_file, record_hash, min(ingested_at) AS first_read
                    FROM {qualified("raw", feed)} GROUP BY ALL)
                SELECT first.first_read
                FROM __read r
                LEFT JOIN first USING (source_file, record_hash) ORDER BY r.pos"""
        ).to_arrow_table()
    finally:
        con.unregister("__read")
    column = table.schema.get_field_index("ingested_at")
    now = table.column(column)
    kept = pc.coalesce(stamps.column(0).cast(now.type), now)
    return table.set_column(column, table.schema.field(column), kept)


def ingest_feed(feed: FileSpec, config: PipelineConfig, ingested_at: datetime) -> RawBatch:
    """Read every file of ``feed`` into one raw table with lineage.

    Raises SourceReadError (naming file, row, field) when a glob matches nothing, a mapped
    column is missing, bytes do not decode in the declared encoding or a workbook is corrupt.
    """
    paths = expand_paths(config.base_dir, feed.path)
    tables: list[pa.Table] = []
    batch = RawBatch(feed=feed.name, table=pa.table({}))
    for path in paths:
        result = read_export(
            path,
            format=feed.format,
            encoding=feed.encoding,
            sheet=feed.sheet,
            delimiter=feed.delimiter,
        )
        _check_columns(result, feed, path)
        source_file = _display_path(path, config.base_dir)
        tables.append(_with_lineage(result.table, feed.name, source_file, ingested_at))
        batch.rejected.extend(
            RejectedRow(
                source_file=source_file, source_row=r.source_row, reason=r.reason, raw=r.raw
            )
            for r in result.rejected
        )
        batch.files.append(
            FileStats(source_file, result.table.num_rows, len(result.rejected), result.encoding)
        )
        log.info(
            "read %s: %d rows, %d rejected (%s)",
            source_file,
            result.table.num_rows,
            len(result.rejected),
            result.encoding,
        )
    combined = pa.concat_tables(tables, promote_options="default") if len(tables) > 1 else tables[0]
    own = [
        c
        for c in combined.column_names
        if c not in LINEAGE_COLUMNS  # the record hash is added below
    ]
    batch.table = _add_record_hash(combined, own)
    return batch

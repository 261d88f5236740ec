"""A feed read again on a sync: only the files whose bytes changed are read.

On a normal day a few files of a feed change (the demo's 1% delta at 100k records rewrote
16 of the 60 dealer files and 1 of the 8 regional ones) and the others are the same bytes
as at the last sync. Reading, fingerprinting and stamping a file costs in proportion to its
rows, so an unchanged file's rows are taken from ``raw.<feed>`` as the last sync left them:
the same rows, row numbers, record hashes and first reads a new read would give.
``raw.<feed>__files`` (one row per file: its path, the SHA-256 of its bytes, its columns,
rows read and rejected, encoding) says what each file was when read; it is written after
``raw.<feed>`` and its rejects, so a sync stopped between them reads again at worst.

A file is taken over only when everything a read of it depends on is the same: its bytes,
the feed's settings and the code (the caller passes ``reuse=False`` when either changed)
and the feed's columns: the record hash covers every column of the feed, so a file that
brings a new column (or drops the only one with a column) changes every row's hash, and
then every file is read. Rows of a file that is read keep their first read
(:func:`sources.ingest.keep_first_read`).
"""

from __future__ import annotations

import logging
from datetime import datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from sources.config import FileSpec, PipelineConfig
from sources.ingest import (
    FileStats,
    RawBatch,
    display_path,
    feed_columns,
    hashed_rows,
    keep_first_read,
    read_file,
)
from sources.readers import RejectedRow, expand_paths
from sources.schema import LINEAGE_COLUMNS
from warehouse.step_inputs import file_fingerprint
from warehouse.store import (
    count_rows,
    qualified,
    quote,
    replace_table,
    table_columns,
    table_exists,
)

log = logging.getLogger(__name__)

_FILES_SCHEMA = pa.schema(
    [
        ("source_file", pa.string()),
        ("fingerprint", pa.string()),
        ("columns", pa.list_(pa.string())),
        ("rows", pa.int64()),
        ("rejected", pa.int64()),
        ("encoding", pa.string()),
    ]
)


def files_table_name(feed: str) -> str:
    """The table that says what each file of ``feed`` was when last read."""
    return f"{feed}__files"


def files_table(batch: RawBatch) -> pa.Table:
    """``raw.<feed>__files`` of ``batch``: one row per file, in path order."""
    return pa.table(
        {
            "source_file": [f.source_file for f in batch.files],
            "fingerprint": [f.fingerprint for f in batch.files],
            "columns": [list(f.columns) for f in batch.files],
            "rows": [f.rows for f in batch.files],
            "rejected": [f.rejected for f in batch.files],
            "encoding": [f.encoding for f in batch.files],
        },
        schema=_FILES_SCHEMA,
    )


def read_feed(
    con: duckdb.DuckDBPyConnection,
    feed: FileSpec,
    config: PipelineConfig,
    ingested_at: datetime,
    *,
    reuse: bool,
) -> RawBatch:
    """``feed`` as ``raw.<feed>`` holds it after this sync, with lineage and record hashes,
    rows read before keeping their first read; with ``reuse``, a file whose bytes are those
    recorded in ``raw.<feed>__files`` is taken from ``raw.<feed>`` instead of being read.

    The rows, their order and the rejected rows are those :func:`sources.ingest.ingest_feed`
    followed by :func:`sources.ingest.keep_first_read` give on the same files.

    Raises SourceReadError (naming file, row, field) as ``ingest_feed`` does.
    """
    paths = {display_path(p, config.base_dir): p for p in expand_paths(config.base_dir, feed.path)}
    known = _files_read_before(con, feed.name) if reuse else {}
    same = {
        s for s, p in paths.items() if s in known and known[s].fingerprint == file_fingerprint(p)
    }
    reads = {s: read_file(p, feed, config, ingested_at) for s, p in paths.items() if s not in same}
    columns = feed_columns([known[s] if s in same else reads[s].stats for s in paths])
    if same and columns != _raw_columns(con, feed.name):
        log.info(
            "%s: the feed's columns changed, so every row's hash: reading every file", feed.name
        )
        reads.update({s: read_file(paths[s], feed, config, ingested_at) for s in same})
        same = set()
        columns = feed_columns([reads[s].stats for s in paths])
    batch = RawBatch(feed=feed.name, table=pa.table({}))
    batch.files = [known[s] if s in same else reads[s].stats for s in paths]
    fresh = [reads[s] for s in paths if s in reads]
    read_now = (
        keep_first_read(con, feed.name, hashed_rows([r.rows for r in fresh], columns))
        if fresh
        else None
    )
    if not same and read_now is not None:
        batch.table = read_now
        batch.rejected = [row for r in fresh for row in r.rejected]
        return batch
    log.info(
        "%s: %d of %d file(s) unchanged, rows taken from the last read",
        feed.name,
        len(same),
        len(paths),
    )
    kept = _by_file(_kept_rows(con, feed.name, sorted(same), columns))
    now = _by_file(read_now) if read_now is not None else {}
    schema = read_now.schema if read_now is not None else raw_schema(columns)
    empty = schema.empty_table()
    batch.table = pa.concat_tables(
        [(now.get(s, empty) if s in reads else kept.get(s, empty).cast(schema)) for s in paths]
    )
    rejects = _kept_rejects(con, feed.name, sorted(same))
    batch.rejected = [
        row for s in paths for row in (reads[s].rejected if s in reads else rejects.get(s, []))
    ]
    return batch


def raw_schema(columns: list[str]) -> pa.Schema:
    """The schema of ``raw.<feed>`` with the feed's own ``columns``: lineage, then text."""
    lineage = [
        ("source", pa.string()),
        ("source_file", pa.string()),
        ("source_row", pa.int64()),
        ("ingested_at", pa.timestamp("us")),
        ("record_hash", pa.string()),
    ]
    return pa.schema([*lineage, *((c, pa.string()) for c in columns)])


def _files_read_before(con: duckdb.DuckDBPyConnection, feed: str) -> dict[str, FileStats]:
    name = files_table_name(feed)
    if not (table_exists(con, "raw", name) and table_exists(con, "raw", feed)):
        return {}
    rows = con.execute(
        f"SELECT source_file, rows, rejected, encoding, fingerprint, columns FROM {qualified('raw', name)}"
    ).fetchall()
    return {r[0]: FileStats(r[0], r[1], r[2], r[3], r[4], tuple(r[5])) for r in rows}


def _raw_columns(con: duckdb.DuckDBPyConnection, feed: str) -> list[str]:
    """The own columns of ``raw.<feed>`` (after its lineage), in order."""
    return [n for n, _ in table_columns(con, "raw", feed) if n not in LINEAGE_COLUMNS]


def _kept_rows(
    con: duckdb.DuckDBPyConnection, feed: str, files: list[str], columns: list[str]
) -> pa.Table:
    """The rows of ``files`` in ``raw.<feed>``, lineage first, in the order they were written."""
    wanted = ", ".join(quote(c) for c in [*LINEAGE_COLUMNS, *columns])
    con.register("__kept_files", pa.table({"source_file": pa.array(files, pa.string())}))
    try:
        return con.sql(
            f"SELECT {wanted} FROM {qualified('raw', feed)} "
            "WHERE source_file IN (SELECT source_file FROM __kept_files)"
        ).to_arrow_table()
    finally:
        con.unregister("__kept_files")


def _by_file(table: pa.Table) -> dict[str, pa.Table]:
    """``table``'s rows per ``source_file``, each file's rows by ``source_row``."""
    if table.num_rows == 0:
        return {}
    runs = pc.run_end_encode(table.column("source_file").combine_chunks())
    files = runs.values.to_pylist()
    if len(set(files)) < len(files):  # not written file by file: sort (never the case here)
        table = table.take(
            pc.sort_indices(table, [("source_file", "ascending"), ("source_row", "ascending")])
        )
        runs = pc.run_end_encode(table.column("source_file").combine_chunks())
        files = runs.values.to_pylist()
    pieces, start = {}, 0
    for name, end in zip(files, runs.run_ends.to_pylist(), strict=True):
        piece = table.slice(start, end - start)
        numbers = piece.column("source_row")
        if piece.num_rows > 1 and not pc.all(pc.greater(numbers[1:], numbers[:-1])).as_py():
            piece = piece.take(pc.sort_indices(numbers))
        pieces[name], start = piece, end
    return pieces


def _kept_rejects(
    con: duckdb.DuckDBPyConnection, feed: str, files: list[str]
) -> dict[str, list[RejectedRow]]:
    """The rows of ``files`` their reader rejected, per file, in file order."""
    name = f"{feed}__rejected"
    if not table_exists(con, "raw", name):
        return {}
    kept: dict[str, list[RejectedRow]] = {}
    rows = con.execute(
        f"SELECT source_file, source_row, reason, raw FROM {qualified('raw', name)} "
        "WHERE list_contains(?, source_file) ORDER BY source_file, source_row",
        [files],
    ).fetchall()
    for source_file, source_row, reason, raw in rows:
        kept.setdefault(source_file, []).append(RejectedRow(source_file, source_row, reason, raw))
    return kept


#: The columns that say which row of which file a raw row is and what it holds (the record
#: hash covers every other column of the feed).
_ROW_IDENTITY = ["source", "source_file", "source_row", "ingested_at", "record_hash"]


def write_raw(con: duckdb.DuckDBPyConnection, feed: str, table: pa.Table) -> int:
    """Make ``raw.<feed>`` hold ``table``, rows in its order; return the row count.

    An order or interaction book grows at its end: on a normal day ``raw.<feed>`` already
    holds the first rows of ``table``, each as it is now (same file, row, first read and
    hash, in the same order), and only the new rows are appended, in one statement. Else
    the table is replaced whole. Writing is most of the raw step's cost (1M-record demo,
    loaded machine: 100 s of 179 s for the twelve feeds, the 1.65M-row order book 20 s).
    """
    name = qualified("raw", feed)
    held = _held_rows(con, feed, table)
    if held is None:
        return replace_table(con, "raw", feed, table)
    if held < table.num_rows:
        con.register("__appended", table.slice(held))
        try:
            con.execute(f"INSERT INTO {name} SELECT * FROM __appended")
        finally:
            con.unregister("__appended")
    log.info("raw.%s: %d row(s) kept, %d appended", feed, held, table.num_rows - held)
    return count_rows(con, "raw", feed)


def _held_rows(con: duckdb.DuckDBPyConnection, feed: str, table: pa.Table) -> int | None:
    """How many first rows of ``table`` ``raw.<feed>`` holds as they are, when it holds
    nothing else and has ``table``'s columns and types; else None."""
    if not table_exists(con, "raw", feed):
        return None
    columns = table_columns(con, "raw", feed)
    wanted = [(f.name, _DUCKDB_TYPES.get(f.type)) for f in table.schema]
    if columns != wanted:
        return None
    held = con.sql(
        f"SELECT {', '.join(_ROW_IDENTITY)} FROM {qualified('raw', feed)}"
    ).to_arrow_table()
    if held.num_rows > table.num_rows:
        return None
    mine = table.select(_ROW_IDENTITY).slice(0, held.num_rows)
    return held.num_rows if held.cast(mine.schema).equals(mine) else None


_DUCKDB_TYPES = {
    pa.string(): "VARCHAR",
    pa.int64(): "BIGINT",
    pa.timestamp("us"): "TIMESTAMP",
}

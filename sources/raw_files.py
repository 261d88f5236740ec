"""A feed read again on a sync: only the files whose bytes changed are read.

On a normal day a few files of a feed change (the demo's 1% delta at 100k records rewrote
16 of the 60 dealer files and 1 of the 8 regional ones) and the others are the same bytes
as at the last sync. Reading, fingerprinting and stamping a file costs in proportion to its
rows, so an unchanged file's rows stay in ``raw.<feed>`` as the last sync left them (not
even read back: at 1M records the unchanged dealer files hold some 450k rows): the same
rows, row numbers, record hashes and first reads a new read would give.
``raw.<feed>__files`` (one row per file: its path, the SHA-256 of its bytes, its columns,
rows read and rejected, encoding) says what each file was when read; it is written after
``raw.<feed>`` and its rejects, so a sync stopped between them reads again at worst.

A file is taken over only when everything a read of it depends on is the same: its bytes,
the feed's settings and the code (the caller passes ``reuse=False`` when either changed)
and the feed's columns: the record hash covers every column of the feed, so a file that
brings a new column (or drops the only one with a column) changes every row's hash, and
then every file is read. Rows of a file that is read keep their first read
(:func:`sources.ingest.keep_first_read`).

A book that only grew at its end (the feed's last file; its first bytes, by size and
SHA-256, the file as last read) is read from its old end only, and ``raw.<feed>`` keeps
every row it holds (``RawBatch.held``): see :func:`_grown_book`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

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
    read_file_tail,
)
from sources.readers import RejectedRow, expand_paths
from sources.schema import LINEAGE_COLUMNS
from warehouse.step_inputs import file_and_prefix_fingerprints, file_fingerprint
from warehouse.store import (
    count_rows,
    qualified,
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
        ("size", pa.int64()),
        ("records", pa.int64()),
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
            "size": [f.size for f in batch.files],
            "records": [f.records for f in batch.files],
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
    paths = _feed_files(feed, config)
    known = _files_read_before(con, feed.name) if reuse else {}
    prints, last, grown = {}, list(paths)[-1], False
    old_end = _old_end(paths, known)
    for s, p in paths.items():
        if s == last and old_end:
            prints[s], prefix = file_and_prefix_fingerprints(p, old_end)
            grown = prefix == known[s].fingerprint
        else:
            prints[s] = file_fingerprint(p)
    same = {s for s in paths if s in known and known[s].fingerprint == prints[s]}
    if len(same) == len(paths) - 1 and last not in same and set(known) == set(paths) and grown:
        batch = _grown_book(con, feed, config, ingested_at, paths, known, prints[last])
        if batch is not None:
            return batch
    reads = {
        s: read_file(p, feed, config, ingested_at, prints[s])
        for s, p in paths.items()
        if s not in same
    }
    columns = feed_columns([known[s] if s in same else reads[s].stats for s in paths])
    if same and not _holds_columns(con, feed.name, columns):
        log.info(
            "%s: the feed's columns changed, so every row's hash: reading every file", feed.name
        )
        reads.update({s: read_file(paths[s], feed, config, ingested_at, prints[s]) for s in same})
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
        "%s: %d of %d file(s) unchanged, their rows kept where they lie",
        feed.name,
        len(same),
        len(paths),
    )
    batch.kept = tuple(sorted(same))
    batch.kept_rows = sum(known[s].rows for s in same)
    batch.table = read_now if read_now is not None else raw_schema(columns).empty_table()
    rejects = _kept_rejects(con, feed.name, sorted(same))
    batch.rejected = [
        row for s in paths for row in (reads[s].rejected if s in reads else rejects.get(s, []))
    ]
    return batch


def hash_grown_book(con: duckdb.DuckDBPyConnection, feed: FileSpec, config: PipelineConfig) -> None:
    """Hash the feed's last file whole and up to its old end in one read when it is larger
    than when last read (``raw.<feed>__files``): the raw step's plan fingerprints the file
    and :func:`read_feed` asks whether it only grew; each read it whole (at 1M records the
    order and interaction books are some 340 MB)."""
    paths = _feed_files(feed, config)
    old_end = _old_end(paths, _files_read_before(con, feed.name))
    if old_end:
        file_and_prefix_fingerprints(list(paths.values())[-1], old_end)


def _feed_files(feed: FileSpec, config: PipelineConfig) -> dict[str, Path]:
    """The feed's files, in reading order, by the path lineage names them with."""
    return {display_path(p, config.base_dir): p for p in expand_paths(config.base_dir, feed.path)}


def _old_end(paths: dict[str, Path], known: dict[str, FileStats]) -> int | None:
    """The size the feed's last file had when last read (``known``), when it is larger now
    (a book that may have grown at its end); else None."""
    last = list(paths)[-1]
    if last in known and known[last].size and paths[last].stat().st_size > known[last].size:
        return known[last].size
    return None


def _grown_book(
    con: duckdb.DuckDBPyConnection,
    feed: FileSpec,
    config: PipelineConfig,
    ingested_at: datetime,
    paths: dict[str, Path],
    known: dict[str, FileStats],
    fingerprint: str,
) -> RawBatch | None:
    """The batch of a feed whose last file only grew at its end (its first bytes are the
    file as last read) and whose other files are unchanged: ``raw.<feed>`` holds every row
    of it but the new ones already, in place (``held``), and only the records after the old
    end are read, hashed and stamped (``sources.ingest.read_file_tail``). None when that
    cannot be told (the whole file is then read as any changed file).

    An order or interaction book that grew by a day's rows: at 1M records the dealers' order
    book (1.67M rows) was parsed, hashed and matched against its first reads whole to add
    about 9,000 rows.
    """
    last = list(paths)[-1]
    tail = read_file_tail(paths[last], feed, config, ingested_at, known[last], fingerprint)
    if tail is None:
        return None
    files = [known[s] if s != last else tail.stats for s in paths]
    columns = feed_columns(files)
    held = sum(known[s].rows for s in paths)
    if columns != _raw_columns(con, feed.name) or count_rows(con, "raw", feed.name) != held:
        return None
    log.info(
        "%s: %s grew at its end: reading its %d new row(s)", feed.name, last, tail.rows.num_rows
    )
    batch = RawBatch(
        feed=feed.name,
        table=keep_first_read(con, feed.name, hashed_rows([tail.rows], columns)),
        files=files,
        held=held,
    )
    rejects = _kept_rejects(con, feed.name, sorted(paths))
    batch.rejected = [row for s in paths for row in rejects.get(s, [])] + tail.rejected
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
    # size and records: not kept by a warehouse written before them (then a grown book is
    # read whole once)
    rows = con.sql(f"SELECT * FROM {qualified('raw', name)}").to_arrow_table().to_pylist()
    return {
        r["source_file"]: FileStats(
            r["source_file"],
            r["rows"],
            r["rejected"],
            r["encoding"],
            r["fingerprint"],
            tuple(r["columns"]),
            r.get("size") or 0,
            r.get("records"),
        )
        for r in rows
    }


def _holds_columns(con: duckdb.DuckDBPyConnection, feed: str, columns: list[str]) -> bool:
    """Whether ``raw.<feed>`` has the columns and types of a read of ``columns``
    (:func:`raw_schema`), so its rows of unchanged files can stay where they lie."""
    wanted = [(f.name, _DUCKDB_TYPES.get(f.type)) for f in raw_schema(columns)]
    return table_columns(con, "raw", feed) == wanted


def _raw_columns(con: duckdb.DuckDBPyConnection, feed: str) -> list[str]:
    """The own columns of ``raw.<feed>`` (after its lineage), in order."""
    return [n for n, _ in table_columns(con, "raw", feed) if n not in LINEAGE_COLUMNS]


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


def write_raw(
    con: duckdb.DuckDBPyConnection,
    feed: str,
    table: pa.Table,
    held: int = 0,
    kept: tuple[str, ...] = (),
    kept_rows: int = 0,
) -> int:
    """Make ``raw.<feed>`` hold ``table``, after its first ``held`` rows (those it holds
    already: ``RawBatch.held``); return the row count. ``kept``: files whose ``kept_rows``
    rows ``raw.<feed>`` holds already as they are (``RawBatch.kept``), ``table`` holding
    the other files' rows.

    An order or interaction book grows at its end: on a normal day ``raw.<feed>`` already
    holds the first rows of ``table``, each as it is now (same file, row, first read and
    hash, in the same order), and only the new rows are appended, in one statement. A
    customer export whose day changed a few of its files keeps the rows of the others: the
    rows of the files read again (or gone) are deleted and their rows as read now inserted
    at the table's end, so the table holds a whole read's rows in an order of its own
    (readers that need the files' order use :func:`read_in_file_order`). Else the table is
    replaced whole. Writing is most of the raw step's cost (1M-record demo, loaded machine:
    100 s of 179 s for the twelve feeds, the 1.65M-row order book 20 s); on a copy of the
    100k warehouse after a 1% day (17 of 68 customer files changed) writing only the
    changed files took the two customer feeds' write from 0.32 s to 0.10 s of CPU.
    """
    name = qualified("raw", feed)
    if kept:
        if not _same_columns(con, feed, table):
            raise RuntimeError(f"raw.{feed} does not have the columns of the rows read now")
        return _write_files(con, feed, table, kept, kept_rows)
    if held:
        if count_rows(con, "raw", feed) != held:
            raise RuntimeError(f"raw.{feed} no longer holds the {held} rows it was read with")
        kept_rows = held
    else:
        found = _held_rows(con, feed, table)
        if found is None:
            return replace_table(con, "raw", feed, table)
        table, kept_rows = table.slice(found), found
    if table.num_rows:
        con.register("__appended", table)
        try:
            con.execute(f"INSERT INTO {name} SELECT * FROM __appended")
        finally:
            con.unregister("__appended")
    log.info("raw.%s: %d row(s) kept, %d appended", feed, kept_rows, table.num_rows)
    return count_rows(con, "raw", feed)


def _write_files(
    con: duckdb.DuckDBPyConnection,
    feed: str,
    table: pa.Table,
    kept: tuple[str, ...],
    kept_rows: int,
) -> int:
    """``raw.<feed>`` brought to the ``kept`` files' ``kept_rows`` rows it holds and
    ``table``'s rows, those of the other files: the rows of every file but ``kept``
    deleted, ``table``'s rows inserted (in ``table``'s order)."""
    name = qualified("raw", feed)
    files = pa.table({"source_file": pa.array(kept, pa.string())})
    con.register("__kept_files", files)
    con.register("__appended", table)
    try:
        con.execute(
            f"DELETE FROM {name} WHERE source_file NOT IN (SELECT source_file FROM __kept_files)"
        )
        con.execute(f"INSERT INTO {name} SELECT * FROM __appended")
    finally:
        con.unregister("__kept_files")
        con.unregister("__appended")
    rows = count_rows(con, "raw", feed)
    if rows != kept_rows + table.num_rows:
        raise RuntimeError(
            f"raw.{feed} holds {rows} rows after keeping {kept_rows} and writing {table.num_rows}"
        )
    log.info(
        "raw.%s: the rows of %d file(s) kept, %d row(s) of the others written",
        feed,
        len(kept),
        table.num_rows,
    )
    return rows


def with_file_place(con: duckdb.DuckDBPyConnection, feed: str, columns: str = "r.*") -> str:
    """SQL of ``columns`` of ``raw.<feed>`` (aliased ``r``) with ``__file``, the place of the
    row's file in path order (``raw.<feed>__files``): ordered by ``__file`` and
    ``source_row``, the rows are in the order a read of every file gives them. A full read writes the table in that
    order; a day that changed a few files leaves it in an order of its own
    (:func:`write_raw`), while staging keeps the first row of a repeated key in this order."""
    name = qualified("raw", feed)
    files = files_table_name(feed)
    if not table_exists(con, "raw", files):
        return f"SELECT {columns}, 0 AS __file FROM {name} r"
    return f"""SELECT {columns}, f.__file
               FROM {name} r
               LEFT JOIN (SELECT source_file, rowid AS __file FROM {qualified("raw", files)}) f
                      ON f.source_file = r.source_file"""


def read_in_file_order(con: duckdb.DuckDBPyConnection, feed: str) -> pa.Table:
    """``raw.<feed>`` in the order a read of every file gives (:func:`with_file_place`).

    Read as it lies and put in order in Arrow only when it is not: sorting the wide table
    in DuckDB on every staging cost more than writing only the changed files saved."""
    table = con.sql(f"SELECT * FROM {qualified('raw', feed)}").to_arrow_table()
    if table.num_rows < 2:
        return table
    files = files_table_name(feed)
    if table_exists(con, "raw", files):
        paths = con.sql(f"SELECT source_file FROM {qualified('raw', files)} ORDER BY rowid")
        place = pc.index_in(table.column("source_file"), value_set=paths.to_arrow_table()[0])
    else:
        place = pa.repeat(pa.scalar(0, pa.int32()), table.num_rows)
    rows = table.column("source_row")
    ordered = pa.table({"f": place, "r": rows})
    later = pc.or_(
        pc.greater(ordered["f"][1:], ordered["f"][:-1]),
        pc.and_(pc.equal(ordered["f"][1:], ordered["f"][:-1]), pc.greater(rows[1:], rows[:-1])),
    )
    if pc.all(pc.fill_null(later, False)).as_py():
        return table
    return table.take(pc.sort_indices(ordered, [("f", "ascending"), ("r", "ascending")]))


def _same_columns(con: duckdb.DuckDBPyConnection, feed: str, table: pa.Table) -> bool:
    """Whether ``raw.<feed>`` exists with ``table``'s columns and types."""
    if not table_exists(con, "raw", feed):
        return False
    wanted = [(f.name, _DUCKDB_TYPES.get(f.type)) for f in table.schema]
    return table_columns(con, "raw", feed) == wanted


def _held_rows(con: duckdb.DuckDBPyConnection, feed: str, table: pa.Table) -> int | None:
    """How many first rows of ``table`` ``raw.<feed>`` holds as they are, when it holds
    nothing else and has ``table``'s columns and types; else None."""
    if not _same_columns(con, feed, table):
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

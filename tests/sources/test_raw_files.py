"""A feed read again: unchanged files are taken from the last read, and the result is the
table a read of every file gives (rows, order, hashes, first reads, rejects)."""

import hashlib
import os
from datetime import datetime

import duckdb
import pyarrow.compute as pc
import pytest

import sources.raw_files as raw_files
from sources.ingest import ingest_feed
from sources.raw_files import (
    files_table,
    files_table_name,
    hash_grown_book,
    read_feed,
    read_in_file_order,
    with_file_place,
    write_raw,
)
from sources.readers import SourceReadError
from tests.sources.feed_support import deployment, write
from warehouse import step_inputs
from warehouse.store import replace_table

DAY_1 = datetime(2026, 11, 1, 8, 0)
DAY_2 = datetime(2026, 11, 2, 8, 0)
HEADER = "客户编号,客户名称,电话\r\n"


def sync(con, config, when, *, reuse=True):
    """What the raw asset does for the feed: read it, write its three tables."""
    feed = config.sources[0]
    batch = read_feed(con, feed, config, when, reuse=reuse)
    write_raw(con, feed.name, batch.table, batch.held, batch.kept, batch.kept_rows)
    replace_table(con, "raw", f"{feed.name}__rejected", batch.rejected_table())
    replace_table(con, "raw", files_table_name(feed.name), files_table(batch))
    return batch


def warehouse():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw")
    return con


def test_unchanged_files_are_taken_over_and_the_table_is_a_whole_read(tmp_path, monkeypatch):
    config = deployment(tmp_path)
    write(tmp_path, "a.csv", HEADER + "D1,甲,1\r\nD2,乙,2\r\n")
    write(tmp_path, "b.csv", HEADER + "D3,丙,3\r\nD4,丁,4,多余\r\nD5,戊,5\r\n")
    write(tmp_path, "c.csv", HEADER + "D6,己,6\r\n")
    taken_over, read_whole = warehouse(), warehouse()
    sync(taken_over, config, DAY_1)
    sync(read_whole, config, DAY_1, reuse=False)
    # the next day b.csv is the same bytes; a.csv lost D1, D2 moved up; c.csv gained D7
    write(tmp_path, "a.csv", HEADER + "D2,乙,2\r\n")
    write(tmp_path, "c.csv", HEADER + "D6,己,6\r\nD7,庚,7\r\n")
    opened = []
    real = raw_files.read_file
    monkeypatch.setattr(
        raw_files, "read_file", lambda path, *a: opened.append(path.name) or real(path, *a)
    )
    batch = sync(taken_over, config, DAY_2)
    assert opened == ["a.csv", "c.csv"]
    whole = sync(read_whole, config, DAY_2, reuse=False)

    # rows, order, hashes and first reads; only the files read are in the batch
    assert read_in_file_order(taken_over, "dealers") == whole.table
    assert batch.kept == ("exports/b.csv",)
    assert (batch.rows, batch.kept_rows, batch.table.num_rows) == (whole.rows, 2, 3)
    assert batch.rejected_table() == whole.rejected_table()
    assert [(r.source_file, r.source_row) for r in batch.rejected] == [("exports/b.csv", 3)]
    assert files_table(batch) == files_table(whole)
    in_order = read_in_file_order(taken_over, "dealers")
    rows = in_order.select(["客户编号", "source_row", "ingested_at"]).to_pylist()
    assert rows == [
        {"客户编号": "D2", "source_row": 2, "ingested_at": DAY_1},
        {"客户编号": "D3", "source_row": 2, "ingested_at": DAY_1},
        {"客户编号": "D5", "source_row": 4, "ingested_at": DAY_1},
        {"客户编号": "D6", "source_row": 2, "ingested_at": DAY_1},
        {"客户编号": "D7", "source_row": 3, "ingested_at": DAY_2},
    ]


def test_a_new_column_in_one_file_reads_every_file_again(tmp_path):
    config = deployment(tmp_path)
    write(tmp_path, "a.csv", HEADER + "D1,甲,1\r\n")
    write(tmp_path, "b.csv", HEADER + "D2,乙,2\r\n")
    con = warehouse()
    first = sync(con, config, DAY_1)
    write(tmp_path, "b.csv", "客户编号,客户名称,电话,备注\r\nD2,乙,2,老客户\r\n")
    batch = sync(con, config, DAY_2)

    assert batch.table.column_names[-1] == "备注"
    unchanged = first.table.to_pylist()[0]["record_hash"]
    assert batch.table.to_pylist()[0]["record_hash"] != unchanged  # the hash covers 备注 now
    assert batch.table.drop_columns(["ingested_at"]) == ingest_feed(
        config.sources[0], config, DAY_2
    ).table.drop_columns(["ingested_at"])


def test_without_reuse_every_file_is_read(tmp_path):
    config = deployment(tmp_path)
    write(tmp_path, "a.csv", HEADER + "D1,甲,1\r\n")
    con = warehouse()
    sync(con, config, DAY_1)
    write(tmp_path, "a.csv", "客户编号,客户名称\r\nD1,甲\r\n")  # the mapped 电话 is gone
    with pytest.raises(SourceReadError, match="电话"):
        sync(con, config, DAY_2, reuse=False)


def test_a_file_gone_leaves_the_other_files_rows_as_a_whole_read_gives(tmp_path):
    config = deployment(tmp_path)
    write(tmp_path, "a.csv", HEADER + "D1,甲,1\r\n")
    write(tmp_path, "b.csv", HEADER + "D2,乙,2\r\n")
    con = warehouse()
    sync(con, config, DAY_1)
    (tmp_path / "exports" / "b.csv").unlink()
    batch = sync(con, config, DAY_2)

    assert read_in_file_order(con, "dealers") == ingest_feed(config.sources[0], config, DAY_1).table
    assert (batch.rows, batch.table.num_rows) == (1, 0)
    assert [f.source_file for f in batch.files] == ["exports/a.csv"]


def test_a_changed_file_among_unchanged_ones_has_only_its_rows_written(tmp_path):
    config = deployment(tmp_path)
    write(tmp_path, "a.csv", HEADER + "D1,甲,1\r\nD2,乙,2\r\n")
    write(tmp_path, "b.csv", HEADER + "D3,丙,3\r\nD4,丁,4\r\n")
    write(tmp_path, "c.csv", HEADER + "D5,戊,5\r\n")
    con, whole = warehouse(), warehouse()
    sync(con, config, DAY_1)
    sync(whole, config, DAY_1, reuse=False)
    before = dict(con.execute("SELECT 客户编号, rowid FROM raw.dealers").fetchall())
    # the next day b.csv, between two unchanged files, lost D3 and gained D6 and D5 (c's key)
    write(tmp_path, "b.csv", HEADER + "D4,丁,4\r\nD6,庚,7\r\nD5,己,6\r\n")
    batch = sync(con, config, DAY_2)
    read = sync(whole, config, DAY_2, reuse=False)

    assert batch.kept == ("exports/a.csv", "exports/c.csv")
    after = con.execute("SELECT 客户编号, source_file, rowid FROM raw.dealers").fetchall()
    kept = {k: rowid for k, f, rowid in after if f != "exports/b.csv"}
    assert kept == {k: before[k] for k in ("D1", "D2", "D5")}  # not written again
    # in the files' order, the table is the one a read of every file writes
    assert read_in_file_order(con, "dealers") == read.table
    assert whole.sql("FROM raw.dealers").to_arrow_table() == read.table
    assert batch.table == read.table.filter(pc.equal(read.table["source_file"], "exports/b.csv"))
    assert [
        k
        for (k,) in con.sql(
            f"SELECT 客户编号 FROM ({with_file_place(con, 'dealers')}) ORDER BY __file, source_row"
        ).fetchall()
    ] == ["D1", "D2", "D4", "D6", "D5", "D5"]


def test_a_book_that_grew_at_its_end_gets_only_its_new_rows_appended(tmp_path, monkeypatch):
    config = deployment(tmp_path)
    write(tmp_path, "a.csv", HEADER + "D1,甲,1\r\nD2,乙,2\r\n")
    con, read_whole = warehouse(), warehouse()
    sync(con, config, DAY_1)
    sync(read_whole, config, DAY_1, reuse=False)
    replaced, opened = [], []
    real = raw_files.replace_table
    monkeypatch.setattr(
        raw_files,
        "replace_table",
        lambda con, s, t, data: replaced.append(t) or real(con, s, t, data),
    )
    real_read = raw_files.read_file
    monkeypatch.setattr(
        raw_files, "read_file", lambda path, *a: opened.append(path.name) or real_read(path, *a)
    )
    write(tmp_path, "a.csv", HEADER + "D1,甲,1\r\nD2,乙,2\r\nD3,丙,3\r\nD2,乙,2\r\n")
    grown = sync(con, config, DAY_2)
    assert replaced == [] and opened == []  # only the bytes after the old end were read
    whole = sync(read_whole, config, DAY_2, reuse=False)
    assert (grown.held, grown.table.num_rows, grown.rows) == (2, 2, 4)
    assert con.sql("FROM raw.dealers").to_arrow_table() == whole.table
    assert files_table(grown) == files_table(whole)
    # the repeated D2 row is the content first read on day 1
    assert [r["ingested_at"] for r in grown.table.to_pylist()] == [DAY_2, DAY_1]

    write(tmp_path, "a.csv", HEADER + "D1,甲,11\r\nD2,乙,2\r\nD3,丙,3\r\nD4,丁,4\r\n")
    edited = sync(con, config, DAY_2)  # a row changed above the new one: written whole
    assert replaced == ["dealers"]
    assert con.sql("FROM raw.dealers").to_arrow_table() == edited.table


def test_a_grown_book_is_numbered_after_its_rejected_and_blank_rows(tmp_path):
    config = deployment(tmp_path)
    book = HEADER + "D1,甲,1\r\nD2,乙,2,多余\r\n\r\n,,\r\n"
    write(tmp_path, "a.csv", book)
    con, read_whole = warehouse(), warehouse()
    sync(con, config, DAY_1)
    sync(read_whole, config, DAY_1, reuse=False)
    write(tmp_path, "a.csv", book + "D3,丙,3\r\nD4,丁\r\nD5,戊,5\r\n")
    grown = sync(con, config, DAY_2)
    whole = sync(read_whole, config, DAY_2, reuse=False)

    assert grown.held == 1
    assert con.sql("FROM raw.dealers").to_arrow_table() == whole.table
    assert grown.rejected_table() == whole.rejected_table()
    assert files_table(grown) == files_table(whole)
    rows = con.sql("SELECT 客户编号, source_row FROM raw.dealers").fetchall()
    assert rows == [("D1", 2), ("D3", 6), ("D5", 8)]


@pytest.mark.parametrize(
    "before, after",
    [
        # the old end had no line break: the new bytes continue its last record
        (HEADER + "D1,甲,1\r\nD2,乙,2", HEADER + "D1,甲,1\r\nD2,乙,2\r\nD3,丙,3\r\n"),
        # a quote before the old end: a quoted field may hold a line break
        (HEADER + 'D1,"甲\r\n乙",1\r\n', HEADER + 'D1,"甲\r\n乙",1\r\nD3,丙,3\r\n'),
        # an unterminated quote ran to the old end: the new bytes are inside its field
        (HEADER + 'D1,"甲,1\r\n', HEADER + 'D1,"甲,1\r\nD3",丙,3\r\n'),
    ],
)
def test_a_book_whose_old_end_may_not_end_a_record_is_read_whole(
    tmp_path, monkeypatch, before, after
):
    config = deployment(tmp_path)
    write(tmp_path, "a.csv", before)
    con = warehouse()
    sync(con, config, DAY_1)
    write(tmp_path, "a.csv", after)
    opened = []
    real_read = raw_files.read_file
    monkeypatch.setattr(
        raw_files, "read_file", lambda path, *a: opened.append(path.name) or real_read(path, *a)
    )
    grown = sync(con, config, DAY_2)

    assert opened == ["a.csv"] and grown.held == 0
    whole = ingest_feed(config.sources[0], config, DAY_2).table
    assert grown.table.drop_columns(["ingested_at"]) == whole.drop_columns(["ingested_at"])


def test_a_book_that_gained_bytes_that_are_not_utf8_is_read_whole_as_gb18030(tmp_path):
    """As a read of the whole file: GB18030, whose header then names no mapped column."""
    config = deployment(tmp_path)
    auto = config.sources[0].model_copy(update={"encoding": "auto"})
    config = config.model_copy(update={"sources": [auto]})
    write(tmp_path, "a.csv", HEADER + "D1,A,1\r\n", encoding="utf-8")
    con = warehouse()
    sync(con, config, DAY_1)
    folder = tmp_path / "exports"
    (folder / "a.csv").write_bytes(
        (HEADER + "D1,A,1\r\n").encode() + "D2,乙,2\r\n".encode("gb18030")
    )
    with pytest.raises(SourceReadError, match="mapped in feed 'dealers' is missing"):
        sync(con, config, DAY_2)
    with pytest.raises(SourceReadError, match="mapped in feed 'dealers' is missing"):
        ingest_feed(config.sources[0], config, DAY_2)


class _CountedHashing:
    """``hashlib`` for ``warehouse.step_inputs``, summing the bytes its SHA-256s take."""

    def __init__(self) -> None:
        self.taken = 0

    def sha256(self, data: bytes = b""):
        real, counter = hashlib.sha256(data), self
        counter.taken += len(data)

        class Counted:
            def update(self, chunk: bytes) -> None:
                counter.taken += len(chunk)
                real.update(chunk)

            def hexdigest(self) -> str:
                return real.hexdigest()

        return Counted()


def test_a_grown_book_is_hashed_once_for_the_plan_and_the_read(tmp_path, monkeypatch):
    """The raw step's plan fingerprints the book and its read asks whether it only grew: one
    read of its bytes answers both (``hash_grown_book`` before the plan)."""
    monkeypatch.setattr(step_inputs, "_FILE_PRINTS", {})
    monkeypatch.setattr(step_inputs, "_PREFIX_PRINTS", {})
    monkeypatch.setattr(step_inputs, "_SETTLED_NS", 0)
    config = deployment(tmp_path)
    write(tmp_path, "a.csv", HEADER + "D1,甲,1\r\nD2,乙,2\r\n")
    con = warehouse()
    sync(con, config, DAY_1)
    write(tmp_path, "a.csv", HEADER + "D1,甲,1\r\nD2,乙,2\r\nD3,丙,3\r\n")
    book = tmp_path / "exports" / "a.csv"
    os.utime(book, ns=(1_000_000_000, 1_000_000_000))
    counted = _CountedHashing()
    monkeypatch.setattr(step_inputs, "hashlib", counted)
    hash_grown_book(con, config.sources[0], config)
    step_inputs.file_fingerprint(book)  # what the plan takes
    grown = sync(con, config, DAY_2)
    assert grown.held == 2
    assert counted.taken == book.stat().st_size

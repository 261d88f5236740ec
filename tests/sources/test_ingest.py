"""Ingestion: every file of a feed into one raw table with lineage; nothing lost, bad input named."""

from datetime import datetime

import pytest

from sources.ingest import ingest_feed
from sources.readers import SourceReadError
from tests.sources.feed_support import deployment, write

WHEN = datetime(2026, 11, 1, 8, 0)


def test_files_become_one_table_with_lineage_in_front(tmp_path):
    write(
        tmp_path,
        "a.csv",
        "客户编号,客户名称,电话\r\nD1,厦门洪来文印店,0592-5551234\r\nD2,快心电脑（厦门）有限公司,\r\n",
    )
    write(
        tmp_path,
        "b.csv",
        "客户编号,客户名称,电话,备注\r\nD3,章伟,13800138000,老客户\r\n",
        encoding="utf-8-sig",
    )
    config = deployment(tmp_path)
    batch = ingest_feed(config.sources[0], config, ingested_at=WHEN)
    table = batch.table
    assert table.column_names[:5] == [
        "source",
        "source_file",
        "source_row",
        "ingested_at",
        "record_hash",
    ]
    rows = table.to_pylist()
    assert [(r["source_file"], r["source_row"], r["客户编号"]) for r in rows] == [
        ("exports/a.csv", 2, "D1"),
        ("exports/a.csv", 3, "D2"),
        ("exports/b.csv", 2, "D3"),
    ]
    assert rows[0]["客户名称"] == "厦门洪来文印店"  # decoded, untouched
    assert rows[1]["电话"] is None and rows[0]["备注"] is None  # a column one file lacks is null
    assert {r["source"] for r in rows} == {"dealers"} and {r["ingested_at"] for r in rows} == {WHEN}
    assert [f.encoding for f in batch.files] == ["gb18030", "utf-8-sig"]
    assert batch.rows_received == 3


def test_record_hash_follows_content_not_lineage(tmp_path):
    write(
        tmp_path,
        "a.csv",
        "客户编号,客户名称,电话\r\nD1,厦门洪来文印店,0592-5551234\r\nD2,厦门洪来文印店,0592-5551234\r\n",
    )
    config = deployment(tmp_path)
    first = (
        ingest_feed(config.sources[0], config, ingested_at=WHEN)
        .table.column("record_hash")
        .to_pylist()
    )
    again = ingest_feed(config.sources[0], config, ingested_at=datetime(2027, 1, 1)).table
    assert again.column("record_hash").to_pylist() == first  # same content, same hash, any day
    assert first[0] != first[1]  # the record id is content
    write(
        tmp_path,
        "a.csv",
        "客户编号,客户名称,电话\r\nD1,厦门洪来文印店,0592-5559999\r\nD2,厦门洪来文印店,0592-5551234\r\n",
    )
    changed = (
        ingest_feed(config.sources[0], config, ingested_at=WHEN)
        .table.column("record_hash")
        .to_pylist()
    )
    assert changed[0] != first[0] and changed[1] == first[1]


def test_rows_that_cannot_be_split_are_kept_as_rejects(tmp_path):
    write(
        tmp_path,
        "a.csv",
        "客户编号,客户名称,电话\r\nD1,厦门洪来文印店,0592-5551234\r\nD2,多了,一个,字段\r\n",
    )
    config = deployment(tmp_path)
    batch = ingest_feed(config.sources[0], config, ingested_at=WHEN)
    assert batch.table.num_rows == 1 and batch.rows_received == 2
    rejected = batch.rejected_table().to_pylist()
    assert [(r["source_file"], r["source_row"]) for r in rejected] == [("exports/a.csv", 3)]
    assert "D2,多了,一个,字段" in rejected[0]["raw"]


def test_missing_mapped_column_names_file_and_column(tmp_path):
    write(tmp_path, "a.csv", "客户编号,名称,电话\r\nD1,厦门洪来文印店,0592-5551234\r\n")
    config = deployment(tmp_path)
    with pytest.raises(SourceReadError) as error:
        ingest_feed(config.sources[0], config, ingested_at=WHEN)
    assert "a.csv" in str(error.value) and "'客户名称'" in str(error.value)
    assert error.value.field == "客户名称"


def test_glob_matching_nothing_is_an_error(tmp_path):
    config = deployment(tmp_path, path="exports/nothing-*.csv")
    with pytest.raises(SourceReadError, match="no file matches"):
        ingest_feed(config.sources[0], config, ingested_at=WHEN)


def test_a_row_read_again_keeps_its_first_read_and_its_row_number_now(tmp_path):
    import duckdb

    from sources.ingest import keep_first_read
    from warehouse.store import replace_table

    config = deployment(tmp_path)
    write(tmp_path, "a.csv", "客户编号,客户名称,电话\r\nD1,甲,1\r\nD2,乙,2\r\nD3,丙,3\r\n")
    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw")
    first = ingest_feed(config.sources[0], config, ingested_at=WHEN).table
    assert keep_first_read(con, "dealers", first) == first  # nothing read before
    replace_table(con, "raw", "dealers", first)

    # the next day D1 is gone, D2 is unchanged one row higher, D3 changed, D4 new
    write(tmp_path, "a.csv", "客户编号,客户名称,电话\r\nD2,乙,2\r\nD3,丙,33\r\nD4,丁,4\r\n")
    later = datetime(2026, 11, 2, 8, 0)
    again = keep_first_read(con, "dealers", ingest_feed(config.sources[0], config, later).table)

    assert again.select(["客户编号", "source_row", "ingested_at"]).to_pylist() == [
        {"客户编号": "D2", "source_row": 2, "ingested_at": WHEN},
        {"客户编号": "D3", "source_row": 3, "ingested_at": later},
        {"客户编号": "D4", "source_row": 4, "ingested_at": later},
    ]
    assert again.schema == first.schema

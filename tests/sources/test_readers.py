"""Readers turn one export file, as a department sent it, into a table of text.

Every test writes a tiny real file into tmp_path, so the case is visible in the test.
"""

from __future__ import annotations

import pickle
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xlsxwriter

from sources.readers import (
    ROW_COLUMN,
    ReadResult,
    RejectedRow,
    SourceReadError,
    detect_format,
    expand_paths,
    read_export,
)


def write(path: Path, text: str, encoding: str) -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def rows(result: ReadResult) -> list[dict]:
    return result.table.to_pylist()


def assert_all_text(result: ReadResult) -> None:
    schema = result.table.schema
    assert schema.names[-1] == ROW_COLUMN
    assert schema.field(ROW_COLUMN).type == pa.int64()
    assert all(field.type == pa.string() for field in schema if field.name != ROW_COLUMN)


# --- CSV: encodings -------------------------------------------------------------------


def test_utf8_with_bom_and_chinese_headers(tmp_path):
    path = write(
        tmp_path / "a.csv",
        "客户编号, 客户名称 ,手机\n00123,厦门鹭岛贸易有限公司,13800138000\n",
        "utf-8-sig",
    )
    result = read_export(path)
    assert result.encoding == "utf-8-sig"
    assert result.table.column_names == ["客户编号", "客户名称", "手机", "__row"]
    assert rows(result) == [
        {"客户编号": "00123", "客户名称": "厦门鹭岛贸易有限公司", "手机": "13800138000", "__row": 2}
    ]
    assert_all_text(result)


def test_plain_utf8(tmp_path):
    path = write(tmp_path / "a.csv", "id,name\n1,王小明\n2,Zoë\n", "utf-8")
    result = read_export(path)
    assert result.encoding == "utf-8"
    assert [r["name"] for r in rows(result)] == ["王小明", "Zoë"]


def test_gb18030_auto_with_rare_characters(tmp_path):
    text = "编号,名称,地址\n1,〇号商行,厦门\n2,囧记餐饮,北京\n"
    path = write(tmp_path / "a.csv", text, "gb18030")
    result = read_export(path)
    assert result.encoding == "gb18030"
    assert result.table.column_names[:3] == ["编号", "名称", "地址"]
    assert [r["名称"] for r in rows(result)] == ["〇号商行", "囧记餐饮"]


def test_declared_gbk_decodes_gbk_file(tmp_path):
    path = write(tmp_path / "a.csv", "编号,名称\n1,〇号商行\n2,囧记\n", "gbk")
    result = read_export(path, encoding="GBK")
    assert result.encoding == "gbk"
    assert [r["名称"] for r in rows(result)] == ["〇号商行", "囧记"]


def test_utf16_with_tabs(tmp_path):
    path = write(tmp_path / "a.txt", "编号\t名称\r\n1\t臺灣貿易\r\n", "utf-16")
    result = read_export(path)
    assert result.encoding == "utf-16"
    assert rows(result) == [{"编号": "1", "名称": "臺灣貿易", "__row": 2}]


def test_declared_gbk_with_stray_byte_names_offset_line_and_field(tmp_path):
    good = "编号,名称\n1,厦门\n".encode("gbk")
    path = tmp_path / "bad.csv"
    path.write_bytes(good + b"2,\xff\xfe\n3,ok\n")
    with pytest.raises(SourceReadError) as caught:
        read_export(path, encoding="gbk")
    error = caught.value
    assert error.offset == len(good) + 2
    assert error.row == 3 and error.field == "名称"
    text = str(error)
    assert (
        "bad.csv" in text
        and "gbk" in text
        and f"byte offset {len(good) + 2}" in text
        and "line 3" in text
    )


def test_declared_utf8_on_gbk_file_is_an_error(tmp_path):
    path = write(tmp_path / "a.csv", "id,name\n1,ok\n2,厦门\n", "gbk")
    with pytest.raises(SourceReadError) as caught:
        read_export(path, encoding="utf-8")
    assert caught.value.offset == len(b"id,name\n1,ok\n2,")
    assert "line 3" in str(caught.value) and "utf-8" in str(caught.value)


def test_gbk_header_declared_utf8_is_an_error_on_line_1(tmp_path):
    path = write(tmp_path / "a.csv", "编号,名称\n1,2\n", "gbk")
    with pytest.raises(SourceReadError, match="line 1"):
        read_export(path, encoding="utf-8")


def test_auto_falls_back_to_gb18030_when_gbk_bytes_come_late(tmp_path, monkeypatch):
    # The first bytes sniffed are plain ASCII; the Chinese text only comes later.
    monkeypatch.setattr("sources.readers.csv_reader.HEAD_BYTES", 64)
    text = "id,name\n" + "".join(f"{i},name{i}\n" for i in range(50)) + "99,厦门〇号\n"
    path = write(tmp_path / "a.csv", text, "gb18030")
    result = read_export(path)
    assert result.encoding == "gb18030"
    assert rows(result)[-1] == {"id": "99", "name": "厦门〇号", "__row": 52}


def test_bytes_neither_utf8_nor_gb18030(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"id,name\n1,\x80\n")
    with pytest.raises(SourceReadError, match="neither UTF-8 nor GB18030") as caught:
        read_export(path)
    assert caught.value.offset == 10


def test_unknown_encoding(tmp_path):
    path = write(tmp_path / "a.csv", "a\n1\n", "utf-8")
    with pytest.raises(SourceReadError, match="unknown encoding"):
        read_export(path, encoding="klingon")


# --- CSV: values and rows -------------------------------------------------------------


def test_everything_stays_text_and_empty_is_null(tmp_path):
    text = 'id,phone,flag,amount,note\n00123,0592-5551234,NA,1.50,\n007,05925551234,NULL,1e3,""\n'
    result = read_export(write(tmp_path / "a.csv", text, "utf-8"))
    assert rows(result) == [
        {
            "id": "00123",
            "phone": "0592-5551234",
            "flag": "NA",
            "amount": "1.50",
            "note": None,
            "__row": 2,
        },
        {
            "id": "007",
            "phone": "05925551234",
            "flag": "NULL",
            "amount": "1e3",
            "note": None,
            "__row": 3,
        },
    ]
    assert_all_text(result)


def test_ragged_rows_are_rejected_with_their_row_numbers(tmp_path):
    text = "id,name,city\n1,a,x\n2,b\n3,c,y\n4,d,z,extra\n5,e,w\n"
    result = read_export(write(tmp_path / "a.csv", text, "utf-8"))
    assert [(r["id"], r["__row"]) for r in rows(result)] == [("1", 2), ("3", 4), ("5", 6)]
    assert result.rejected == [
        RejectedRow(str(tmp_path / "a.csv"), 3, "expected 3 fields, found 2", "2,b"),
        RejectedRow(str(tmp_path / "a.csv"), 5, "expected 3 fields, found 4", "4,d,z,extra"),
    ]


def test_ragged_gbk_row_keeps_its_chinese_text(tmp_path):
    path = write(tmp_path / "a.csv", "编号,名称\n1,厦门\n2,囧,多余\n3,〇\n", "gbk")
    result = read_export(path, encoding="gbk")
    assert [(r["名称"], r["__row"]) for r in rows(result)] == [("厦门", 2), ("〇", 4)]
    assert [(r.source_row, r.raw) for r in result.rejected] == [(3, "2,囧,多余")]


def test_quoted_newline_and_comma_make_one_row(tmp_path):
    text = 'id,address,phone\n1,"厦门市思明区\n湖滨南路1号, 3楼",0592\n2,"say ""hi""",0593\n3,x\n4,y,z\n'
    result = read_export(write(tmp_path / "a.csv", text, "utf-8"))
    assert rows(result) == [
        {"id": "1", "address": "厦门市思明区\n湖滨南路1号, 3楼", "phone": "0592", "__row": 2},
        {"id": "2", "address": 'say "hi"', "phone": "0593", "__row": 3},
        {"id": "4", "address": "y", "phone": "z", "__row": 5},
    ]
    assert [(r.source_row, r.raw) for r in result.rejected] == [(4, "3,x")]


def test_row_numbers_stay_right_across_many_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr("sources.readers.csv_reader._BLOCK_SIZE", 256)
    lines, expected, bad = ["id,a,b"], [], []
    for i in range(2, 600):
        if i % 97 == 0:
            lines.append(f"{i},short")
            bad.append(i)
        elif i % 41 == 0:
            lines.append(f'{i},"two\nlines",x')
            expected.append(i)
        else:
            lines.append(f"{i},v,w")
            expected.append(i)
    result = read_export(write(tmp_path / "a.csv", "\r\n".join(lines) + "\r\n", "utf-8"))
    assert [int(r["id"]) for r in rows(result)] == expected
    assert [r["__row"] for r in rows(result)] == expected
    assert [r.source_row for r in result.rejected] == bad


def test_blank_and_empty_rows_are_skipped_but_counted(tmp_path):
    text = "id,name\n1,a\n\n,\n   \n2,b\n"
    result = read_export(write(tmp_path / "a.csv", text, "utf-8"))
    assert [(r["id"], r["__row"]) for r in rows(result)] == [("1", 2), ("2", 6)]
    assert result.rejected == []


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_delimiter_is_sniffed_from_the_header(tmp_path, sep):
    text = sep.join(["编号", "名称", "备注"]) + "\n" + sep.join(["1", "a,b", "c"]) + "\n"
    result = read_export(write(tmp_path / "a.csv", text, "utf-8"))
    assert rows(result) == [{"编号": "1", "名称": "a,b", "备注": "c", "__row": 2}]


def test_declared_delimiter_wins(tmp_path):
    path = write(tmp_path / "a.csv", "a;b,c\n1;2,3\n", "utf-8")
    assert read_export(path, delimiter=";").table.column_names == ["a", "b,c", "__row"]
    with pytest.raises(SourceReadError, match="delimiter"):
        read_export(path, delimiter=";;")


def test_header_only_file_gives_empty_table(tmp_path):
    result = read_export(write(tmp_path / "a.csv", "id,name\n", "utf-8"))
    assert result.table.num_rows == 0
    assert result.table.column_names == ["id", "name", "__row"]
    assert_all_text(result)


# --- CSV: header problems -------------------------------------------------------------


def test_duplicate_header_is_an_error_naming_it(tmp_path):
    path = write(tmp_path / "a.csv", "编号,手机, 手机 \n1,2,3\n", "utf-8")
    with pytest.raises(SourceReadError, match="duplicate column name '手机'") as caught:
        read_export(path)
    assert caught.value.field == "手机" and "a.csv" in str(caught.value)


def test_blank_header_cell_is_an_error(tmp_path):
    with pytest.raises(SourceReadError, match="header cell 2"):
        read_export(write(tmp_path / "a.csv", "id,,name\n1,2,3\n", "utf-8"))


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\n\n"])
def test_empty_file_is_an_error(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(SourceReadError, match="empty") as caught:
        read_export(path)
    assert "empty.csv" in str(caught.value)


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(SourceReadError, match="file not found"):
        read_export(tmp_path / "nope.csv")


# --- XLSX -----------------------------------------------------------------------------


def make_workbook(path: Path) -> Path:
    workbook = xlsxwriter.Workbook(str(path))
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    stamp = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    sheet = workbook.add_worksheet("經銷商")
    sheet.write_row(0, 0, ["編號", "公司名稱", "金額", "手機", "日期", "時間", "有效", "", "備註"])
    sheet.write_row(1, 0, ["00123", "臺灣貿易股份有限公司", 123, 13800138000.0])
    sheet.write_datetime(1, 4, datetime(2024, 1, 2), day)
    sheet.write_datetime(1, 5, datetime(2024, 1, 2, 3, 4, 5), stamp)
    sheet.write_boolean(1, 6, True)
    # row 3 (index 2) is empty
    sheet.write_row(3, 0, ["7", "香港東亞銀行", 1.5, "", "", "", False, "", "新客戶"])
    sheet.write_row(5, 0, ["8", "澳門", 0.1])
    # trailing empty formatted cells
    sheet.write_blank(8, 0, None, day)
    workbook.add_worksheet("Other").write_row(2, 1, ["a", "b"])
    workbook.worksheets()[1].write_row(3, 1, ["x", 2])
    workbook.close()
    return path


def test_xlsx_values_dates_and_empty_rows(tmp_path):
    result = read_export(make_workbook(tmp_path / "a.xlsx"))
    assert result.encoding is None and result.rejected == []
    assert result.table.column_names == [
        "編號",
        "公司名稱",
        "金額",
        "手機",
        "日期",
        "時間",
        "有效",
        "備註",
        "__row",
    ]
    assert rows(result) == [
        {"編號": "00123", "公司名稱": "臺灣貿易股份有限公司", "金額": "123", "手機": "13800138000",
         "日期": "2024-01-02", "時間": "2024-01-02 03:04:05", "有效": "true", "備註": None, "__row": 2},
        {"編號": "7", "公司名稱": "香港東亞銀行", "金額": "1.5", "手機": None,
         "日期": None, "時間": None, "有效": "false", "備註": "新客戶", "__row": 4},
        {"編號": "8", "公司名稱": "澳門", "金額": "0.1", "手機": None,
         "日期": None, "時間": None, "有效": None, "備註": None, "__row": 6},
    ]  # fmt: skip
    assert_all_text(result)


def test_xlsx_sheet_selection_keeps_sheet_row_numbers(tmp_path):
    result = read_export(make_workbook(tmp_path / "a.xlsx"), sheet="Other")
    assert rows(result) == [{"a": "x", "b": "2", "__row": 4}]


def test_xlsx_unknown_sheet_lists_the_sheets(tmp_path):
    with pytest.raises(SourceReadError) as caught:
        read_export(make_workbook(tmp_path / "a.xlsx"), sheet="客户")
    assert (
        "'經銷商'" in str(caught.value)
        and "'Other'" in str(caught.value)
        and "a.xlsx" in str(caught.value)
    )


def test_xlsx_blank_header_over_data_is_an_error(tmp_path):
    workbook = xlsxwriter.Workbook(str(tmp_path / "a.xlsx"))
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, ["id", "", "name"])
    sheet.write_row(1, 0, ["1", "orphan", "a"])
    workbook.close()
    with pytest.raises(SourceReadError, match="header cell 2"):
        read_export(tmp_path / "a.xlsx")


def test_corrupt_xlsx_names_the_file(tmp_path):
    path = tmp_path / "corrupt.xlsx"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(SourceReadError, match="not a readable workbook") as caught:
        read_export(path)
    assert "corrupt.xlsx" in str(caught.value)


def test_empty_sheet_is_an_error(tmp_path):
    workbook = xlsxwriter.Workbook(str(tmp_path / "a.xlsx"))
    workbook.add_worksheet("空")
    workbook.close()
    with pytest.raises(SourceReadError, match="empty"):
        read_export(tmp_path / "a.xlsx")


# --- Parquet --------------------------------------------------------------------------


def test_parquet_round_trip_as_text(tmp_path):
    table = pa.table(
        {
            "编号": ["00123", "", None],
            "金额": pa.array([1.0, 0.1, None], pa.float64()),
            "手机": pa.array([13800138000.0, None, None]),
            "数量": pa.array([1, None, 3], pa.int64()),
            "日期": pa.array([date(2024, 1, 2), None, None]),
            "时间": pa.array(
                [datetime(2024, 1, 2), datetime(2024, 1, 2, 3, 4, 5), None], pa.timestamp("us")
            ),
            "有效": [True, False, None],
        }
    )
    pq.write_table(table, tmp_path / "a.parquet")
    result = read_export(tmp_path / "a.parquet")
    assert rows(result) == [
        {"编号": "00123", "金额": "1", "手机": "13800138000", "数量": "1", "日期": "2024-01-02",
         "时间": "2024-01-02", "有效": "true", "__row": 2},
        {"编号": None, "金额": "0.1", "手机": None, "数量": None, "日期": None,
         "时间": "2024-01-02 03:04:05", "有效": "false", "__row": 3},
        {"编号": None, "金额": None, "手机": None, "数量": "3", "日期": None,
         "时间": None, "有效": None, "__row": 4},
    ]  # fmt: skip
    assert_all_text(result)


def test_corrupt_parquet_is_an_error(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(SourceReadError, match="not a readable Parquet file") as caught:
        read_export(path)
    assert "bad.parquet" in str(caught.value)


# --- formats, paths, errors -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("a.csv", "csv"), ("a.TXT", "csv"), ("a.tsv", "csv"), ("a.xlsx", "xlsx"), ("a.xlsm", "xlsx"),
     ("a.xls", "xlsx"), ("a.parquet", "parquet"), ("a.pq", "parquet")],
)  # fmt: skip
def test_detect_format(name, fmt):
    assert detect_format(name) == fmt


def test_detect_format_unknown_extension():
    with pytest.raises(SourceReadError, match="a.json"):
        detect_format("a.json")


def test_expand_paths(tmp_path):
    (tmp_path / "east" / "2024").mkdir(parents=True)
    for name in ["b.csv", "a.csv", "east/c.csv", "east/2024/d.csv", "~$a.xlsx", "east/notes.txt"]:
        (tmp_path / name).write_text("x\n1\n", encoding="utf-8")
    assert expand_paths(tmp_path, "*.csv") == [tmp_path / "a.csv", tmp_path / "b.csv"]
    assert expand_paths(tmp_path, "**/*.csv") == sorted(
        [
            tmp_path / "a.csv",
            tmp_path / "b.csv",
            tmp_path / "east/c.csv",
            tmp_path / "east/2024/d.csv",
        ]
    )
    assert expand_paths("/elsewhere", str(tmp_path / "east" / "*.txt")) == [
        tmp_path / "east/notes.txt"
    ]
    assert expand_paths(tmp_path, "*") == [
        tmp_path / "a.csv",
        tmp_path / "b.csv",
    ]  # no folders, no lock files


def test_expand_paths_with_glob_characters_in_the_folder(tmp_path):
    base = tmp_path / "exports[2024]"
    base.mkdir()
    (base / "a.csv").write_text("x\n1\n", encoding="utf-8")
    assert expand_paths(base, "*.csv") == [base / "a.csv"]


def test_expand_paths_matching_nothing_is_an_error(tmp_path):
    with pytest.raises(SourceReadError, match="no file matches") as caught:
        expand_paths(tmp_path, "dealers/*.xlsx")
    assert caught.value.path == "dealers/*.xlsx"


def test_source_read_error_text_and_pickling():
    error = SourceReadError("d/a.csv", "bytes do not decode", row=7, field="手机", offset=120)
    assert str(error) == "d/a.csv, row 7, field '手机', byte offset 120: bytes do not decode"
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.path, copy.message, copy.row, copy.field, copy.offset) == (
        "d/a.csv",
        "bytes do not decode",
        7,
        "手机",
        120,
    )
    assert str(SourceReadError(Path("x.csv"), "empty")) == "x.csv: empty"

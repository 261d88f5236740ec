"""Masking for ``pii: masked``: what stays of each kind of personal value, in Python and in DuckDB."""

from datetime import date

import duckdb
import pytest

from warehouse.access.masking import (
    column_kind,
    mask_row,
    mask_value,
    masked_attribute_expression,
    masked_expression,
    masking_functions,
)


@pytest.mark.parametrize(
    ("kind", "clear", "masked"),
    [
        ("phone", "13812345678", "138****5678"),
        ("phone", "+8613812345678", "+86138****5678"),
        ("phone", "+865925551234", "+86592***1234"),
        ("phone", "(0592)555-1234", "059****1234"),
        ("phone", "12345", "***45"),
        ("id_number", "350203198501011234", "3502**********1234"),
        ("id_number", "G1234567", "********"),
        ("email", "zhang.wei@qq.com", "z***@qq.com"),
        ("handle", "zw_1985", "z***"),
        ("birth_date", date(1985, 3, 7), "1985"),
        ("birth_date", "1985-03-07", "1985"),
        ("address_detail", "湖滨南路1号501室", None),
        ("address", "厦门思明区湖滨南路1号501室", "福建省厦门市思明区"),
        ("address", "北京市朝阳区建国路1号", "北京市朝阳区"),
    ],
)
def test_each_kind_keeps_what_work_needs(kind, clear, masked):
    assert mask_value(kind, clear) == masked


def test_none_stays_none_and_names_stay():
    assert mask_value("phone", None) is None
    row = {"name": "张伟", "contact_name": "李娜", "mobile": "+8613812345678", "city": "厦门市"}
    assert mask_row(row) == {
        "name": "张伟",
        "contact_name": "李娜",
        "mobile": "+86138****5678",
        "city": "厦门市",
    }


def test_review_pairs_and_lineage_rows_are_masked_by_what_they_hold():
    assert column_kind("id_number_l") == "id_number" and column_kind("mobile_r") == "phone"
    assert column_kind("record_key_l") is None
    lineage = [
        {"attribute": "mobile", "value": "+8613812345678", "record_key": "dealers:1"},
        {"attribute": "name", "value": "张伟", "record_key": "dealers:1"},
        {"attribute": "address", "value": "厦门思明区湖滨南路1号501室", "record_key": "dealers:1"},
    ]
    assert [mask_row(r)["value"] for r in lineage] == [
        "+86138****5678",
        "张伟",
        "福建省厦门市思明区",
    ]


def test_duckdb_masks_as_python_does():
    con = duckdb.connect()
    con.execute(
        """CREATE TABLE t AS SELECT * FROM (VALUES
             ('+8613812345678', 'zhang.wei@qq.com', DATE '1985-03-07', 'mobile', '+8613912345678'),
             (NULL, NULL, NULL, 'name', '张伟')) v(mobile, email, birth_date, attribute, value)"""
    )
    select = ", ".join(
        [masked_expression(c, c) for c in ("mobile", "email", "birth_date")]
        + [masked_attribute_expression("attribute", "value")]
    )
    with masking_functions(con):
        rows = con.execute(f"SELECT {select} FROM t ORDER BY attribute").fetchall()
    assert rows == [
        ("+86138****5678", "z***@qq.com", "1985", "+86139****5678"),
        (None, None, None, "张伟"),
    ]
    with pytest.raises(duckdb.CatalogException):  # the functions leave with the block
        con.execute("SELECT cm_mask_phone('1')")

"""Addresses split into official province / city / district and the detail."""

import pandas as pd
import pytest

from sources.standardise import parse_addresses


def parse(raw: str) -> list:
    return parse_addresses(pd.Series([raw])).iloc[0].tolist()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "福建省厦门市思明区湖滨南路1号501室",
            ["福建省", "厦门市", "思明区", "湖滨南路1号501室", "350203"],
        ),
        ("厦门市思明区湖滨南路1号5楼", ["福建省", "厦门市", "思明区", "湖滨南路1号5楼", "350203"]),
        ("厦门思明莲前西路1号", ["福建省", "厦门市", "思明区", "莲前西路1号", "350203"]),
        ("廈門市思明區", ["福建省", "厦门市", "思明区", None, "350203"]),
        ("福建省 厦门市 思明区", ["福建省", "厦门市", "思明区", None, "350203"]),
        ("北京市朝阳区建国路1号", ["北京市", "北京市", "朝阳区", "建国路1号", "110105"]),
        (
            "上海徐汇区虹漕路461号58号楼5楼",
            ["上海市", "上海市", "徐汇区", "虹漕路461号58号楼5楼", "310104"],
        ),
        ("中国福建省福州市鼓楼区", ["福建省", "福州市", "鼓楼区", None, "350102"]),
        ("晋江市陈埭镇", ["福建省", "泉州市", "晋江市", "陈埭镇", "350582"]),
        ("吉林省吉林市船营区", ["吉林省", "吉林市", "船营区", None, "220204"]),
        ("收货地址:福建省厦门市湖里区", ["福建省", "厦门市", "湖里区", None, "350206"]),
    ],
)
def test_addresses(raw, expected):
    assert parse(raw) == expected


def test_road_named_after_a_place_is_detail_not_place():
    assert parse("中山路100号") == [None, None, None, "中山路100号", None]
    assert parse("厦门市思明南路100号") == ["福建省", "厦门市", None, "思明南路100号", "350200"]
    assert parse("广州市北京路") == ["广东省", "广州市", None, "北京路", "440100"]


def test_bare_short_district_name_is_not_trusted():
    assert parse("湖里大道1号") == [None, None, None, "湖里大道1号", None]


def test_empty_addresses_give_none():
    out = parse_addresses(pd.Series([None, ""], index=[1, 2]))
    assert out.index.tolist() == [1, 2]
    assert out.isna().all().all()

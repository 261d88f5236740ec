"""Addresses split into official province / city / district and the detail."""

import pandas as pd
import pytest

from sources.standardise import parse_addresses


def parse(raw: str) -> list:
    return parse_addresses(pd.Series([raw])).iloc[0].tolist()[:5]


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


def test_a_numbered_road_named_after_a_place_is_detail_not_place():
    assert parse("中山五路205号") == [None, None, None, "中山五路205号", None]
    assert parse("上海市中山东一路12号")[3] == "中山东一路12号"


def test_an_address_naming_only_a_municipality_has_it_as_its_city():
    assert parse("北京市 建国路221号 2710室") == [
        "北京市",
        "北京市",
        None,
        "建国路221号 2710室",
        "110000",
    ]
    assert parse("福建省工业路1号") == ["福建省", None, None, "工业路1号", "350000"]


def test_bare_short_district_name_is_not_trusted():
    assert parse("湖里大道1号") == [None, None, None, "湖里大道1号", None]


def test_empty_addresses_give_none():
    out = parse_addresses(pd.Series([None, ""], index=[1, 2]))
    assert out.index.tolist() == [1, 2]
    assert out.isna().all().all()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # county-level cities and counties that became districts read as today's district
        (
            "浙江省萧山市城厢街道人民路5号",
            ["浙江省", "杭州市", "萧山区", "城厢街道人民路5号", "330109"],
        ),
        ("萧山市人民路5号", ["浙江省", "杭州市", "萧山区", "人民路5号", "330109"]),
        ("江苏吴江市松陵镇", ["江苏省", "苏州市", "吴江区", "松陵镇", "320509"]),
        ("余杭县良渚镇", ["浙江省", "杭州市", "余杭区", "良渚镇", "330110"]),
        # a renamed city
        ("湖北省襄樊市樊城区人民路1号", ["湖北省", "襄阳市", "樊城区", "人民路1号", "420606"]),
        # a district merged away keeps its city, never a guessed district
        ("福建省三明市梅列区列东街1号", ["福建省", "三明市", None, "列东街1号", "350400"]),
    ],
)
def test_old_division_names_map_to_todays_division(raw, expected):
    assert parse(raw) == expected


def test_an_address_with_its_district_only_still_parses():
    assert parse("思明区湖滨南路1号501室") == [
        "福建省",
        "厦门市",
        "思明区",
        "湖滨南路1号501室",
        "350203",
    ]
    # four cities have a 鼓楼区: the district is kept, the city is not guessed
    assert parse("鼓楼区中山路1号") == [None, None, "鼓楼区", "中山路1号", None]


@pytest.mark.parametrize(
    ("raw", "building", "room"),
    [
        ("厦门市湖里区国贸大厦A座1201室", "国贸大厦A座", "1201室"),
        ("厦门市思明区莲前西路2号莲富大厦3号楼12层1203室", "莲富大厦3号楼", "12层1203室"),
        ("广州市天河区体育西路103号维多利广场B座3201", "维多利广场B座", "3201"),
        ("厦门市金山小区3栋2单元501室", "金山小区3栋2单元", "501室"),
        ("厦门市思明区湖滨南路1号501室", None, "501室"),
        ("厦门市软件园二期观日路24号5楼", None, "5楼"),
        ("厦门市思明区湖滨南路1号", None, None),
        ("厦门市人民路88", None, None),
    ],
)
def test_building_and_room_are_parsed_off(raw, building, room):
    out = parse_addresses(pd.Series([raw])).iloc[0]
    assert (out["address_building"], out["address_room"]) == (building, room)

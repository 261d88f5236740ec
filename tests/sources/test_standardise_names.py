"""Company names split into core / legal form / region; person names cleaned."""

import pandas as pd
import pytest

from sources.standardise import clean_person_names, normalise_text, split_company_names


def split(name: str) -> list:
    return split_company_names(normalise_text(pd.Series([name]))).iloc[0].tolist()


@pytest.mark.parametrize(
    ("raw", "name", "core", "form", "region"),
    [
        ("厦门洪来文印店", "厦门洪来文印店", "洪来文印店", None, "厦门"),
        ("快心电脑（厦门）有限公司", "快心电脑(厦门)有限公司", "快心电脑", "有限公司", "厦门"),
        ("快心电脑有限公司", "快心电脑有限公司", "快心电脑", "有限公司", None),
        ("厦门市快心电脑有限责任公司", "厦门市快心电脑有限公司", "快心电脑", "有限公司", "厦门"),
        (
            "福建省厦门市快心电脑有限公司",
            "福建省厦门市快心电脑有限公司",
            "快心电脑",
            "有限公司",
            "厦门",
        ),
        ("北京华为技术有限公司", "北京华为技术有限公司", "华为技术", "有限公司", "北京"),
        (
            "上海某某贸易股份有限公司",
            "上海某某贸易股份有限公司",
            "某某贸易",
            "股份有限公司",
            "上海",
        ),
        ("廈門快心電腦有限公司", "厦门快心电脑有限公司", "快心电脑", "有限公司", "厦门"),
        ("快心电脑 (厦门) 有限公司", "快心电脑(厦门)有限公司", "快心电脑", "有限公司", "厦门"),
        ("厦门建发集团有限公司", "厦门建发集团有限公司", "建发集团", "有限公司", "厦门"),
        ("华为技术有限公司厦门分公司", "华为技术有限公司厦门分公司", "华为技术", "分公司", "厦门"),
        # no legal form before the branch's place: the place is still the branch's
        ("上海城越广告北京分公司", "上海城越广告北京分公司", "城越广告", "分公司", "北京"),
        (
            "鼎信投资合伙企业（有限合伙）",
            "鼎信投资合伙企业(有限合伙)",
            "鼎信投资",
            "合伙企业(有限合伙)",
            None,
        ),
        ("晋江鞋业有限公司", "晋江鞋业有限公司", "鞋业", "有限公司", "晋江"),
    ],
)
def test_chinese_company_names(raw, name, core, form, region):
    assert split(raw) == [name, core, form, region]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Acme Trading Co., Ltd.", ["Acme Trading Co., Ltd.", "Acme Trading", "Co., Ltd.", None]),
        (
            "Acme Trading Company Limited",
            ["Acme Trading Co., Ltd.", "Acme Trading", "Co., Ltd.", None],
        ),
        ("Foo Inc", ["Foo Inc.", "Foo", "Inc.", None]),
        ("Bar Holdings LLC", ["Bar Holdings LLC", "Bar Holdings", "LLC", None]),
        ("Baz Corporation", ["Baz Corp.", "Baz", "Corp.", None]),
    ],
)
def test_english_legal_forms(raw, expected):
    assert split(raw) == expected


def test_place_is_kept_when_nothing_else_would_remain():
    assert split("中山装店") == ["中山装店", "中山装店", None, None]
    assert split("厦门市有限公司") == ["厦门市有限公司", "厦门市", "有限公司", None]


def test_road_named_after_a_city_is_not_a_region():
    assert split("中山路百货商店") == ["中山路百货商店", "中山路百货商店", None, None]


def test_shop_suffixes_are_not_legal_forms():
    assert split("洪来商行")[2] is None
    assert split("洪来门市部")[1] == "洪来门市部"


def test_empty_names_give_none_everywhere():
    out = split_company_names(pd.Series([None, ""], index=[5, 6]))
    assert out.index.tolist() == [5, 6]
    assert out.isna().all().all()


def test_person_names():
    raw = pd.Series(
        ["張 偉", "李女士", "王先生", "  JOHN   smith ", "Mr. bob DYLAN", "买买提 • 艾力", None]
    )
    assert clean_person_names(raw).tolist() == [
        "张伟",
        "李",
        "王",
        "John Smith",
        "Bob Dylan",
        "买买提·艾力",
        None,
    ]


def test_person_job_titles_are_kept():
    assert clean_person_names(pd.Series(["张经理", "先生"])).tolist() == ["张经理", "先生"]

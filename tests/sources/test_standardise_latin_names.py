"""Latin-script forms of names: a name typed in pinyin or English meets its Chinese one."""

import pandas as pd
import pytest

from sources.standardise import (
    latin_company_names,
    latin_person_names,
    normalise_text,
    split_company_names,
)


def company(raw: str) -> str | None:
    core = split_company_names(normalise_text(pd.Series([raw])))["name_core"]
    return latin_company_names(core).iloc[0]


@pytest.mark.parametrize(
    "raw",
    [
        "厦门快心电脑有限公司",
        "快心电脑(厦门)有限公司",
        "Xiamen Kuaixin Computer Co., Ltd.",
        "KUAIXIN DIANNAO (XIAMEN) CO LTD",
        "Kuaixin Computer Company Limited",
        "Xiamen Kuai-Xin Computers Co.,Ltd",
    ],
)
def test_company_names_in_three_scripts_share_one_latin_form(raw):
    assert company(raw) == "kuaixindiannao"


@pytest.mark.parametrize(
    ("chinese", "english"),
    [
        ("福州宏图信息技术有限公司", "Fuzhou Hongtu Information Technology Co., Ltd."),
        ("厦门瑞丰贸易有限公司", "Xiamen Ruifeng Trading Co., Ltd."),
        ("泉州华南商贸有限公司", "Quanzhou Huanan Commerce & Trade Co., Ltd."),
        ("福建鑫达科技有限公司", "FUJIAN XINDA TECHNOLOGY CO., LTD"),
        ("厦门恒信文化传媒有限公司", "Xiamen Hengxin Culture Media Co., Ltd."),
    ],
)
def test_english_trade_words_are_translated_back(chinese, english):
    assert company(chinese) == company(english)


def test_an_unknown_trade_word_stays_english_and_a_lone_place_stays():
    assert company("Xiamen Kuaixin Widgets Co., Ltd.") == "kuaixinwidgets"
    assert company("Xiamen Co., Ltd.") == "xiamen"


@pytest.mark.parametrize(
    ("name", "latin"),
    [
        ("王晓明", "wang xiaoming"),
        ("WANG Xiaoming", "wang xiaoming"),
        ("Xiaoming WANG", "wang xiaoming"),
        ("Xiaoming Wang", "wang xiaoming"),
        ("Wang Xiao-Ming", "wang xiaoming"),
        ("张伟", "zhang wei"),
        ("Zhang Wei", "zhang wei"),
        ("曾伟", "zeng wei"),  # the surname reading, as people spell it
        ("单雪", "shan xue"),
        ("欧阳娜娜", "ouyang nana"),
        ("Ouyang Nana", "ouyang nana"),
        ("張 偉", "zhang wei"),
        (None, None),
    ],
)
def test_person_names_surname_first(name, latin):
    assert latin_person_names(pd.Series([name])).iloc[0] == latin


def test_an_ambiguous_order_stays_as_typed_for_the_matcher_to_read_both_ways():
    # 魏 is a surname too: 'Wei Zhang' may be 魏章; the matcher compares either order
    assert latin_person_names(pd.Series(["Wei Zhang"])).iloc[0] == "wei zhang"

"""Branch and individual-business markers of company names."""

import pandas as pd
import pytest

from sources.standardise import normalise_text, recognise_business_kinds, split_company_names


def kinds(raw: str) -> list:
    split = split_company_names(normalise_text(pd.Series([raw])))
    return recognise_business_kinds(split).iloc[0].tolist()


@pytest.mark.parametrize(
    ("raw", "head"),
    [
        ("华为技术有限公司福州分公司", "华为技术有限公司"),
        ("快心电脑有限公司(福州)分公司", "快心电脑有限公司"),
        ("厦门快心电脑有限公司湖里分店", "厦门快心电脑有限公司"),
        ("快心电脑厦门办事处", "快心电脑"),
        ("中国银行厦门分行", "中国银行"),
        ("Kuaixin Computer Co., Ltd. Fuzhou Branch", "Kuaixin Computer Co., Ltd."),
    ],
)
def test_branches_and_their_head_office(raw, head):
    is_branch, head_name, kind, owner = kinds(raw)
    assert (is_branch, head_name, kind, owner) == (True, head, "company", None)


@pytest.mark.parametrize(
    ("raw", "owner"),
    [
        ("张伟文印店", "张伟"),
        ("厦门王建华五金店", "王建华"),
        ("李强打字复印部", "李强"),
        ("刘洋商行", "刘洋"),
        ("欧阳娜娜服装店", "欧阳娜娜"),
        ("张伟", "张伟"),
        ("张伟(个体工商户)", "张伟"),
        ("杨秀图文", "杨秀"),  # a name and a trade word, no shop ending
        ("张健国图文", "张健国"),
        ("个体工商户王芳", "王芳"),
    ],
)
def test_individual_businesses_and_their_owner(raw, owner):
    assert kinds(raw) == [False, None, "individual_business", owner]


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("厦门快心电脑有限公司", "company"),
        ("建发集团股份有限公司", "company"),
        ("厦门某某投资合伙企业(有限合伙)", "partnership"),
        ("厦门某某个人独资企业", "sole_proprietorship"),
        ("Xiamen Kuaixin Computer Co., Ltd.", "company"),
        ("快心电脑科技", None),
    ],
)
def test_other_kinds(raw, kind):
    assert kinds(raw) == [False, None, kind, None]


def test_empty_input():
    out = recognise_business_kinds(split_company_names(pd.Series([], dtype=object)))
    assert list(out.columns) == [
        "is_branch",
        "branch_of_name",
        "business_kind",
        "business_owner_name",
    ]
    assert out.empty

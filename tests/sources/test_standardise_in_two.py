"""Many distinct values are cleaned in two processes at once, with the answers of one."""

import pandas as pd
import pytest

from sources.standardise import _common, parse_addresses, split_company_names, standardise_phones
from sources.standardise._common import clean_in_two

ADDRESSES = [
    "厦门思明区湖滨南路1号501室",
    "福建省厦门市湖里区枋湖路2号国贸大厦A座1201室",
    None,
    "北京市朝阳区建国路88号",
    "鼓楼区中山路5号",
    "收货地址:浙江省萧山市人民路3号",
]
COMPANIES = ["福建省厦门市快心电脑有限责任公司", None, "华为技术有限公司福州分公司", "张伟文印店"]
PHONES = ["0592-5551234", "+86 138 0013 8000", None, "13800138000/13900139000", "5551234"]


@pytest.fixture
def two_from_two(monkeypatch):
    """Clean in two processes from two distinct values on (a real sync: tens of thousands)."""
    monkeypatch.setattr(_common, "IN_TWO_FROM", 2)
    monkeypatch.setattr(_common, "_second_core", lambda: True)


def test_cleaning_in_two_gives_the_answers_of_one_process(monkeypatch):
    alone = (
        parse_addresses(pd.Series(ADDRESSES)),
        split_company_names(pd.Series(COMPANIES)),
        standardise_phones(pd.Series(PHONES), area_code=pd.Series(["0592"] * len(PHONES))),
    )
    monkeypatch.setattr(_common, "IN_TWO_FROM", 2)
    monkeypatch.setattr(_common, "_second_core", lambda: True)
    in_two = (
        parse_addresses(pd.Series(ADDRESSES)),
        split_company_names(pd.Series(COMPANIES)),
        standardise_phones(pd.Series(PHONES), area_code=pd.Series(["0592"] * len(PHONES))),
    )
    for one, two in zip(alone, in_two, strict=True):
        pd.testing.assert_frame_equal(one, two)


def test_a_series_comes_back_in_order(two_from_two):
    values = pd.Series([f"v{i}" for i in range(7)], dtype=object)
    answer = clean_in_two(lambda s: s.str.upper(), values)
    assert answer.tolist() == [f"V{i}" for i in range(7)]


def _fails_on_the_second_half(values: pd.Series) -> pd.Series:
    if "b" in values.tolist():
        raise ValueError("bad value b")
    return values


def test_an_error_in_the_second_half_is_raised_here(two_from_two):
    with pytest.raises(RuntimeError, match="second half: ValueError\\('bad value b'\\)"):
        clean_in_two(_fails_on_the_second_half, pd.Series(["a", "b"], dtype=object))


def _upper_in_two(values: pd.Series) -> pd.Series:
    return clean_in_two(lambda s: s.str.upper(), values)


def test_a_clean_that_cleans_in_two_itself_cleans_its_half_in_one_process(two_from_two):
    values = pd.Series([f"v{i}" for i in range(6)], dtype=object)
    assert clean_in_two(_upper_in_two, values).tolist() == [f"V{i}" for i in range(6)]

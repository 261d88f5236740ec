"""Phones to E.164 with kind and validity; area codes of cities."""

import pandas as pd
import pytest

from sources.standardise import area_code_for_city, standardise_phones
from sources.standardise.area_codes import TABLE_PATH, derive_area_codes
from sources.standardise.phones import standardise_phone


def phone(raw, area=None) -> list:
    areas = None if area is None else pd.Series([area])
    return standardise_phones(pd.Series([raw]), area_code=areas).iloc[0].tolist()[:3]


@pytest.mark.parametrize(
    "raw",
    [
        "0592-5551234",
        "(0592)5551234",
        "0592 5551234",
        "+86 592 5551234",
        "86-592-5551234",
        "０５９２－５５５１２３４",
        "0592-5551234转123",
        "+86 (0)592 5551234",
        "5925551234",
    ],
)
def test_xiamen_landline_shapes(raw):
    assert phone(raw) == ["+865925551234", "landline", True]


@pytest.mark.parametrize(
    "raw",
    [
        "138 0013 8000",
        "+86 138-0013-8000",
        "0086 13800138000",
        "13800138000",
        "8613800138000",
        13800138000.0,
        "13800138000/0592-5551234",
    ],
)
def test_mobile_shapes(raw):
    assert phone(raw) == ["+8613800138000", "mobile", True]


def test_local_number_takes_the_rows_area_code():
    assert phone("5551234", area="592") == ["+865925551234", "landline", True]
    assert phone("5551234", area="0592") == ["+865925551234", "landline", True]
    assert phone("62345678", area="10") == ["+861062345678", "landline", True]


def test_local_number_without_area_code_is_an_invalid_landline():
    assert phone("5551234") == [None, "landline", False]
    assert phone("5551234", area=None) == [None, "landline", False]


def test_area_code_is_per_row():
    out = standardise_phones(pd.Series(["5551234", "5551234"]), area_code=pd.Series(["592", None]))
    assert out["e164"].tolist() == ["+865925551234", None]


def test_service_numbers():
    assert phone("400-8352-114") == ["+864008352114", "service", True]
    assert phone("800-820-8820") == ["+868008208820", "service", True]
    assert phone("95588") == ["+8695588", "service", True]


def test_mobile_in_a_landline_column_is_a_mobile():
    assert phone("13800138000", area="592") == ["+8613800138000", "mobile", True]


@pytest.mark.parametrize("raw", ["00000000", "1234", "n/a", "12345678901234", "0592-123"])
def test_garbage_is_invalid(raw):
    assert phone(raw) == [None, "unknown", False]


def test_foreign_numbers_go_through_phonenumbers():
    assert phone("+852 2345 6789") == ["+85223456789", "landline", True]


def test_empty_cells_give_none_and_index_is_kept():
    out = standardise_phones(pd.Series([None, "", "13800138000"], index=["a", "b", "c"]))
    assert out.index.tolist() == ["a", "b", "c"]
    assert out.loc[["a", "b"]].isna().all().all()
    assert out["valid"].dtype == "boolean"


@pytest.mark.parametrize(
    ("city", "code"),
    [
        ("厦门", "592"),
        ("厦门市", "592"),
        ("北京", "10"),
        ("北京市", "10"),
        ("上海", "21"),
        ("广州", "20"),
        ("福州", "591"),
        ("晋江市", "595"),
        ("东莞市", "769"),
        ("火星", None),
        (None, None),
    ],
)
def test_area_code_for_city(city, code):
    assert area_code_for_city(pd.Series([city])).tolist() == [code]


def test_shipped_area_code_table_matches_phonenumbers():
    shipped = pd.read_csv(TABLE_PATH, dtype=str)
    assert dict(zip(shipped["adcode"], shipped["area_code"], strict=True)) == derive_area_codes()


def cell(raw, area=None) -> dict:
    areas = None if area is None else pd.Series([area])
    return standardise_phones(pd.Series([raw]), area_code=areas).iloc[0].to_dict()


@pytest.mark.parametrize(
    "raw",
    [
        "0592-5551234转8001",
        "0592-5551234 ext. 8001",
        "0592-5551234 EXT 8001",
        "0592-5551234分机8001",
        "0592-5551234 分机号：8001",
        "0592-5551234-8001",
        "(0592)5551234 x8001",
    ],
)
def test_extension_is_kept_apart_from_the_number(raw):
    out = cell(raw)
    assert (out["e164"], out["extension"], out["others"]) == ("+865925551234", "8001", None)


def test_a_split_landline_is_not_an_extension():
    assert cell("0592-555-1234")["extension"] is None
    assert cell("010-6552-1234")["e164"] == "+861065521234"


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000/13900139000",
        "13800138000、13900139000",
        "13800138000,13900139000",
        "13800138000；13900139000",
        "13800138000 13900139000",
        "13800138000 或 139-0013-9000",
    ],
)
def test_several_numbers_the_first_is_the_number_the_others_are_kept(raw):
    out = cell(raw)
    assert (out["e164"], out["kind"], out["others"]) == (
        "+8613800138000",
        "mobile",
        ["+8613900139000"],
    )


def test_spaces_inside_one_number_do_not_split_it():
    assert cell("138 0013 8000")["others"] is None
    assert cell("0592 5551234")["e164"] == "+865925551234"


def test_a_second_local_number_takes_the_first_ones_area_code():
    assert cell("0592-5551234/5551235")["others"] == ["+865925551235"]


def test_other_numbers_drop_repeats_and_invalid_numbers():
    assert cell("0592-5551234;13800138000,13800138000/0592-5551234/123")["others"] == [
        "+8613800138000"
    ]


CELLS = [
    "0592-5551234",
    "(0592)555 1234",
    "5551234",
    "5551234/5551235",
    "0592-5551234/5551235",
    "0592-5551234-8001",
    "0592-5551234 ext. 12",
    "13800138000 13900139000",
    "13800138000、13800138000",
    "138 0013 8000",
    "+86 138 0013 8000",
    "8613800138000",
    "400-835-2114",
    "95588",
    "+852 2345 6789",
    "001 202 555 0143",
    "１３８００１３８０００",
    "/",
    "-",
    "  ",
    "12",
    "0592-555",
]


@pytest.mark.parametrize("area", [None, "592", "0592", "10", ""])
def test_one_cell_alone_is_standardised_as_in_a_column(area):
    column = standardise_phones(pd.Series(CELLS), area_code=pd.Series([area] * len(CELLS)))
    for cell, row in zip(CELLS, column.to_dict("records"), strict=True):
        want = {k: None if not isinstance(v, list) and pd.isna(v) else v for k, v in row.items()}
        assert standardise_phone(cell, area) == want, cell

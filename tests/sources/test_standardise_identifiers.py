"""USCC and PRC resident IDs: checksums, birth date and sex, opaque other IDs, generators."""

import random
from datetime import date

import numpy as np
import pandas as pd
import pytest

from sources.standardise import (
    generate_id_number,
    generate_uscc,
    standardise_id_numbers,
    standardise_uscc,
)
from sources.standardise.identifiers import uscc_check_char


def test_publicly_known_uscc_is_valid():
    assert standardise_uscc(pd.Series(["91110108551385082Q"])).iloc[0].tolist() == [
        "91110108551385082Q",
        True,
    ]


def test_uscc_is_upper_cased_and_separators_removed():
    out = standardise_uscc(
        pd.Series(["9111 0108-5513 8508 2q", "９１１１０１０８５５１３８５０８２Ｑ"])
    )
    assert out.values.tolist() == [["91110108551385082Q", True], ["91110108551385082Q", True]]


def test_uscc_check_char_is_computed_from_the_body():
    assert uscc_check_char("91110108551385082") == "Q"
    assert uscc_check_char("91350100M000100Y4") == "3"


@pytest.mark.parametrize(
    "raw",
    [
        "91110108551385082A",  # wrong check character
        "91110108551385082",  # too short
        "9111010855138508IQ",  # I is not in the USCC alphabet
        "n/a",
    ],
)
def test_invalid_uscc_keeps_text_and_is_flagged(raw):
    assert standardise_uscc(pd.Series([raw])).iloc[0].tolist() == [raw.upper(), False]


def test_generated_uscc_are_valid_with_either_kind_of_rng():
    codes = [generate_uscc(random.Random(1)) for _ in range(3)]
    codes += [generate_uscc(np.random.default_rng(2), region_code="110108") for _ in range(3)]
    out = standardise_uscc(pd.Series(codes))
    assert out["valid"].tolist() == [True] * 6
    assert codes[3][2:8] == "110108"


def ids(values: list) -> pd.DataFrame:
    return standardise_id_numbers(pd.Series(values))


def test_valid_resident_id_gives_birth_date_and_sex():
    row = ids(["11010519491231002x"]).iloc[0]
    assert row["id_number"] == "11010519491231002X"
    assert bool(row["valid"]) is True
    assert pd.Timestamp(row["birth_date"]) == pd.Timestamp("1949-12-31")
    assert row["gender"] == "F"


def test_resident_id_with_bad_check_digit_is_invalid_and_says_nothing_more():
    row = ids(["110105194912310021"]).iloc[0]
    assert row[["id_number", "valid", "gender"]].tolist() == ["110105194912310021", False, None]
    assert pd.isna(row["birth_date"])


def test_resident_id_with_impossible_birth_date_is_invalid():
    assert ids(["110105194913310021"])["valid"].tolist() == [False]


def test_old_fifteen_digit_id_is_upgraded_to_eighteen():
    row = ids(["110105491231002"]).iloc[0]
    assert row["id_number"] == "11010519491231002X"
    assert bool(row["valid"]) is True
    assert pd.Timestamp(row["birth_date"]) == pd.Timestamp("1949-12-31")


def test_non_prc_identifiers_are_opaque():
    out = ids(["e12345678", "A123456(7)", None])
    assert out["id_number"].tolist() == ["E12345678", "A123456(7)", None]
    assert out["valid"].isna().all()  # not a PRC ID: nothing to check, unlike False


def test_generated_id_numbers_are_valid_and_carry_what_was_asked():
    rng = random.Random(7)
    made = [
        generate_id_number(rng, date(1985, 7, 14), "M"),
        generate_id_number(rng, "1990-01-02", "F", "110105"),
    ]
    out = ids(made)
    assert out["valid"].tolist() == [True, True]
    assert out["birth_date"].dtype == "datetime64[ns]"
    assert out["gender"].tolist() == ["M", "F"]
    assert [pd.Timestamp(d).date() for d in out["birth_date"]] == [
        date(1985, 7, 14),
        date(1990, 1, 2),
    ]
    assert made[1].startswith("110105")

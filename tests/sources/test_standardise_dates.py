"""Dates in Chinese export shapes and Excel serials; money amounts."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sources.standardise import parse_amounts, parse_dates

MARCH_25 = pd.Timestamp("2024-03-25")


@pytest.mark.parametrize(
    "raw",
    [
        "2024/3/25",
        "2024-03-25",
        "2024.3.25",
        "2024年3月25日",
        "20240325",
        "2024-03-25 10:11:12",
        "２０２４－０３－２５",
        "45376",
        45376,
        45376.75,
        dt.date(2024, 3, 25),
        pd.Timestamp("2024-03-25 13:00"),
    ],
)
def test_each_shape_gives_the_same_day(raw):
    out = parse_dates(pd.Series([raw], dtype=object))
    assert out.dtype == "datetime64[ns]"
    assert out.iloc[0] == MARCH_25


@pytest.mark.parametrize(
    "raw", ["garbage", "2024-02-30", "12345", "03/25/2024", "", None, np.nan, "99999"]
)
def test_unparseable_is_nat(raw):
    assert pd.isna(parse_dates(pd.Series([raw], dtype=object)).iloc[0])


def test_numeric_and_datetime_columns():
    assert parse_dates(pd.Series([45376, 45377])).tolist() == [MARCH_25, pd.Timestamp("2024-03-26")]
    stamps = pd.Series(pd.to_datetime(["2024-03-25 10:00"]))
    assert parse_dates(stamps).tolist() == [MARCH_25]


def test_dates_keep_the_index():
    out = parse_dates(pd.Series(["2024-03-25", None], index=[7, 8]))
    assert out.index.tolist() == [7, 8]


@pytest.mark.parametrize(
    ("raw", "amount"),
    [
        ("1,234.50", 1234.5),
        ("¥1234", 1234.0),
        ("￥1,234", 1234.0),
        ("1.2万", 12000.0),
        ("3亿", 3e8),
        ("RMB 800", 800.0),
        ("100元", 100.0),
        ("(1,234)", -1234.0),
        ("-5", -5.0),
        (12.5, 12.5),
    ],
)
def test_amounts(raw, amount):
    assert parse_amounts(pd.Series([raw], dtype=object)).iloc[0] == pytest.approx(amount)


@pytest.mark.parametrize("raw", ["", None, "abc", "1.2.3"])
def test_unparseable_amounts_are_nan(raw):
    assert np.isnan(parse_amounts(pd.Series([raw], dtype=object)).iloc[0])

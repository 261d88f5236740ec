"""Dates and money amounts as exports write them: '2024年3月25日', Excel serials, '1.2万'.

Each distinct value is parsed once; each known shape is parsed for all values at once
(pandas, vectorised), and only what is still missing goes on to the next shape.
"""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sources.standardise._common import arrow_text

logger = logging.getLogger(__name__)

#: Excel day 0 (the 1900 leap-year bug included) and the serials accepted as dates
#: (20000 = 1954-10-03 … 80000 = 2119-01-10).
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
EXCEL_SERIAL_RANGE = (20000, 80000)

_YMD = (
    r"^(?P<year>\d{4})\s*[-/.年]\s*(?P<month>\d{1,2})\s*[-/.月]\s*(?P<day>\d{1,2})\s*日?"
    r"(?:[ T]+\d{1,2}[:时]\d{1,2}(?:[:分]\d{1,2}(?:\.\d+)?秒?)?)?$"
)
_COMPACT = r"^(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})(?:[ T]?\d{4,6})?$"
_SERIAL = r"^\d{5}(?:\.\d+)?$"


def _parse_text(values: pd.Series) -> pd.Series:
    """Distinct date texts → Timestamps (NaT where no known shape fits).

    Each shape is one pyarrow regex extraction over all still-unparsed values; the
    year / month / day parts are then assembled by pandas in one call.
    """
    text = pc.utf8_trim_whitespace(arrow_text(values))
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    for rx in (_YMD, _COMPACT):
        parts = pc.extract_regex(text, rx)
        hit = np.asarray(pc.is_valid(parts)) & out.isna().to_numpy()
        if hit.any():
            fields = parts.filter(hit)
            ymd = {
                k: np.asarray(pc.cast(fields.field(k), pa.int64()))
                for k in ("year", "month", "day")
            }
            out[hit] = pd.to_datetime(pd.DataFrame(ymd), errors="coerce").to_numpy()
    serial = np.asarray(pc.fill_null(pc.match_substring_regex(text, _SERIAL), False))
    serial &= out.isna().to_numpy()
    if serial.any():
        numbers = pd.Series(np.asarray(pc.cast(text.filter(serial), pa.float64())))
        out[serial] = _from_serial(numbers).to_numpy()
    todo = out.isna().to_numpy() & np.asarray(pc.is_valid(text))
    if todo.any():  # ISO 8601 with a zone or fraction, e.g. '2024-03-25T10:11:12+08:00'
        leftovers = pd.Series(text.filter(todo).to_numpy(zero_copy_only=False), dtype=object)
        iso = pd.to_datetime(leftovers, format="ISO8601", errors="coerce", utc=True)
        out[todo] = iso.dt.tz_convert("Asia/Shanghai").dt.tz_localize(None).to_numpy()
    return out.dt.normalize()


def _from_serial(serial: pd.Series) -> pd.Series:
    low, high = EXCEL_SERIAL_RANGE
    ok = serial.between(low, high)
    days = np.floor(serial.where(ok)).astype("float64")
    return EXCEL_EPOCH + pd.to_timedelta(days, unit="D")


def parse_dates(s: pd.Series) -> pd.Series:
    """Dates in any of the shapes Chinese exports use, as datetime64[ns] at midnight.

    Understood: '2024/3/25', '2024-03-25', '2024.3.25', '2024年3月25日', '20240325',
    any of these with a time ('2024-03-25 10:11:12', dropped), ISO 8601 with a zone
    (converted to China time), Excel serial day numbers between 20000 and 80000 as
    numbers or text ('45376' → 2024-03-25), and values that already are dates.
    Ambiguous day/month orders ('03/25/2024') are not guessed. Unparseable → NaT.
    """
    s = pd.Series(s, copy=False)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = s.dt.tz_convert("Asia/Shanghai").dt.tz_localize(None) if s.dt.tz else s
        return out.astype("datetime64[ns]").dt.normalize()
    if pd.api.types.is_numeric_dtype(s.dtype):
        return _from_serial(s.astype("float64")).dt.normalize()
    codes, uniques = pd.factorize(s.to_numpy(dtype=object))
    values = pd.Series(uniques, dtype=object)
    result = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    is_text = values.map(lambda v: isinstance(v, str)).astype(bool)
    is_date = values.map(lambda v: isinstance(v, dt.date | np.datetime64)).astype(bool)
    is_num = ~is_text & ~is_date & values.map(lambda v: isinstance(v, int | float)).astype(bool)
    if is_date.any():
        stamps = pd.to_datetime(values[is_date].map(pd.Timestamp), errors="coerce", utc=True)
        result[is_date] = stamps.dt.tz_localize(None)
    if is_num.any():
        result[is_num] = _from_serial(values[is_num].astype("float64"))
    if is_text.any():
        result[is_text] = _parse_text(values[is_text]).to_numpy()
    logger.debug(
        "parse_dates: %d rows, %d distinct, %d unparsed",
        len(s),
        len(values),
        int(result.isna().sum()),
    )
    taken = (
        result.dt.normalize().to_numpy()[np.where(codes < 0, 0, codes)]
        if len(values)
        else np.full(len(s), np.datetime64("NaT"), dtype="datetime64[ns]")
    )
    out = pd.Series(taken, index=s.index, dtype="datetime64[ns]", name=s.name)
    out[codes < 0] = pd.NaT
    return out


_AMOUNT = r"^(?P<sign>[-+]?)(?P<num>\d+(?:\.\d*)?|\.\d+)(?P<unit>万元?|亿元?|千|百|[kKwW]?)$"
_AMOUNT_JUNK = r"(?i)[,\s¥$元]|rmb|cny|人民币"
_UNIT = {"万": 1e4, "万元": 1e4, "亿": 1e8, "亿元": 1e8, "千": 1e3, "百": 1e2, "k": 1e3}
_UNIT.update({"K": 1e3, "w": 1e4, "W": 1e4, "": 1.0})


def _amounts_unique(values: pd.Series) -> np.ndarray:
    """Distinct amount cells → float64 (NaN where unreadable), with pyarrow kernels."""
    numeric = values.map(lambda v: isinstance(v, int | float) and not isinstance(v, bool))
    numeric = numeric.to_numpy(dtype=bool)
    out = np.full(len(values), np.nan)
    out[numeric] = values[numeric].astype("float64")
    text = arrow_text(values.where(~numeric, None))
    negative = pc.fill_null(pc.match_substring_regex(text, r"^\s*\(.*\)\s*$"), False)
    text = pc.utf8_trim(pc.replace_substring_regex(text, _AMOUNT_JUNK, ""), "()")
    parts = pc.extract_regex(text, _AMOUNT)
    ok = np.asarray(pc.is_valid(parts))
    if ok.any():
        parts = parts.filter(pc.is_valid(parts))
        number = np.asarray(pc.cast(parts.field("num"), pa.float64()))
        unit = pd.Series(np.asarray(parts.field("unit"), dtype=object)).map(_UNIT).to_numpy(float)
        sign = np.where(np.asarray(parts.field("sign"), dtype=object) == "-", -1.0, 1.0)
        signed = number * unit * sign
        out[ok] = np.where(np.asarray(negative)[ok], -np.abs(signed), signed)
    return out


def parse_amounts(s: pd.Series) -> pd.Series:
    """Money amounts as float: '1,234.50', '¥1234', 'RMB 800', '1.2万' (12000), '3亿'.

    Accounting negatives '(1,234)' are read as -1234. Anything else is NaN.
    """
    s = pd.Series(s, copy=False)
    if pd.api.types.is_numeric_dtype(s.dtype):
        return s.astype("float64")
    codes, uniques = pd.factorize(s.to_numpy(dtype=object))
    amounts = np.append(_amounts_unique(pd.Series(uniques, dtype=object)), np.nan)
    return pd.Series(amounts[np.where(codes < 0, len(uniques), codes)], index=s.index, name=s.name)

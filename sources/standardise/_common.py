"""Shared plumbing of the standardisers: work once per distinct value, map back to rows.

A customer export repeats the same phone, city or company name many times. Every
standardiser therefore factorises its input column, cleans each *distinct* value once
and broadcasts the result back onto the original row index with one ``take``. Empty
cells (None, NaN, blank text) come back as None and are never passed to the cleaner.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

logger = logging.getLogger(__name__)

#: Full-width ASCII forms (U+FF01..U+FF5E) → their half-width twins, ideographic space →
#: space, the full-width yen sign → '¥', zero-width characters and BOMs removed.
WIDTH_TABLE: dict[int, int | str | None] = {0xFF01 + i: 0x21 + i for i in range(94)}
WIDTH_TABLE.update({0x3000: " ", 0x00A0: " ", 0xFFE5: "¥", 0x200B: None, 0x200C: None})
WIDTH_TABLE.update({0x200D: None, 0xFEFF: None, 0x2060: None})
_WIDE_CHARS = "[\uff01-\uff5e\u3000\u00a0\uffe5\u200b-\u200d\ufeff\u2060]"


def _scalar_text(value: object) -> str | None:
    """One non-string cell as text: integral floats lose their '.0' (Excel reads numbers)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float):
        if np.isnan(value):
            return None
        return str(int(value)) if value.is_integer() and abs(value) < 1e18 else repr(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def as_text(values: pd.Series) -> pd.Series:
    """Distinct raw values as an object Series of ``str`` (None where there is no value)."""
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        return values.astype(object)
    return pd.Series([v if isinstance(v, str) else _scalar_text(v) for v in values], dtype=object)


def fold_width(values: pd.Series) -> pd.Series:
    """Full-width letters, digits and punctuation as half-width; zero-width characters dropped."""
    return values.str.translate(WIDTH_TABLE)


def arrow_text(values: pd.Series) -> pa.Array:
    """Distinct texts as a pyarrow string array, full-width forms folded to half-width.

    pyarrow's compute kernels (RE2 regexes, slicing, casts) run in C++ over the whole
    array; only the texts that contain full-width characters are folded in Python.
    """
    arr = pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    wide = np.asarray(pc.fill_null(pc.match_substring_regex(arr, _WIDE_CHARS), False))
    if wide.any():
        texts = arr.to_numpy(zero_copy_only=False)
        texts[wide] = [t.translate(WIDTH_TABLE) for t in texts[wide]]
        arr = pa.array(texts, type=pa.string(), from_pandas=True)
    return arr


def blank_to_none(values: pd.Series) -> pd.Series:
    """Empty strings become None so that 'no value' has one spelling."""
    return values.where(values.notna() & (values != ""), None)


def factorize(s: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Row codes (-1 = empty cell) and the distinct non-empty values as text."""
    codes, uniques = pd.factorize(pd.Series(s, copy=False).to_numpy(dtype=object))
    return codes, as_text(pd.Series(uniques, dtype=object))


def _spread(column: pd.Series, take: np.ndarray) -> np.ndarray:
    if pd.api.types.is_datetime64_dtype(column.dtype):
        values = column.to_numpy(dtype="datetime64[ns]")
        return np.append(values, np.datetime64("NaT", "ns"))[take]
    return np.append(column.to_numpy(dtype=object), [None])[take]


def broadcast(codes: np.ndarray, result: pd.Series | pd.DataFrame, index: pd.Index):
    """Spread a per-distinct-value result back onto the rows; code -1 rows get None (NaT).

    Datetime columns stay datetime64[ns]; everything else comes back as object.
    """
    take = np.where(codes < 0, len(result), codes)
    if isinstance(result, pd.DataFrame):
        columns = {c: _spread(result[c], take) for c in result.columns}
        return pd.DataFrame(columns, index=index)
    return pd.Series(_spread(result, take), index=index, name=result.name)


def map_unique(
    s: pd.Series, clean: Callable[[pd.Series], pd.Series | pd.DataFrame]
) -> pd.Series | pd.DataFrame:
    """Apply ``clean`` to the distinct values of ``s`` and align the answer to ``s.index``.

    ``clean`` receives a RangeIndex'ed object Series of distinct texts (None for values
    that are not text at all) and returns a Series or DataFrame of the same length.
    """
    if not s.notna().any():
        return _empty_result(s, clean)
    codes, uniques = factorize(s)
    logger.debug(
        "%s: %d rows, %d distinct values",
        getattr(clean, "__name__", "clean"),
        len(codes),
        len(uniques),
    )
    result = clean(uniques)
    if isinstance(result, pd.DataFrame):
        result = result.reset_index(drop=True)
    else:
        result = pd.Series(result.to_numpy(dtype=object), dtype=object, name=s.name)
    return broadcast(codes, result, s.index)


def _empty_result(
    s: pd.Series, clean: Callable[[pd.Series], pd.Series | pd.DataFrame]
) -> pd.Series | pd.DataFrame:
    """``map_unique``'s answer for a column without a single value: all None (NaT), no call
    per value; ``clean`` runs once on no values so the columns and types are its own."""
    shape = _EMPTY_SHAPES.get(clean)
    if shape is None:
        result = clean(pd.Series([], dtype=object))
        shape = _EMPTY_SHAPES[clean] = (
            result.iloc[:0].reset_index(drop=True)
            if isinstance(result, pd.DataFrame)
            else pd.Series([], dtype=object)
        )
    codes = np.full(len(s), -1, dtype=np.int64)
    if isinstance(shape, pd.DataFrame):
        return broadcast(codes, shape, s.index)
    return broadcast(codes, pd.Series([], dtype=object, name=s.name), s.index)


_EMPTY_SHAPES: dict[Callable, pd.Series | pd.DataFrame] = {}


def empty_frame(index: pd.Index, columns: list[str]) -> pd.DataFrame:
    """An all-None frame aligned to ``index`` (used when a column is entirely empty)."""
    return with_flag(pd.DataFrame({c: pd.Series(None, index=index, dtype=object) for c in columns}))


def with_flag(frame: pd.DataFrame, column: str = "valid") -> pd.DataFrame:
    """``column`` as pandas' nullable boolean: True / False, <NA> where there was no value."""
    if column in frame.columns:
        frame[column] = frame[column].astype("boolean")
    return frame

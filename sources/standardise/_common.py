"""Shared plumbing of the standardisers: work once per distinct value, map back to rows.

A customer export repeats the same phone, city or company name many times. Every
standardiser therefore factorises its input column, cleans each *distinct* value once
and broadcasts the result back onto the original row index with one ``take``. Empty
cells (None, NaN, blank text) come back as None and are never passed to the cleaner.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
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
    s: pd.Series,
    clean: Callable[[pd.Series], pd.Series | pd.DataFrame],
    *,
    in_two: bool = False,
) -> pd.Series | pd.DataFrame:
    """Apply ``clean`` to the distinct values of ``s`` and align the answer to ``s.index``.

    ``clean`` receives a RangeIndex'ed object Series of distinct texts (None for values
    that are not text at all) and returns a Series or DataFrame of the same length.
    With ``in_two`` (for a ``clean`` that answers each value on its own, in pure Python,
    with object columns), many distinct values are cleaned in two halves at once
    (:func:`clean_in_two`).
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
    result = clean_in_two(clean, uniques) if in_two else clean(uniques)
    if isinstance(result, pd.DataFrame):
        result = result.reset_index(drop=True)
    else:
        result = pd.Series(result.to_numpy(dtype=object), dtype=object, name=s.name)
    return broadcast(codes, result, s.index)


#: Distinct values below which ``clean_in_two`` cleans in one process: starting the second
#: costs about 0.1 s, and sending a half's answers back about 1 µs per value and column.
IN_TWO_FROM = 40_000


def _second_core() -> bool:
    """Whether this process may run on two cores and can fork (Linux, macOS)."""
    cores = (
        os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    )
    return len(cores) > 1 and "fork" in multiprocessing.get_all_start_methods()


#: Whether this process is cleaning a half already: a ``clean`` that calls another
#: standardiser (the Latin form of a name reads its pinyin) cleans that in one process.
_halving = False


def _clean_half(clean: Callable, values: pd.Series, send) -> None:
    """In the forked process: clean ``values`` and send the answer (or the error) back."""
    global _halving
    _halving = True
    try:
        send.send((True, clean(values)))
    except BaseException as error:  # noqa: BLE001 - the parent raises it
        send.send((False, repr(error)))
    finally:
        send.close()


def clean_in_two(
    clean: Callable[[pd.Series], pd.Series | pd.DataFrame], uniques: pd.Series
) -> pd.Series | pd.DataFrame:
    """``clean(uniques)``, the second half cleaned in a forked process while this one cleans
    the first; the answers are put together in order, so they are those of one call.

    Parsing addresses and company names is pure Python, once per distinct value: about
    870,000 distinct addresses at 1M source records take 12 s of CPU in one process. A
    fork inherits the place tables and caches already built, so the second core starts at
    once; only the half's answers travel back (pickled). Below ``IN_TWO_FROM`` distinct
    values, or on one core, ``clean`` runs here alone.
    """
    global _halving
    if _halving or len(uniques) < IN_TWO_FROM or not _second_core():
        return clean(uniques)
    half = len(uniques) // 2
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    second = uniques.iloc[half:].reset_index(drop=True)
    gc.freeze()  # the child does not copy the parent's objects by collecting them
    try:
        child = context.Process(target=_clean_half, args=(clean, second, send), daemon=True)
        child.start()
    finally:
        gc.unfreeze()
    send.close()
    _halving = True
    try:
        first = clean(uniques.iloc[:half].reset_index(drop=True))
        ok, answer = receive.recv()
    finally:
        _halving = False
        receive.close()
        child.join()
    if not ok:
        raise RuntimeError(
            f"{getattr(clean, '__name__', 'clean')} failed on its second half: {answer}"
        )
    if isinstance(first, pd.DataFrame):
        return pd.concat([first, answer], ignore_index=True)
    return pd.Series([*first, *answer], dtype=object, name=first.name)


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

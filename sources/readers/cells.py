"""How typed values become text, column at a time (shared by the workbook and Parquet readers).

The text is what a person expects to see, and what a CSV of the same data would hold:
whole numbers without ``.0`` (``13800138000``, not ``1.3800138e+10``), other numbers in
their shortest exact form, dates as ``YYYY-MM-DD``, date-times as ``YYYY-MM-DD HH:MM:SS``
(just the date at midnight; the fraction only when it is not zero).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

_SAFE_INT = 2.0**63


def float_text(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Floats as text: whole numbers as integers, others in shortest round-trip form."""
    values = values.cast(pa.float64())
    whole = pc.and_(pc.equal(pc.floor(values), values), pc.less(pc.abs(values), _SAFE_INT))
    whole = pc.fill_null(whole, False)
    as_int = pc.if_else(whole, values, 0.0).cast(pa.int64()).cast(pa.string())
    return pc.if_else(whole, as_int, values.cast(pa.string()))


def timestamp_text(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Timestamps as text; naive ones at midnight as the date alone, zone-aware keep the offset."""
    text = pc.replace_substring_regex(values.cast(pa.string()), r"\.0+($|[+-]|Z)", r"\1")
    if values.type.tz is None:
        text = pc.replace_substring_regex(text, r" 00:00:00$", "")
    return text


def time_text(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Times of day as ``HH:MM:SS`` (with the fraction only when it is not zero)."""
    return pc.replace_substring_regex(values.cast(pa.string()), r"\.0+$", "")

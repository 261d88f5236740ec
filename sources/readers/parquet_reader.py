"""Parquet exports into a table of text, so they look like every other source.

Typed columns become the text a CSV of the same data would hold: whole numbers
without ``.0`` (also in float columns, where phone numbers often end up), dates as
``YYYY-MM-DD``, timestamps as ``YYYY-MM-DD HH:MM:SS`` (just the date at midnight, the
fraction only when not zero; time-zone aware ones keep their offset), booleans as
``true``/``false``, nested values as JSON. ``__row`` is the record's position + 1, as
if the file had a header row like a CSV.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sources.readers.cells import float_text, time_text, timestamp_text
from sources.readers.model import (
    ReadResult,
    SourceReadError,
    clean_header,
    empty_to_null,
    finish_table,
    row_numbers,
)

log = logging.getLogger(__name__)


def read_parquet_export(path: Path) -> ReadResult:
    """Read a Parquet file into text columns plus ``__row``.

    Raises:
        SourceReadError: the file is not readable Parquet, a header is blank or
            repeated, or a binary column does not hold UTF-8 text (naming the field).
    """
    try:
        table = pq.ParquetFile(path).read()
    except (pa.ArrowException, OSError) as exc:
        raise SourceReadError(path, f"not a readable Parquet file: {exc}") from None
    names = clean_header(path, table.column_names)
    columns = [
        column_text(path, name, column) for name, column in zip(names, table.columns, strict=True)
    ]
    rows = row_numbers(np.arange(2, table.num_rows + 2, dtype=np.int64))
    result = finish_table(path, names, columns, rows)
    log.debug("%s: %d rows", path, result.num_rows)
    return ReadResult(result, [], None)


def column_text(path: Path, name: str, column: pa.ChunkedArray) -> pa.ChunkedArray:
    """One typed column as text (``null`` for null or empty)."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        return column_text(path, name, column.cast(kind.value_type))
    if pa.types.is_null(kind):
        return pa.chunked_array([pa.nulls(len(column), pa.string())])
    if pa.types.is_floating(kind):
        return float_text(column)
    if pa.types.is_timestamp(kind):
        return timestamp_text(column)
    if pa.types.is_time(kind):
        return time_text(column)
    if (
        pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
        or pa.types.is_fixed_size_binary(kind)
    ):
        try:
            return empty_to_null(column.cast(pa.binary()).cast(pa.string()))
        except pa.ArrowInvalid:
            raise SourceReadError(
                path, "binary column does not hold UTF-8 text", field=name
            ) from None
    if pa.types.is_duration(kind) or pa.types.is_nested(kind) or pa.types.is_interval(kind):
        return pa.chunked_array([pa.array([_json(v) for v in column.to_pylist()], pa.string())])
    try:
        return empty_to_null(column.cast(pa.string()))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.chunked_array([pa.array([_json(v) for v in column.to_pylist()], pa.string())])


def _json(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, list | dict | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)

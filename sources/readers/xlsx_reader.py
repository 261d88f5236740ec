"""Excel workbooks (.xlsx, .xlsm, .xls) into a table of text, via python-calamine.

The header is the first non-empty row of the sheet; ``__row`` is the sheet's own row
number, so a steward can go straight to the cell. Cells become the text a person
would expect to see: whole numbers without ``.0`` (``123``, ``13800138000``), other
numbers in their shortest exact form (``0.1``), dates as ``YYYY-MM-DD`` (with
`` HH:MM:SS`` when the time is not midnight), booleans as ``true``/``false``, empty
cells as ``null``. Fully empty rows are skipped wherever they are; a column with a
blank header and no data (a spacer column) is skipped too.
"""

from __future__ import annotations

import gc
import logging
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import python_calamine

from sources.readers.cells import float_text, timestamp_text
from sources.readers.model import (
    ReadResult,
    SourceReadError,
    clean_header,
    empty_to_null,
    finish_table,
    row_numbers,
)

log = logging.getLogger(__name__)

_SAFE_INT = 2.0**63


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of cell objects are made."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_xlsx_export(path: Path, *, sheet: str | None = None) -> ReadResult:
    """Read one sheet of a workbook into text columns plus ``__row``.

    Args:
        path: the workbook.
        sheet: sheet name; the first sheet when None.

    Raises:
        SourceReadError: the file is not a readable workbook, the sheet does not exist
            (listing the sheets there are), the sheet is empty, or the header is invalid.
    """
    with _gc_paused():
        return _read_sheet(path, sheet)


def _read_sheet(path: Path, sheet: str | None) -> ReadResult:
    rows, first_row, sheet_name = _load(path, sheet)
    header_at = next((i for i, row in enumerate(rows) if any(v != "" for v in row)), None)
    if header_at is None:
        raise SourceReadError(path, f"sheet {sheet_name!r} is empty")
    header = [cell_text(v) or "" for v in rows[header_at]]
    data = rows[header_at + 1 :]
    columns: Sequence[tuple[Any, ...]] = (
        list(zip(*data, strict=True)) if data else [()] * len(header)
    )
    keep = [i for i, name in enumerate(header) if name.strip() or any(v != "" for v in columns[i])]
    if len(keep) < len(header):
        log.debug("%s: skipped %d empty columns without a header", path, len(header) - len(keep))
    names = clean_header(path, [header[i] for i in keep])
    arrays = [column_to_arrow(columns[i]) for i in keep]
    header_row = first_row + header_at
    rows_array = row_numbers(np.arange(header_row + 1, header_row + 1 + len(data), dtype=np.int64))
    table = finish_table(path, names, arrays, rows_array)
    log.debug("%s[%s]: %d rows", path, sheet_name, table.num_rows)
    return ReadResult(table, [], None)


def _load(path: Path, sheet: str | None) -> tuple[list[list[Any]], int, str]:
    """The sheet's cells as rows, the sheet row number of the first of them, and its name."""
    try:
        with python_calamine.CalamineWorkbook.from_path(str(path)) as workbook:
            names = list(workbook.sheet_names)
            if sheet is None:
                if not names:
                    raise SourceReadError(path, "the workbook has no sheets")
                sheet = names[0]
            elif sheet not in names:
                listed = ", ".join(repr(n) for n in names)
                raise SourceReadError(path, f"no sheet named {sheet!r}; the workbook has: {listed}")
            worksheet = workbook.get_sheet_by_name(sheet)
            start = worksheet.start
            rows = worksheet.to_python(skip_empty_area=True) if start is not None else []
    except SourceReadError:
        raise
    except Exception as exc:  # calamine raises its own errors, zip and XML errors alike
        raise SourceReadError(path, f"not a readable workbook: {exc}") from None
    except BaseException as exc:  # a Rust panic inside calamine surfaces as PanicException
        if type(exc).__name__ != "PanicException":
            raise
        raise SourceReadError(path, f"not a readable workbook: {exc}") from None
    return rows, (start[0] + 1 if start is not None else 1), sheet


def column_to_arrow(values: Sequence[Any]) -> pa.Array:
    """One column of cell values as a string array (``null`` for empty cells).

    Columns of one type (numbers, dates, text, with empty cells) are converted by
    Arrow in one go; mixed columns cell by cell.
    """
    types = set(map(type, values))
    if types <= {str}:
        return empty_to_null(pa.array(values, pa.string()))
    typed = types - {str}
    kind = typed.pop() if len(typed) == 1 else None
    if kind in _VECTORISED:
        arrow_type, to_text = _VECTORISED[kind]
        cells = [None if v == "" else v for v in values] if str in types else values
        try:
            return to_text(pa.array(cells, arrow_type))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass  # some non-empty text among the numbers or dates: cell by cell
    return pa.array([_FORMATTERS.get(type(v), _other)(v) for v in values], pa.string())


def cell_text(value: Any) -> str | None:
    """The text of one cell value as a person reads it in Excel; None when empty."""
    return _FORMATTERS.get(type(value), _other)(value)


def _text(value: str) -> str | None:
    return value or None


def _float(value: float) -> str:
    if value.is_integer() and abs(value) < _SAFE_INT:
        return str(int(value))
    return repr(value) if math.isfinite(value) else str(value)


def _datetime(value: datetime) -> str:
    if value.time() == time(0):
        return value.date().isoformat()
    return value.isoformat(sep=" ", timespec="microseconds" if value.microsecond else "seconds")


def _time(value: time) -> str:
    return value.isoformat(timespec="microseconds" if value.microsecond else "seconds")


def _other(value: Any) -> str | None:
    return None if value is None else str(value)


_VECTORISED: dict[type, tuple[pa.DataType, Callable[[pa.Array], pa.Array]]] = {
    float: (pa.float64(), float_text),
    int: (pa.int64(), lambda a: a.cast(pa.string())),
    date: (pa.date32(), lambda a: a.cast(pa.string())),
    datetime: (pa.timestamp("us"), timestamp_text),
}

_FORMATTERS: dict[type, Callable[[Any], str | None]] = {
    str: _text,
    float: _float,
    int: str,
    bool: lambda v: "true" if v else "false",
    datetime: _datetime,
    date: date.isoformat,
    time: _time,
    timedelta: str,
}

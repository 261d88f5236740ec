"""What every reader returns: a table of text, the rows that could not be read, and errors.

A reader turns one export file, as a department sent it, into a table where every
column is text exactly as the file holds it (``null`` for an empty cell) plus the
column ``__row``: the row number a person sees when they open the file (the header is
row 1). Physical rows that cannot become a record are kept as :class:`RejectedRow` so
the pipeline can quarantine them; nothing is dropped silently. Anything that stops the
whole file from being read raises :class:`SourceReadError`, which names the file and,
where known, the row, field and byte offset.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

log = logging.getLogger(__name__)

#: Name of the column holding the row number a person sees in the file.
ROW_COLUMN = "__row"


class SourceReadError(Exception):
    """A file cannot be read as declared.

    ``str()`` names the file and, where known, the row, field and byte offset, e.g.
    ``dealers/a.csv, row 7, byte offset 1234: bytes do not decode as gbk``.

    Attributes:
        path: the file (or glob pattern) concerned, as text.
        message: what is wrong, without the location.
        row: row number as a person sees it in the file (header = 1), if known.
        field: column name, if known.
        offset: byte offset from the start of the file, if known.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        message: str,
        *,
        row: int | None = None,
        field: str | None = None,
        offset: int | None = None,
    ) -> None:
        self.path = os.fspath(path)
        self.message = message
        self.row = row
        self.field = field
        self.offset = offset
        super().__init__(self._render())

    def _render(self) -> str:
        where = [self.path]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        if self.offset is not None:
            where.append(f"byte offset {self.offset}")
        return f"{', '.join(where)}: {self.message}"

    def __reduce__(self) -> tuple:
        # Keep the keyword-only details when the error crosses a process boundary.
        return (
            _restore_error,
            (type(self), self.path, self.message, self.row, self.field, self.offset),
        )


def _restore_error(
    cls: type[SourceReadError],
    path: str,
    message: str,
    row: int | None,
    field: str | None,
    offset: int | None,
) -> SourceReadError:
    return cls(path, message, row=row, field=field, offset=offset)


@dataclass(frozen=True)
class RejectedRow:
    """A physical row of a file that cannot become a record, kept for the quarantine.

    Attributes:
        source_file: the file it came from.
        source_row: its row number as a person sees it in the file (header = 1).
        reason: why it was rejected, e.g. ``expected 12 fields, found 14``.
        raw: the row's text exactly as read (after decoding).
    """

    source_file: str
    source_row: int
    reason: str
    raw: str


@dataclass(frozen=True)
class ReadResult:
    """One export file read into text.

    Attributes:
        table: one ``string`` column per header, in file order (``null`` for empty
            cells), plus a final ``int64`` column ``__row``: the row number a person
            sees in the file (header is row 1, first data row 2; for a workbook the
            sheet's own row number).
        rejected: rows that could not become records (e.g. wrong number of fields).
        encoding: the text encoding actually used (``None`` for binary formats).
        records: text files only: the records after the header the file holds (read,
            rejected or blank), which the next record's row number follows; ``None`` for
            workbooks and Parquet.
    """

    table: pa.Table
    rejected: list[RejectedRow]
    encoding: str | None
    records: int | None = None


def clean_header(path: str | os.PathLike[str], names: Sequence[str]) -> list[str]:
    """Strip whitespace (and a stray byte-order mark) from header names and check them.

    Raises SourceReadError when the header is empty, a cell is blank, a name repeats
    (naming the duplicated header) or a name collides with ``__row``.
    """
    cleaned = [name.strip().strip("\ufeff").strip() for name in names]
    if not any(cleaned):
        raise SourceReadError(path, "the header row is empty", row=1)
    for position, name in enumerate(cleaned, start=1):
        if not name:
            after = f" (after {cleaned[position - 2]!r})" if position > 1 else ""
            raise SourceReadError(path, f"header cell {position}{after} is blank", row=1)
    counts = Counter(cleaned)
    for name in cleaned:
        if counts[name] > 1:
            positions = [str(i) for i, other in enumerate(cleaned, start=1) if other == name]
            raise SourceReadError(
                path,
                f"duplicate column name {name!r} (columns {', '.join(positions)})",
                row=1,
                field=name,
            )
    if ROW_COLUMN in counts:
        raise SourceReadError(
            path, f"column name {ROW_COLUMN!r} is reserved", row=1, field=ROW_COLUMN
        )
    return cleaned


def row_numbers(numbers: np.ndarray) -> pa.Array:
    """An int64 Arrow array over a numpy array, without copying.

    (``pa.array(ndarray)`` would import pandas, a second of start-up in a fresh process.)
    """
    numbers = np.ascontiguousarray(numbers, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(numbers), [None, pa.py_buffer(numbers)])


def empty_to_null(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Turn empty strings into nulls in a string column (vectorised; no copy if none)."""
    empty = pc.equal(column, "")
    if not pc.any(empty).as_py():
        return column
    return pc.if_else(empty, pa.scalar(None, pa.string()), column)


def finish_table(
    path: str | os.PathLike[str],
    names: Sequence[str],
    columns: Sequence[pa.Array | pa.ChunkedArray],
    rows: pa.Array,
) -> pa.Table:
    """Assemble the text columns and ``__row``, dropping rows where every cell is empty.

    A fully empty row carries no data, so dropping it loses nothing; the row numbers of
    the others are already fixed by ``rows``.
    """
    table = pa.Table.from_arrays([*columns, rows], names=[*names, ROW_COLUMN])
    if table.num_rows == 0 or not names:
        return table
    has_value = pc.is_valid(table.column(0))
    for column in table.columns[1:-1]:
        has_value = pc.or_(has_value, pc.is_valid(column))
    kept = pc.sum(has_value).as_py() or 0
    if kept == table.num_rows:
        return table
    log.debug("%s: dropped %d fully empty rows", os.fspath(path), table.num_rows - kept)
    return table.filter(has_value)

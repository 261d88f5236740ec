"""Readers: one customer export file, as a department sent it, into a table of text.

Nothing is interpreted here and nothing is lost: every cell stays the text the file
holds (``null`` when empty), ``__row`` says where a person finds the row in the file,
physical rows that cannot become a record come back as :class:`RejectedRow`, and a file
that cannot be read as declared raises :class:`SourceReadError` naming the file and,
where known, the row, field and byte offset.

Example:
    >>> result = read_export("landing/dealers/east.csv")          # doctest: +SKIP
    >>> result.table.column_names[-1], result.encoding           # doctest: +SKIP
    ('__row', 'gb18030')
"""

from __future__ import annotations

import glob
import logging
import os
from pathlib import Path

from sources.readers.csv_reader import read_csv_export
from sources.readers.model import ROW_COLUMN, ReadResult, RejectedRow, SourceReadError
from sources.readers.parquet_reader import read_parquet_export
from sources.readers.xlsx_reader import read_xlsx_export

__all__ = [
    "ROW_COLUMN",
    "FORMATS",
    "ReadResult",
    "RejectedRow",
    "SourceReadError",
    "detect_format",
    "expand_paths",
    "read_export",
]

log = logging.getLogger(__name__)

#: File extension → format.
FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "xlsx",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def detect_format(path: str | os.PathLike[str]) -> str:
    """The format of a file from its extension: ``csv``, ``xlsx`` or ``parquet``.

    Raises:
        SourceReadError: the extension is not one of ``FORMATS``.

    Example:
        >>> detect_format("exports/Dealers.XLSX")
        'xlsx'
    """
    suffix = Path(path).suffix.lower()
    try:
        return FORMATS[suffix]
    except KeyError:
        known = ", ".join(FORMATS)
        raise SourceReadError(
            path, f"cannot tell the format from extension {suffix or '(none)'!r}; known: {known}"
        ) from None


def read_export(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    encoding: str = "auto",
    sheet: str | None = None,
    delimiter: str | None = None,
) -> ReadResult:
    """Read one export file into a table of text plus ``__row``.

    Args:
        path: the file.
        format: ``csv``, ``xlsx`` or ``parquet``; from the extension when None.
        encoding: text files only: ``auto`` (BOM, else UTF-8 if valid, else GB18030) or
            a codec name (``gbk``, ``gb18030``, ``utf-8``, ...) decoded strictly.
        sheet: workbooks only: the sheet to read; the first sheet when None.
        delimiter: text files only: one character; sniffed from the header when None.

    Returns:
        ReadResult: the table (every column ``string``, then ``__row`` int64), the rows
        rejected for a wrong number of fields, and the encoding used (text files).

    Raises:
        SourceReadError: the file is missing, empty, undecodable, corrupt, has a blank
            or duplicate header, or the sheet does not exist.
    """
    path = Path(path)
    kind = (format or detect_format(path)).lower()
    if kind not in ("csv", "xlsx", "parquet"):
        raise SourceReadError(path, f"unknown format {format!r}; use csv, xlsx or parquet")
    if not path.is_file():
        raise SourceReadError(path, "file not found" if not path.exists() else "not a file")
    if kind == "csv":
        if sheet is not None:
            log.warning("%s: sheet %r ignored for a text file", path, sheet)
        return read_csv_export(path, encoding=encoding, delimiter=delimiter)
    if encoding.strip().lower() != "auto" or delimiter is not None:
        log.warning("%s: encoding/delimiter settings ignored for %s", path, kind)
    if kind == "xlsx":
        return read_xlsx_export(path, sheet=sheet)
    return read_parquet_export(path)


def expand_paths(base_dir: str | os.PathLike[str], pattern: str) -> list[Path]:
    """The files a source's path pattern matches, sorted.

    ``pattern`` is relative to ``base_dir`` unless absolute; ``**`` matches any depth.
    Hidden files and Excel lock files (``~$name.xlsx``) are skipped.

    Raises:
        SourceReadError: nothing matches (naming the pattern and the folder searched).
    """
    pattern_path = os.path.expanduser(pattern)
    full = (
        pattern_path
        if os.path.isabs(pattern_path)
        else os.path.join(glob.escape(os.fspath(base_dir)), pattern_path)
    )
    matches = sorted(
        Path(p)
        for p in glob.glob(full, recursive=True)
        if os.path.isfile(p) and not Path(p).name.startswith("~$")
    )
    if not matches:
        raise SourceReadError(pattern, f"no file matches {pattern!r} under {os.fspath(base_dir)}")
    log.debug("%s: %d files", pattern, len(matches))
    return matches

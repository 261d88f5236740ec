"""Delimited text exports (CSV, TSV, pipe-separated) into a table of text.

Every column is read as text, so ``0592...`` phone numbers and ``00123`` IDs keep their
leading zeros and ``NA`` stays the two letters a person typed; only an empty cell
becomes ``null``. Parsing is pyarrow's multi-threaded CSV reader; GBK/GB18030 files are
transcoded to UTF-8 by pyarrow while it parses.

Row numbers (``__row``) count *records*, the rows a spreadsheet shows: the header is
row 1 and each following record is the next row, whether it was read, rejected for a
wrong number of fields, or blank. A quoted field with a line break inside is one row,
so ``__row`` can be smaller than the line number a text editor shows after such a
field. Blank lines and rows whose cells are all empty are counted but not returned.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from sources.readers.encodings import (
    GB18030,
    HEAD_BYTES,
    DecodeProblem,
    Encoding,
    choose_encoding,
    decode_error,
    decode_in_memory,
    find_decode_error,
)
from sources.readers.model import (
    ReadResult,
    RejectedRow,
    SourceReadError,
    clean_header,
    finish_table,
    row_numbers,
)

log = logging.getLogger(__name__)

#: Delimiters tried, in order of preference on a tie, when none is declared.
DELIMITERS = (",", "\t", ";", "|")
_DELIMITER_ALIASES = {"\\t": "\t", "tab": "\t"}
_MAX_HEADER_BYTES = 16 << 20
_BLOCK_SIZE = 4 << 20
_LINE_BREAK = re.compile(rb"\r\n?|\n")
_QUOTED = re.compile(r'"[^"]*"')


class _NotUtf8(Exception):
    """Raised internally when a file guessed to be UTF-8 turns out not to be."""


class _NotPlain(Exception):
    """Raised internally when the records a file gained cannot be told apart from the rest."""


@dataclass(frozen=True)
class _DataRows:
    """Where the data rows start: in the file itself, or in UTF-8 text decoded in Python."""

    path: Path
    start: int
    utf8: bytes | None = None

    def open(self) -> pa.NativeFile:
        if self.utf8 is not None:
            return pa.BufferReader(pa.py_buffer(self.utf8)[self.start :])
        stream = pa.OSFile(str(self.path))
        stream.seek(self.start)
        return stream


def read_csv_export(
    path: Path, *, encoding: str = "auto", delimiter: str | None = None
) -> ReadResult:
    """Read one delimited text export into text columns plus ``__row``.

    Args:
        path: the file.
        encoding: ``auto`` (BOM, else UTF-8 if valid, else GB18030) or a codec name,
            decoded strictly.
        delimiter: one character; sniffed from the header among ``, \\t ; |`` if None.

    Returns:
        ReadResult with rows of the wrong width in ``rejected`` and the encoding used.

    Raises:
        SourceReadError: empty file, blank or duplicate header, bytes that do not decode
            (with byte offset and line), or text that cannot be parsed as CSV.
    """
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    chosen = choose_encoding(path, head, len(head) >= size, encoding)
    try:
        return _read(path, head, size, chosen, delimiter)
    except _NotUtf8:
        log.info("%s: not valid UTF-8, reading as GB18030", path)
        return _read(path, head, size, GB18030, delimiter)


@dataclass(frozen=True)
class Tail:
    """Where the records a file gained at its end start: the byte just past the last line
    break of the file as it was (``start``), the records it held after its header then
    (``records``), and the encoding that file was read in (``encoding``)."""

    start: int
    records: int
    encoding: str


def read_csv_tail(
    path: Path, tail: Tail, *, encoding: str = "auto", delimiter: str | None = None
) -> ReadResult | None:
    """The records after ``tail.start`` of a text export, numbered as a read of the whole
    file numbers them, with ``records`` counting the whole file's; None when that cannot be
    told from the new bytes alone, and the whole file must be read.

    The header (names, delimiter, encoding) is read from the start of the file as
    :func:`read_csv_export` reads it. The bytes before ``tail.start`` must be the file as
    read before (the caller compares their SHA-256), ending with a line break outside
    quotes: the parser then starts a record there in a whole read too, so every record
    after it is parsed and numbered the same. None when the encoding chosen now is not
    ``tail.encoding`` (``auto`` on a file that gained a byte that is not UTF-8 reads the
    whole file as GB18030), when the text must be decoded in Python (UTF-16), or when the
    new bytes do not decode or parse (a whole read reports where).
    """
    size = path.stat().st_size
    if tail.start >= size:
        return None
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
        handle.seek(tail.start - 1)
        if handle.read(1) != b"\n":
            return None
    chosen = choose_encoding(path, head, len(head) >= size, encoding)
    if chosen.kind == "python" or chosen.name != tail.encoding:
        return None
    try:
        return _read(path, head, size, chosen, delimiter, tail=tail)
    except (_NotUtf8, _NotPlain, SourceReadError):
        return None


def _quoted(path: Path, start: int, end: int) -> bool:
    """Whether a double quote occurs in bytes ``start`` to ``end`` of the file.

    Without one the records there are plain lines, so a line break ends a record; with
    one, a quoted field may hold a line break (or, unterminated, run to the end of the
    file, which pyarrow accepts), and where a record ends cannot be told from a byte.
    The quote byte is never part of a multi-byte character in UTF-8, GBK or GB18030.
    """
    with path.open("rb") as handle:
        handle.seek(start)
        left = end - start
        while left > 0:
            chunk = handle.read(min(left, _BLOCK_SIZE))
            if not chunk:
                return False
            if b'"' in chunk:
                return True
            left -= len(chunk)
    return False


def _read(
    path: Path,
    head: bytes,
    size: int,
    chosen: Encoding,
    delimiter: str | None,
    *,
    tail: Tail | None = None,
) -> ReadResult:
    utf8: bytes | None = None
    if chosen.kind == "python":
        utf8 = head = decode_in_memory(path, path.read_bytes(), chosen).encode("utf-8")
        header_codec, start, size = "utf-8", 0, len(head)
    else:
        header_codec, start = chosen.codec, chosen.bom_length

    end = _header_end(head, start, len(head) >= size)
    if end is None and len(head) < size:
        with path.open("rb") as handle:
            head = handle.read(_MAX_HEADER_BYTES)
        end = _header_end(head, start, len(head) >= size)
        if end is None and len(head) < size:
            raise SourceReadError(
                path,
                "the header row does not end in the first 16 MB (an unmatched quote, or not a CSV file?)",
            )
    end = len(head) if end is None else end
    header = _decode_header(path, head, start, end, chosen, header_codec)
    if not header.strip():
        if len(head) >= size and not head[end:].strip():
            raise SourceReadError(path, "the file is empty (no header row)")
        raise SourceReadError(path, "the first line is blank; the header must be on line 1", row=1)

    sep = _delimiter(path, delimiter) if delimiter is not None else sniff_delimiter(header)
    names = clean_header(path, next(csv.reader(io.StringIO(header, newline=""), delimiter=sep)))
    start, first = (end, 2) if tail is None else (tail.start, tail.records + 2)
    if tail is not None and (start < end or _quoted(path, end, start)):
        raise _NotPlain  # the file as it was ended in its header, or may end inside quotes
    rows_at = _DataRows(path, start, utf8)
    arrow_encoding = chosen.codec if chosen.kind == "transcode" else "utf8"
    try:
        table, rows, rejected, parsed = _parse(
            rows_at, names, sep, arrow_encoding, start >= size, first
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        if chosen.kind == "python":
            raise SourceReadError(path, f"cannot be parsed as CSV: {exc}") from None
        problem = find_decode_error(path, chosen.codec, chosen.bom_length)
        if problem is None:
            raise SourceReadError(path, f"cannot be parsed as CSV: {exc}") from None
        if chosen.kind == "utf8" and chosen.guessed and chosen.bom_length == 0:
            raise _NotUtf8 from None
        raise decode_error(path, chosen, problem, names=names, delimiter=sep) from None
    log.debug("%s: %d rows, %d rejected (%s)", path, table.num_rows, len(rejected), chosen.name)
    records = parsed + first - 2
    return ReadResult(
        finish_table(path, names, table.columns, rows), rejected, chosen.name, records
    )


def _header_end(data: bytes, start: int, complete: bool) -> int | None:
    """Index just past the line break that ends the header record, or None if not in ``data``.

    A line break inside a quoted header cell does not end the record.
    """
    quotes, position = 0, start
    for match in _LINE_BREAK.finditer(data, start):
        quotes += data.count(b'"', position, match.start())
        position = match.end()
        if quotes % 2 == 0:
            if match.end() == len(data) and match.group() == b"\r" and not complete:
                return None  # the "\n" of a "\r\n" may follow beyond what was read
            return match.end()
    return None


def _decode_header(
    path: Path, head: bytes, start: int, end: int, chosen: Encoding, codec: str
) -> str:
    raw = head[start:end]
    try:
        return raw.decode(codec).rstrip("\r\n")
    except UnicodeDecodeError as exc:
        if chosen.kind == "utf8" and chosen.guessed and chosen.bom_length == 0:
            raise _NotUtf8 from None
        problem = DecodeProblem(
            offset=start + exc.start,
            line=raw[: exc.start].count(b"\n") + 1,
            bad_bytes=raw[exc.start : exc.end],
            quotes_before=b'"' in raw[: exc.start],
            line_prefix="",
        )
        raise decode_error(path, chosen, problem) from None


def sniff_delimiter(header: str) -> str:
    """The candidate delimiter that occurs most often outside quotes in the header line."""
    unquoted = _QUOTED.sub("", header)
    best = max(DELIMITERS, key=unquoted.count)
    return best if unquoted.count(best) else ","


def _delimiter(path: Path, declared: str) -> str:
    sep = _DELIMITER_ALIASES.get(declared.lower(), declared)
    if len(sep) != 1 or sep in '"\r\n':
        raise SourceReadError(
            path,
            f"delimiter must be one character other than a quote or line break, got {declared!r}",
        )
    return sep


def _parse(
    rows_at: _DataRows, names: list[str], sep: str, encoding: str, no_data: bool, first: int = 2
) -> tuple[pa.Table, pa.Array, list[RejectedRow], int]:
    """Parse the data rows; number them from ``first``; collect rows of the wrong width;
    count the records parsed (read, rejected or blank).

    The fast path parses on all cores. pyarrow cannot number rows parsed in parallel,
    so the first row of the wrong width stops it and the file is parsed again serially,
    where every record (read, rejected or blank) is numbered in order.
    """
    if no_data:
        empty = pa.table({name: pa.array([], pa.string()) for name in names})
        return empty, row_numbers(np.arange(0)), [], 0
    stopped: list[bool] = []

    def stop(_row: pacsv.InvalidRow) -> str:
        stopped.append(True)
        return "error"

    try:
        table = _arrow_read(rows_at, names, sep, encoding, threads=True, handler=stop)
        numbers = np.arange(first, table.num_rows + first, dtype=np.int64)
        return table, row_numbers(numbers), [], table.num_rows
    except pa.ArrowInvalid:
        if not stopped:
            raise
    log.info("%s: rows with a wrong number of fields; parsing again to number them", rows_at.path)
    invalid: list[pacsv.InvalidRow] = []

    def keep(row: pacsv.InvalidRow) -> str:
        invalid.append(row)
        return "skip"

    table = _arrow_read(rows_at, names, sep, encoding, threads=False, handler=keep)
    rows, rejected = _number_rows(rows_at.path, table.num_rows, invalid, first)
    return table, rows, rejected, table.num_rows + len(invalid)


def _number_rows(
    path: Path, parsed: int, invalid: list[pacsv.InvalidRow], first: int = 2
) -> tuple[pa.Array, list[RejectedRow]]:
    """Row numbers of the parsed records, the first numbered ``first``, given the invalid
    ones pyarrow skipped."""
    total = parsed + len(invalid)
    numbers = [row.number for row in invalid]
    if any(n is None or n < 1 or n > total for n in numbers):
        raise SourceReadError(path, "internal error: the CSV parser did not number a rejected row")
    keep = np.ones(total, dtype=bool)
    keep[np.asarray(numbers, dtype=np.int64) - 1] = False
    rows = np.arange(first, total + first, dtype=np.int64)[keep]
    rejected = [
        RejectedRow(
            source_file=str(path),
            source_row=row.number + first - 1,
            reason=f"expected {row.expected_columns} fields, found {row.actual_columns}",
            raw=row.text.rstrip("\r"),
        )
        for row in invalid
        if row.text.strip()
    ]
    if len(rejected) < len(invalid):
        log.debug(
            "%s: skipped %d lines holding only whitespace", path, len(invalid) - len(rejected)
        )
    return row_numbers(rows), rejected


def _arrow_read(
    rows_at: _DataRows,
    names: list[str],
    sep: str,
    encoding: str,
    *,
    threads: bool,
    handler: Callable[[pacsv.InvalidRow], str],
) -> pa.Table:
    read = pacsv.ReadOptions(
        use_threads=threads, column_names=names, block_size=_BLOCK_SIZE, encoding=encoding
    )
    parse = pacsv.ParseOptions(
        delimiter=sep,
        quote_char='"',
        double_quote=True,
        escape_char=False,
        newlines_in_values=True,
        ignore_empty_lines=False,
        invalid_row_handler=handler,
    )
    convert = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in names},
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        check_utf8=True,
    )
    with rows_at.open() as stream:
        return pacsv.read_csv(
            stream, read_options=read, parse_options=parse, convert_options=convert
        )

"""Which text encoding a CSV export uses, and where exactly it stops decoding.

Departments send exports in whatever their system writes: UTF-8 with or without a
byte-order mark, UTF-16 from Excel's "Unicode text", GBK/GB18030 from older Chinese
software. ``auto`` picks the encoding from a byte-order mark, else UTF-8 if the bytes
are valid UTF-8, else GB18030 (a superset of GBK and GB2312). A declared encoding is
decoded strictly: the first byte that does not decode is reported with its byte offset
and line number.
"""

from __future__ import annotations

import codecs
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from sources.readers.model import SourceReadError

log = logging.getLogger(__name__)

#: Bytes read from the start of a file to sniff its encoding and find the header.
HEAD_BYTES = 1 << 20
_CHUNK_BYTES = 8 << 20
_ASCII_PROBE = '\n\r",;|\t azAZ09'

#: How the bytes reach the CSV parser: as UTF-8 directly, transcoded by pyarrow while
#: parsing (any encoding where ASCII bytes only ever mean ASCII), or decoded whole in
#: Python first (UTF-16/32, whose newlines are not single bytes).
Kind = Literal["utf8", "transcode", "python"]


@dataclass(frozen=True)
class Encoding:
    """The encoding chosen for one file.

    Attributes:
        name: what the file is reported to use (``utf-8-sig``, ``gb18030``, ...).
        codec: the Python codec that decodes the bytes after ``bom_length``.
        bom_length: bytes of byte-order mark to skip before decoding with ``codec``.
        kind: how the parser gets the text (see ``Kind``).
        guessed: True when chosen by ``auto`` rather than declared.
    """

    name: str
    codec: str
    bom_length: int
    kind: Kind
    guessed: bool


@dataclass(frozen=True)
class DecodeProblem:
    """The first byte sequence that does not decode.

    Attributes:
        offset: byte offset from the start of the file.
        line: 1-based physical line (newline count before ``offset`` + 1).
        bad_bytes: the offending bytes.
        quotes_before: whether a double quote occurs before ``offset`` (if not, lines
            and rows coincide and the field can be located).
        line_prefix: the decoded text of the line up to the offending bytes.
    """

    offset: int
    line: int
    bad_bytes: bytes
    quotes_before: bool
    line_prefix: str


UTF8 = Encoding("utf-8", "utf-8", 0, "utf8", guessed=True)
UTF8_SIG = Encoding("utf-8-sig", "utf-8", len(codecs.BOM_UTF8), "utf8", guessed=True)
GB18030 = Encoding("gb18030", "gb18030", 0, "transcode", guessed=True)
UTF16 = Encoding("utf-16", "utf-16", 0, "python", guessed=True)


def choose_encoding(path: Path, head: bytes, complete: bool, declared: str) -> Encoding:
    """Pick the encoding for a file from its first bytes (``head``) and the declaration.

    ``complete`` says whether ``head`` is the whole file. With ``auto`` the choice
    made from the head may be revised by the reader if a later byte is not UTF-8.
    """
    if declared.strip().lower() == "auto":
        if head.startswith(codecs.BOM_UTF8):
            return UTF8_SIG
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return UTF16
        return UTF8 if _is_utf8_prefix(head, complete) else GB18030
    try:
        codec = codecs.lookup(declared).name
    except LookupError:
        raise SourceReadError(path, f"unknown encoding {declared!r}") from None
    if codec in ("utf-8", "utf-8-sig"):
        has_bom = head.startswith(codecs.BOM_UTF8)
        return replace(UTF8_SIG if has_bom else UTF8, guessed=False)
    return Encoding(codec, codec, 0, "transcode" if _ascii_compatible(codec) else "python", False)


def _is_utf8_prefix(head: bytes, complete: bool) -> bool:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def _ascii_compatible(codec: str) -> bool:
    """True when newline, quote and delimiter bytes can only ever mean those characters."""
    if codec.startswith(("utf-16", "utf-32", "utf_16", "utf_32", "utf-7")):
        return False
    try:
        return _ASCII_PROBE.encode(codec) == _ASCII_PROBE.encode("ascii")
    except UnicodeError:
        return False


def find_decode_error(path: Path, codec: str, start: int) -> DecodeProblem | None:
    """Stream an ASCII-compatible file from ``start`` and locate the first undecodable byte.

    Works a chunk at a time, cut at newlines (a newline byte never sits inside a
    multi-byte character in UTF-8, GBK, GB18030 or Big5), so memory stays small.
    """
    offset, lines, quotes, carry = start, 1, 0, b""
    with path.open("rb") as handle:
        handle.seek(start)
        while True:
            chunk = handle.read(_CHUNK_BYTES)
            block = carry + chunk
            if chunk:
                cut = block.rfind(b"\n") + 1
                if cut == 0:
                    carry = block
                    continue
                block, carry = block[:cut], block[cut:]
            try:
                block.decode(codec)
            except UnicodeDecodeError as exc:
                prefix = block[: exc.start]
                line_start = prefix.rfind(b"\n") + 1
                return DecodeProblem(
                    offset=offset + exc.start,
                    line=lines + prefix.count(b"\n"),
                    bad_bytes=block[exc.start : exc.end],
                    quotes_before=quotes + prefix.count(b'"') > 0,
                    line_prefix=block[line_start : exc.start].decode(codec),
                )
            lines += block.count(b"\n")
            quotes += block.count(b'"')
            offset += len(block)
            if not chunk:
                return None


def decode_in_memory(path: Path, data: bytes, encoding: Encoding) -> str:
    """Decode a whole file held in memory (used for UTF-16/32), strictly."""
    try:
        return data.decode(encoding.codec)
    except UnicodeDecodeError as exc:
        prefix = data[: exc.start].decode(encoding.codec, errors="replace")
        problem = DecodeProblem(
            offset=exc.start,
            line=prefix.count("\n") + 1,
            bad_bytes=data[exc.start : exc.end],
            quotes_before='"' in prefix,
            line_prefix=prefix[prefix.rfind("\n") + 1 :],
        )
        raise decode_error(path, encoding, problem) from None


def decode_error(
    path: Path,
    encoding: Encoding,
    problem: DecodeProblem,
    *,
    names: list[str] | None = None,
    delimiter: str | None = None,
) -> SourceReadError:
    """Build the error for an undecodable byte, naming offset, line and, if possible, field."""
    row = None if problem.quotes_before else problem.line
    field = None
    if names and delimiter and row is not None and row > 1:
        position = problem.line_prefix.count(delimiter)
        field = names[position] if position < len(names) else None
    shown = " ".join(f"0x{b:02X}" for b in problem.bad_bytes[:4])
    what = (
        "the file is neither UTF-8 nor GB18030: "
        if encoding.guessed and encoding.codec == "gb18030"
        else ""
    )
    message = f"{what}bytes {shown} at line {problem.line} do not decode as {encoding.name}"
    return SourceReadError(path, message, row=row, field=field, offset=problem.offset)

"""Phone numbers to E.164, with what kind of line they are and whether they can exist.

The same customer's phone appears as '0592-5551234', '(0592)5551234', '+86 592 5551234'
or just '5551234' in a Xiamen office's sheet; mobiles sit in landline columns. As
'+865925551234' they compare equal.

A cell often holds more than one number. An extension ('0592-5551234转8001',
'0592-5551234 ext. 8001', '分机 8001', '0592-5551234-8001') is kept apart from the
number, which it is not part of. Several numbers ('13800138000/13900139000', '…、…',
'…;…', two numbers with a space between) are split: the first is the cell's number,
the others come back as a list (a local number among them takes the first one's area
code: '0592-5551234/5551235'). Matching uses them as evidence: a mobile that is one
record's second number and another record's only one is the same mobile. phonenumbers' own metadata for CN decides what is
a real mobile, landline or service number: its patterns are compiled once and applied
to all distinct values at once; only foreign numbers ('+852…', '001…') go through
``phonenumbers.parse`` one by one.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sources.standardise._common import arrow_text, broadcast, empty_frame, factorize, with_flag

logger = logging.getLogger(__name__)

PHONE_COLUMNS = ["e164", "kind", "valid", "extension", "others"]
MOBILE, LANDLINE, SERVICE, UNKNOWN = "mobile", "landline", "service", "unknown"

#: A number and its extension ('转123', 'ext. 12', '分机号: 8', 'x12', '#12').
_EXTENSION = (
    r"^(?P<number>.*?\d)\s*(?:转|分机号?|(?i:ext)\.?|[xX]|#)\s*[:：]?\s*(?P<ext>\d{1,6})\s*$"
)
#: A landline with its area code, then '-' and an extension ('0592-5551234-8001').
_DASH_EXTENSION = r"^(?P<number>\(?0\d{2,3}\)?[-\s]?[2-9]\d{6,7})\s*-\s*(?P<ext>\d{1,6})$"
#: What separates several numbers in one cell, and a cell with two numbers space-apart.
_SEPARATOR = re.compile(r"\s*(?:[/,;、|\\]|或)\s*")
_SEVERAL = r"[/,;、|\\]|或|\d[\d-]{9,}\s+\+?\d[\d-]{9,}"
_LONG_NUMBER = re.compile(r"^\+?\d[\d-]{9,}$")
_NUMBER_COLUMNS = PHONE_COLUMNS[:3]
#: A local number dialled without area code: 7–8 digits, not starting with 0 or 1.
_LOCAL = r"^[2-9]\d{6,7}$"
#: Bank / carrier hotlines such as 95588 or 96110 that phonenumbers does not list.
_SHORT_SERVICE = r"9[56]\d{3,4}"


@functools.lru_cache(maxsize=1)
def _patterns() -> dict[str, str]:
    """Anchored CN national-number patterns from phonenumbers' metadata (RE2-compatible)."""
    import phonenumbers

    md = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    if md is None:
        raise RuntimeError("phonenumbers has no metadata for CN")

    def pattern(desc: phonenumbers.PhoneNumberDesc | None) -> str:
        return (
            f"(?:{desc.national_number_pattern})"
            if desc and desc.national_number_pattern
            else r"\b\B"
        )

    service = "|".join(pattern(d) for d in (md.toll_free, md.shared_cost, md.premium_rate))
    rx = {
        MOBILE: pattern(md.mobile),
        "hotline": f"{pattern(md.toll_free)}|400\\d{{7}}",
        LANDLINE: pattern(md.fixed_line),
        SERVICE: f"{service}|{_SHORT_SERVICE}",
    }
    return {k: f"^(?:{v})$" for k, v in rx.items()}


def _classify(national: pa.Array) -> pa.Array:
    """Kind of each CN national number (no trunk 0), null where it is not a valid one."""
    kind = pa.nulls(len(national), pa.string())
    for name, key in (
        (MOBILE, MOBILE),
        (SERVICE, "hotline"),
        (LANDLINE, LANDLINE),
        (SERVICE, SERVICE),
    ):
        hit = pc.fill_null(pc.match_substring_regex(national, _patterns()[key]), False)
        kind = pc.if_else(pc.and_(hit, pc.is_null(kind)), name, kind)
    return kind


def _parse_odd(text: str) -> tuple[str | None, str, bool]:
    """phonenumbers' full parser for a value the fast path could not place."""
    import phonenumbers
    from phonenumbers import PhoneNumberType as T

    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        return None, UNKNOWN, False
    if not phonenumbers.is_valid_number(number):
        return None, UNKNOWN, False
    kind = {
        T.MOBILE: MOBILE,
        T.FIXED_LINE: LANDLINE,
        T.FIXED_LINE_OR_MOBILE: LANDLINE,
        T.TOLL_FREE: SERVICE,
        T.SHARED_COST: SERVICE,
        T.PREMIUM_RATE: SERVICE,
        T.UAN: SERVICE,
    }.get(phonenumbers.number_type(number), UNKNOWN)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), kind, True


def _split_numbers(text: str) -> list[str]:
    """The numbers of one cell, in order: split at separators, and at spaces between two
    complete numbers ('13800138000 13900139000'), never inside one ('138 0013 8000')."""
    pieces: list[str] = []
    for part in _SEPARATOR.split(text):
        words = part.split()
        if len(words) > 1 and all(_LONG_NUMBER.match(w) for w in words):
            pieces += words
        elif part:
            pieces.append(part)
    return pieces


def _extensions(text: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Each number without its extension, and the extension (null where none)."""
    ext = pa.nulls(len(text), pa.string())
    for pattern in (_EXTENSION, _DASH_EXTENSION):
        found = pc.extract_regex(text, pattern)
        hit = pc.and_(pc.is_valid(found), pc.is_null(ext))
        text = pc.if_else(hit, pc.struct_field(found, "number"), text)
        ext = pc.if_else(hit, pc.struct_field(found, "ext"), ext)
    return text, ext


def _phones_unique(values: pd.Series) -> pd.DataFrame:
    """Distinct raw cells → the first number's e164 / kind / valid / local digits awaiting
    an area code, its extension, and the cell's other numbers (E.164 list or None)."""
    text = pc.utf8_trim_whitespace(arrow_text(values))
    empty = np.asarray(pc.fill_null(pc.equal(text, ""), True))
    several = np.asarray(pc.fill_null(pc.match_substring_regex(text, _SEVERAL), False))
    if not several.any():
        out = _numbers(text)
        out["others"] = None
    else:
        cells = np.asarray(text, dtype=object)
        split = {int(i): _split_numbers(cells[i]) for i in np.flatnonzero(several)}
        firsts = cells.copy()
        rest: list[tuple[int, str]] = []
        for i, pieces in split.items():
            firsts[i] = pieces[0] if pieces else None
            rest += [(i, p) for p in pieces[1:]]
        both = pa.array(list(firsts) + [p for _, p in rest], type=pa.string(), from_pandas=True)
        parsed = _numbers(both)
        out = parsed.iloc[: len(cells)].reset_index(drop=True)
        out["others"] = _others(out, parsed.iloc[len(cells) :], [i for i, _ in rest])
    out.loc[empty, PHONE_COLUMNS] = None
    return out


def _others(first: pd.DataFrame, parsed: pd.DataFrame, cell: list[int]) -> list:
    """Per cell, the valid numbers after its first (``_others_of``)."""
    rest: dict[int, list[tuple[str | None, str | None]]] = {}
    rows = parsed[["e164", "local"]].itertuples(index=False)
    for i, (e164, local) in zip(cell, rows, strict=True):
        rest.setdefault(i, []).append((e164, local))
    others: list[list[str] | None] = [None] * len(first)
    for i, numbers in rest.items():
        others[i] = _others_of(first.at[i, "e164"], first.at[i, "kind"], numbers)
    return others


def _others_of(
    e164_first: str | None, kind_first: str | None, rest: list[tuple[str | None, str | None]]
) -> list[str] | None:
    """One cell's valid numbers after its first, as E.164 (a local one with the first
    number's area code when that is a landline), without repeats of the first; ``rest``
    holds each further number's ``e164`` and ``local`` digits."""
    found: list[str] | None = None
    for e164, local in rest:
        if e164 is None and local is not None and kind_first == LANDLINE:
            area = area_code_of(str(e164_first))
            if re.fullmatch(_patterns()[LANDLINE], area + local):
                e164 = f"+86{area}{local}"
        if e164 is None or e164 == e164_first:
            continue
        found = found or []
        if e164 not in found:
            found.append(e164)
    return found


def _numbers(text: pa.Array) -> pd.DataFrame:
    """``_number_fields`` as a frame."""
    return pd.DataFrame(_number_fields(text), columns=_FIELDS, dtype=object)


_FIELDS = ["e164", "kind", "valid", "local", "extension"]


def _number_fields(text: pa.Array) -> dict[str, list]:
    """One number per value → e164 / kind / valid, ``local`` digits awaiting an area code,
    and the extension written after it, as lists.

    All steps are pyarrow compute kernels (RE2) over the whole array of values.
    """
    text = pc.utf8_trim_whitespace(text)
    text, extension = _extensions(text)
    plus = pc.fill_null(pc.starts_with(text, "+"), False)
    digits = pc.replace_substring_regex(text, r"\D+", "")

    def starts(prefix: str) -> pa.Array:
        return pc.fill_null(pc.starts_with(digits, prefix), False)

    cn_intl = pc.or_(pc.and_(plus, starts("86")), starts("0086"))
    national = pc.if_else(cn_intl, pc.replace_substring_regex(digits, "^(?:00)?86", ""), digits)
    long_86 = pc.and_(
        pc.and_(pc.invert(plus), starts("86")), pc.greater_equal(pc.utf8_length(digits), 11)
    )
    maybe_cc = pc.and_(pc.invert(cn_intl), pc.fill_null(long_86, False))
    stripped = pc.replace_substring_regex(pc.utf8_slice_codeunits(digits, 2), "^0+", "")
    cc_ok = pc.and_(maybe_cc, pc.is_valid(_classify(stripped)))
    national = pc.if_else(cc_ok, stripped, national)
    national = pc.replace_substring_regex(national, "^0([1-9])", "\\1")
    foreign = pc.and_(pc.or_(plus, starts("00")), pc.invert(cn_intl))
    trunk = pc.or_(pc.or_(starts("0"), cn_intl), maybe_cc)
    local_shape = pc.fill_null(pc.match_substring_regex(national, _LOCAL), False)
    local = pc.and_(pc.and_(pc.invert(trunk), pc.invert(foreign)), local_shape)
    national = pc.if_else(pc.or_(foreign, local), None, national)

    kind = _classify(national)
    out = {
        "e164": pc.if_else(
            pc.is_valid(kind), pc.binary_join_element_wise("+86", national, ""), None
        ).to_pylist(),
        "kind": pc.if_else(local, LANDLINE, pc.fill_null(kind, UNKNOWN)).to_pylist(),
        "valid": pc.is_valid(kind).to_pylist(),
        "local": pc.if_else(local, digits, None).to_pylist(),
        "extension": extension.to_pylist(),
    }
    odd = np.asarray(
        pc.and_(
            foreign,
            pc.fill_null(
                pc.and_(
                    pc.greater_equal(pc.utf8_length(digits), 5),
                    pc.less_equal(pc.utf8_length(digits), 17),
                ),
                False,
            ),
        )
    )
    if odd.any():  # only foreign numbers: CN shapes were already judged by the same metadata
        texts = text.to_pylist()
        for i in np.flatnonzero(odd):
            out["e164"][i], out["kind"][i], out["valid"][i] = _parse_odd(texts[i])
    logger.debug(
        "phones: %d numbers, %d local, %d via phonenumbers.parse",
        len(text),
        int(pc.sum(local).as_py() or 0),
        int(odd.sum()),
    )
    return out


def _complete_locals(out: pd.DataFrame, area_code: pd.Series) -> None:
    """Give local numbers the row's area code and validate them as landlines, in place."""
    has_local = out["local"].notna()
    if not has_local.any():
        return
    area = area_code.reindex(out.index[has_local.to_numpy()]).astype(object)
    area = area.where(area.notna(), None).map(str, na_action="ignore")
    area = area.str.replace(r"\D", "", regex=True).str.lstrip("0")
    todo = (area.notna() & (area != "")).reindex(out.index, fill_value=False)
    if not todo.any():
        return
    area = area.reindex(out.index)
    national = (area[todo] + out.loc[todo, "local"]).astype(object)
    codes, uniques = factorize(national)
    fits = pc.match_substring_regex(
        pa.array(uniques.to_numpy(dtype=object), pa.string()), _patterns()[LANDLINE]
    )
    ok = broadcast(codes, pd.Series(np.asarray(pc.fill_null(fits, False))), national.index).eq(True)
    hit = ok[ok].index
    out.loc[hit, "e164"] = "+86" + national[hit]
    out.loc[hit, "valid"] = True


def standardise_phones(numbers: pd.Series, area_code: pd.Series | None = None) -> pd.DataFrame:
    """Phone numbers as E.164 with their kind and validity.

    Args:
        numbers: phone text in any common Chinese shape ('0592-5551234', '(0592)5551234',
            '+86 138-0013-8000', '0086 13800138000', '400-8352-114', full-width digits),
            with an extension ('转8001', 'ext. 8001', '分机8001', '-8001' after a full
            landline) or several numbers ('…/…', '…、…', '…;…', '…,…', two space-apart).
        area_code: optional, aligned to ``numbers``: the row's area code without trunk 0
            ('592'), used for local 7–8 digit numbers written without one.
    Returns:
        A frame aligned to ``numbers``: ``e164`` ('+865925551234', None when not valid),
        ``kind`` (mobile / landline / service for 400, 800, 95xxx / unknown) and
        ``valid`` (nullable boolean) of the cell's first number; its ``extension``
        (digits, None when there is none); ``others``, the cell's other valid numbers
        as a list of E.164 (None when there are none). A mobile found in a landline
        column is a mobile. A local number
        without a known area code is a landline that is not valid (it cannot be
        dialled as written). Empty cells give None (valid <NA>) in all three columns.
    """
    if not numbers.notna().any():
        return empty_frame(numbers.index, PHONE_COLUMNS)
    codes, uniques = factorize(numbers)
    out = broadcast(codes, _phones_unique(uniques), numbers.index)
    if area_code is not None:
        _complete_locals(out, pd.Series(np.asarray(area_code, dtype=object), index=numbers.index))
    return with_flag(out[PHONE_COLUMNS].copy())


def standardise_phone(cell: str | None, area_code: str | None = None) -> dict[str, Any]:
    """``standardise_phones`` of one cell, without pandas: ``PHONE_COLUMNS`` → value (None
    where the frame has None or <NA>). The same kernels run on the cell's numbers; what the
    vectorised function does around them (split cells, other numbers, local numbers given
    the area code) is done here for the one cell.

    The answer for the last few thousand (cell, area code) pairs is kept: the kernels on one
    value cost about 4 ms, mostly compiling phonenumbers' patterns, and a check whose
    entity type is guessed stages the same form twice.
    """
    found = dict(zip(PHONE_COLUMNS, _phone_cell(cell, area_code), strict=True))
    if found["others"] is not None:
        found["others"] = list(found["others"])
    return found


@functools.lru_cache(maxsize=4096)
def _phone_cell(cell: str | None, area_code: str | None) -> tuple:
    """``standardise_phone``'s answer as a tuple in ``PHONE_COLUMNS`` order (others a tuple)."""
    found = _standardise_cell(cell, area_code)
    others = found["others"]
    return tuple(
        tuple(others) if c == "others" and others is not None else found[c] for c in PHONE_COLUMNS
    )


def _standardise_cell(cell: str | None, area_code: str | None) -> dict[str, Any]:
    empty = dict.fromkeys(PHONE_COLUMNS)
    if cell is None:
        return empty
    text = pc.utf8_trim_whitespace(arrow_text(pd.Series([cell], dtype=object)))
    value = text[0].as_py()
    if not value:
        return empty
    pieces = [value]
    if pc.match_substring_regex(text, _SEVERAL)[0].as_py():
        pieces = _split_numbers(value) or [None]
    fields = _number_fields(pa.array(pieces, type=pa.string()))
    numbers = [
        dict(zip(fields, values, strict=True)) for values in zip(*fields.values(), strict=True)
    ]
    first = numbers[0]
    others = None
    if len(numbers) > 1 or pieces != [value]:
        rest = [(n["e164"], n["local"]) for n in numbers[1:]]
        others = _others_of(first["e164"], first["kind"], rest)
    if first["local"] is not None and area_code is not None:
        area = re.sub(r"\D", "", str(area_code)).lstrip("0")
        if area:
            national = area + first["local"]
            fits = pc.match_substring_regex(pa.array([national]), _patterns()[LANDLINE])
            if fits[0].as_py():
                first["e164"], first["valid"] = "+86" + national, True
    return {c: others if c == "others" else first[c] for c in PHONE_COLUMNS}


def area_code_of(e164: str) -> str:
    """The area code (no trunk 0) of a CN landline in E.164: '+865925551234' → '592'."""
    national = e164[3:]
    return national[:2] if national[:1] in ("1", "2") else national[:3]

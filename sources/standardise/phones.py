"""Phone numbers to E.164, with what kind of line they are and whether they can exist.

The same customer's phone appears as '0592-5551234', '(0592)5551234', '+86 592 5551234'
or just '5551234' in a Xiamen office's sheet; mobiles sit in landline columns. As
'+865925551234' they compare equal. phonenumbers' own metadata for CN decides what is
a real mobile, landline or service number: its patterns are compiled once and applied
to all distinct values at once; only foreign numbers ('+852…', '001…') go through
``phonenumbers.parse`` one by one.
"""

from __future__ import annotations

import functools
import logging

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sources.standardise._common import broadcast, empty_frame, factorize, with_flag

logger = logging.getLogger(__name__)

PHONE_COLUMNS = ["e164", "kind", "valid"]
MOBILE, LANDLINE, SERVICE, UNKNOWN = "mobile", "landline", "service", "unknown"

#: Extension text after a number ('转123', 'ext. 12', '分机 8') and separators between numbers.
_EXTENSION = r"\s*(?:转|分机号?|(?i:ext)\.?|[xX]|#)\s*\d{1,6}\s*$"
_SECOND_NUMBER = r"(?s)(?:[/,;、|]|或).*$"
#: Full-width characters that can occur in a phone number, and their ASCII twins.
_WIDE_PHONE = {chr(0xFF10 + i): str(i) for i in range(10)} | {
    "＋": "+",
    "（": "(",
    "）": ")",
    "－": "-",
}
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


def _phones_unique(values: pd.Series) -> pd.DataFrame:
    """Distinct raw numbers → e164 / kind / valid, plus ``local`` digits awaiting an area code.

    All steps are pyarrow compute kernels (RE2) over the whole array of distinct values.
    """
    text = pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    if pc.any(pc.match_substring_regex(text, "[\uff01-\uff5e]")).as_py():
        for wide, narrow in _WIDE_PHONE.items():
            text = pc.replace_substring(text, wide, narrow)
    text = pc.utf8_trim_whitespace(text)
    empty = pc.fill_null(pc.equal(text, ""), True)
    text = pc.utf8_trim_whitespace(pc.replace_substring_regex(text, _SECOND_NUMBER, ""))
    text = pc.replace_substring_regex(text, _EXTENSION, "")
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
    out = pd.DataFrame(
        {
            "e164": pc.if_else(
                pc.is_valid(kind), pc.binary_join_element_wise("+86", national, ""), None
            ),
            "kind": pc.if_else(local, LANDLINE, pc.fill_null(kind, UNKNOWN)),
            "valid": pc.is_valid(kind),
            "local": pc.if_else(local, digits, None),
        }
    ).astype(object)
    out = out.where(out.notna(), None)
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
        out.loc[odd, PHONE_COLUMNS] = [_parse_odd(t) for t in np.asarray(text, dtype=object)[odd]]
    out.loc[np.asarray(empty), PHONE_COLUMNS] = None
    logger.debug(
        "phones: %d distinct, %d local, %d via phonenumbers.parse",
        len(values),
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
            '+86 138-0013-8000', '0086 13800138000', '400-8352-114', full-width digits,
            '转123' extensions, which are dropped). Of several numbers in one cell
            ('…/…'), the first is taken.
        area_code: optional, aligned to ``numbers``: the row's area code without trunk 0
            ('592'), used for local 7–8 digit numbers written without one.
    Returns:
        A frame aligned to ``numbers``: ``e164`` ('+865925551234', None when not valid),
        ``kind`` (mobile / landline / service for 400, 800, 95xxx / unknown) and
        ``valid`` (nullable boolean). A mobile found in a landline column is a mobile. A local number
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

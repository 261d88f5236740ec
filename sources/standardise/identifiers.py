"""Official identifiers: company credit codes and PRC resident ID numbers, checksum-tested.

The unified social credit code (统一社会信用代码, USCC, GB 32100-2015) identifies a
company for life and the resident ID (GB 11643-1999) a person: when two records share a
*valid* one they are the same customer. A code that fails its check digit is a typo
and must not be trusted for matching, so validity is reported next to the code.

Check digits are computed with numpy over all distinct codes at once.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sources.standardise._common import arrow_text, empty_frame, map_unique, with_flag

logger = logging.getLogger(__name__)

USCC_COLUMNS = ["uscc", "valid"]
ID_COLUMNS = ["id_number", "valid", "birth_date", "gender"]

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, Z, S, V
USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28])
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = "10X98765432"
#: First two digits of a resident ID: provinces, Taiwan, HK/Macau, HK/Macau/Taiwan permits.
ID_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 "
    "61 62 63 64 65 71 81 82 83 91".split()
)

_USCC_SHAPE = f"^[{USCC_CHARSET}]{{18}}$"
_ID18 = r"^\d{17}[\dX]$"
_ID15 = r"^\d{15}$"

_USCC_VALUE = np.full(128, -1, dtype=np.int64)
_USCC_VALUE[[ord(c) for c in USCC_CHARSET]] = np.arange(31)


class _Rng(Protocol):
    def random(self) -> float: ...


def _char_matrix(codes: pa.Array, width: int) -> np.ndarray:
    """Equal-length ASCII codes as an (n, width) matrix of byte values."""
    raw = "".join(codes.to_pylist()).encode("ascii")
    return np.frombuffer(raw, dtype=np.uint8).reshape(len(codes), width)


def _clean_codes(values: pd.Series) -> pa.Array:
    """Half-width, upper-case, without spaces, hyphens or underscores; '' becomes null."""
    code = pc.utf8_upper(pc.replace_substring_regex(arrow_text(values), r"[\s\-_]+", ""))
    return pc.if_else(pc.equal(code, ""), pa.scalar(None, pa.string()), code)


def _mask(arr: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False))


def uscc_check_char(body17: str) -> str:
    """The 18th character of a USCC whose first 17 characters are ``body17``."""
    total = sum(
        int(_USCC_VALUE[ord(c)]) * int(w) for c, w in zip(body17, USCC_WEIGHTS, strict=True)
    )
    return USCC_CHARSET[(31 - total % 31) % 31]


def _uscc_unique(values: pd.Series) -> pd.DataFrame:
    code = _clean_codes(values)
    shaped = _mask(pc.match_substring_regex(code, _USCC_SHAPE))
    valid = np.full(len(code), None, dtype=object)
    valid[np.asarray(pc.is_valid(code))] = False
    if shaped.any():
        m = _USCC_VALUE[_char_matrix(code.filter(shaped), 18)]
        valid[shaped] = (31 - (m[:, :17] @ USCC_WEIGHTS) % 31) % 31 == m[:, 17]
    return pd.DataFrame({"uscc": code.to_numpy(zero_copy_only=False), "valid": valid})


def standardise_one_uscc(value: str | None) -> str | None:
    """The ``uscc`` ``standardise_uscc`` gives for one value (its cleaning on a one-value
    array, without the pandas plumbing around it)."""
    if value is None:
        return None
    return _clean_codes(pd.Series([value], dtype=object))[0].as_py()


def standardise_uscc(s: pd.Series) -> pd.DataFrame:
    """Unified social credit codes, upper-cased without separators, with a validity flag.

    ``valid`` is True only for 18 characters from the USCC alphabet whose last one is
    the GB 32100 check character (weights 3^i mod 31). Other text is kept, upper-cased,
    with ``valid`` False; empty cells give None / <NA> (``valid`` is nullable boolean).

    Examples:
        >>> standardise_uscc(pd.Series(["91110108 551385082q", "123"])).values.tolist()
        [['91110108551385082Q', True], ['123', False]]
    """
    if len(s) == 0:
        return empty_frame(s.index, USCC_COLUMNS)
    return with_flag(map_unique(s, _uscc_unique))


def _id_unique(values: pd.Series) -> pd.DataFrame:
    code = _clean_codes(values)
    old = _mask(pc.match_substring_regex(code, _ID15))
    if old.any():  # GB 11643 upgrade: insert the century, append the check digit
        head, tail = pc.utf8_slice_codeunits(code, 0, 6), pc.utf8_slice_codeunits(code, 6)
        body = pc.binary_join_element_wise(head, "19", tail, "").filter(old)
        m = _char_matrix(body, 17).astype(np.int64) - 48
        check = np.frombuffer(ID_CHECK.encode(), dtype="S1")[(m @ ID_WEIGHTS) % 11].astype(str)
        texts = code.to_numpy(zero_copy_only=False)
        texts[old] = np.char.add(np.asarray(body, dtype=str), check).astype(object)
        code = pa.array(texts, type=pa.string(), from_pandas=True)
    shaped = _mask(pc.match_substring_regex(code, _ID18))
    n = len(code)
    valid = np.full(n, None, dtype=object)
    birth = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    gender = np.full(n, None, dtype=object)
    if shaped.any():
        ids = code.filter(shaped)
        m = _char_matrix(ids, 18)
        digits = m[:, :17].astype(np.int64) - 48
        expected = np.frombuffer(ID_CHECK.encode(), dtype=np.uint8)[(digits @ ID_WEIGHTS) % 11]
        born = pc.strptime(
            pc.utf8_slice_codeunits(ids, 6, 14), format="%Y%m%d", unit="ns", error_is_null=True
        )
        born = np.asarray(born.to_numpy(zero_copy_only=False), dtype="datetime64[ns]")
        born_ok = (born >= np.datetime64("1900-01-01")) & (born <= np.datetime64(date.today()))
        region_ok = _mask(
            pc.is_in(pc.utf8_slice_codeunits(ids, 0, 2), pa.array(sorted(ID_PROVINCES)))
        )
        ok = (expected == m[:, 17]) & born_ok & region_ok
        valid[shaped] = ok
        birth[shaped] = np.where(ok, born, np.datetime64("NaT"))
        sex = np.where(digits[:, 16] % 2 == 1, "M", "F").astype(object)
        sex[~ok] = None
        gender[shaped] = sex
    columns = {"id_number": code.to_numpy(zero_copy_only=False), "valid": valid}
    return pd.DataFrame(columns | {"birth_date": birth, "gender": gender})


def standardise_id_number(value: str | None) -> dict:
    """``standardise_id_numbers`` of one value (``ID_COLUMNS`` → value; the same vectorised
    code on a one-value array, without the pandas plumbing around it)."""
    if value is None:
        return dict.fromkeys(ID_COLUMNS)
    row = _id_unique(pd.Series([value], dtype=object)).iloc[0]
    born = row["birth_date"]
    return {
        "id_number": row["id_number"],
        "valid": row["valid"],
        "birth_date": None if pd.isna(born) else born.date(),
        "gender": row["gender"],
    }


def standardise_id_numbers(s: pd.Series) -> pd.DataFrame:
    """Personal ID numbers; PRC resident IDs are validated and their birth date and sex read.

    A value shaped like a PRC resident ID (18 characters, 17 digits + digit/X, or the
    old 15 digits) is checked: ISO 7064 MOD 11-2 check digit, a real birth date not in
    the future, a known province code. Old 15-digit IDs are rewritten in their official
    18-digit form (century 19 inserted, check digit added) so both spellings of one
    person agree. For a valid ID, ``birth_date`` (datetime64, NaT otherwise) and ``gender`` ('M' odd /
    'F' even 17th digit) are read from the ID; a failed ID gives neither, since a typo
    may sit in exactly those digits.

    Anything else (passport, Hong Kong ID, a wrong length) is kept as an opaque,
    upper-cased identifier with ``valid`` <NA>: it is not a PRC ID, so there is
    nothing to check, which is different from a PRC ID that failed (``valid`` False).
    """
    if len(s) == 0:
        return empty_frame(s.index, ID_COLUMNS).astype({"birth_date": "datetime64[ns]"})
    return with_flag(map_unique(s, _id_unique))


def _pick(rng: _Rng, chars: str) -> str:
    return chars[int(rng.random() * len(chars))]


def generate_uscc(rng: _Rng, region_code: str = "350200", category: str = "91") -> str:
    """A valid, random-looking USCC for demo data (``rng``: random.Random or numpy Generator).

    The organisation-code part carries its own GB 11714 check character too.
    """
    org = "".join(_pick(rng, USCC_CHARSET[:10] if i else "0123456789M") for i in range(8))
    org_total = sum(
        (int(c) if c.isdigit() else ord(c) - 55) * w
        for c, w in zip(org, [3, 7, 9, 10, 5, 8, 4, 2], strict=True)
    )
    org_check = {10: "X", 11: "0"}.get(11 - org_total % 11, str(11 - org_total % 11))
    body = f"{category}{region_code}{org}{org_check}"
    return body + uscc_check_char(body)


def generate_id_number(
    rng: _Rng, birth_date: date | str, gender: str, region_code: str = "350203"
) -> str:
    """A valid PRC resident ID for a person born on ``birth_date`` of ``gender`` 'M'/'F'."""
    born = pd.Timestamp(birth_date).strftime("%Y%m%d")
    sequence = f"{int(rng.random() * 100):02d}"
    sex_digit = int(rng.random() * 5) * 2 + (1 if gender.upper().startswith("M") else 0)
    body = f"{region_code}{born}{sequence}{sex_digit}"
    total = sum(int(c) * int(w) for c, w in zip(body, ID_WEIGHTS, strict=True))
    return body + ID_CHECK[total % 11]

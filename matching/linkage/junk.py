"""Values that do not identify a customer, and how they are kept out of matching.

Two kinds of value look like identifiers but are not:

- placeholders typed because a field was required: '无', '不详', 'test', a phone such
  as 0592-8888888, an e-mail like none@qq.com, a USCC of eighteen zeros;
- values shared by too many records: the manufacturer's 400 hotline a dealer typed
  into every customer, one clerk's e-mail used for a whole trade fair, a chain's name.

Left in, either kind pulls unrelated customers into one block and, through transitive
closure, into one cluster. The functions here null such values in the matcher's copy of
the data and report each suppressed value (column, value, how many records, why), so a
steward can see why two records were never compared.

Work is vectorised over Arrow-backed strings (RE2 patterns), fit for a million rows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

#: Text that stands for "nothing" in Chinese and English exports (compared lower-cased).
PLACEHOLDER_TEXTS = frozenset(
    {
        "无", "暂无", "没有", "不详", "未知", "待定", "待补充", "空", "其他", "其它",
        "客户", "个人", "散户", "先生", "女士", "测试", "test", "null", "none", "nan",
        "n/a", "na", "nil", "unknown", "-", "--", "/", ".", "0", "x", "xx", "xxx",
    }
)  # fmt: skip

#: E-mail local parts that mean "no address".
PLACEHOLDER_EMAIL_USERS = frozenset(
    {"none", "null", "test", "na", "no", "noemail", "nomail", "noreply", "no-reply", "xxx", "123"}
)

#: Phone numbers whose last seven digits are one digit repeated or a plain run (RE2).
JUNK_NUMBER = "(?:" + "|".join(f"{d}{{7}}" for d in range(10)) + "|1234567|7654321|0123456)$"

#: Digit runs a clerk types for a USCC or personal ID that is required but unknown:
#: 1234567, 0123456789, 9876543210 (cyclic, so 123456789012345678 is one too).
_ASCENDING_DIGITS = "0123456789" * 4
_DESCENDING_DIGITS = _ASCENDING_DIGITS[::-1]

SUPPRESSED_COLUMNS = ("column", "value", "records", "reason")
PLACEHOLDER, SHARED = "placeholder", "shared_by_too_many_records"


@dataclass(frozen=True)
class JunkRules:
    """When a shared value stops identifying one customer.

    Attributes:
        max_records_per_value: an identifier (phone, mobile, e-mail, USCC, personal ID)
            carried by more records than this is junk: it neither blocks nor counts as
            evidence. Set it above the number of exports one real customer can be in.
        max_block_size: a blocking-only key (name, name prefix + city, pinyin + district,
            name + birth date, birth date) shared by more records than this creates no
            block; this bounds the pairs one key value can generate to max_block_size² / 2.
    """

    max_records_per_value: int = 25
    max_block_size: int = 50

    def __post_init__(self) -> None:
        for name in ("max_records_per_value", "max_block_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"JunkRules.{name} must be at least 1, got {getattr(self, name)}")


def placeholder_mask(values: pd.Series, kind: str) -> pd.Series:
    """Which values are filler rather than data.

    Args:
        values: Arrow-backed strings (``string[pyarrow]``), missing as NA.
        kind: 'phone' (also mobiles), 'email', 'id' (USCC, personal ID) or 'text'.
    """
    present = values.notna()
    if not present.any():
        return present
    junk = values.str.lower().isin(PLACEHOLDER_TEXTS)
    if kind == "phone":
        junk |= values.str.contains(JUNK_NUMBER, regex=True)
    elif kind == "email":
        junk |= values.str.replace("@.*$", "", regex=True).isin(PLACEHOLDER_EMAIL_USERS)
    elif kind == "id":
        uniques = pd.Series(values.dropna().unique(), dtype=object)
        filler = uniques[uniques.map(is_placeholder_id)]
        junk |= values.isin(set(filler))
    elif kind != "text":
        raise ValueError(f"unknown value kind {kind!r}")
    return (present & junk.fillna(False)).astype(bool)


def is_placeholder_id(value: str) -> bool:
    """Whether a USCC or personal ID is filler: one character repeated (0000000, 1111111),
    a plain digit run (1234567, 0123456789, 7654321), or no letter or digit at all.

    Real identifiers may use few distinct characters (3004030): only these shapes are
    filler.
    """
    # most identifiers are letters and digits only: the per-character pass (a Python call
    # per character, 12 s over the 280,000 distinct USCCs of a 1M-record sync) is for the rest
    core = value if value.isalnum() else "".join(ch for ch in value if ch.isalnum())
    if not core or len(set(core)) == 1:
        return True
    return len(core) > 2 and (core in _ASCENDING_DIGITS or core in _DESCENDING_DIGITS)


def drop_placeholders(
    values: pd.Series, kind: str, column: str, dropped: list[pd.DataFrame]
) -> pd.Series:
    """``values`` with placeholders (``placeholder_mask``) nulled; each one dropped goes to
    ``dropped`` as its record (the index label, a record's position), ``column`` and value,
    for the report (``caps``) to count."""
    mask = placeholder_mask(values, kind)
    if not mask.any():
        return values
    found = values[mask]
    dropped.append(
        pd.DataFrame(
            {
                "record": found.index.to_numpy(dtype=np.int64),
                "column": column,
                "value": found.astype(object).to_numpy(),
            }
        )
    )
    return values.where(~mask)

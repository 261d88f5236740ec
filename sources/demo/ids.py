"""Identifiers the demo hands out, and the check-digit rules that tell a typo from a real code.

A unified social credit code (USCC, GB 32100) carries a check character over its first
17 characters; a resident ID (GB 11643) a check digit over its first 17 digits and the
birth date in digits 7-14. The generators come from the standardisers' module, so the
demo and the pipeline agree on what "valid" means.
"""

from __future__ import annotations

import re
from datetime import date

from sources.standardise.identifiers import (
    ID_CHECK,
    ID_WEIGHTS,
    USCC_CHARSET,
    generate_id_number,
    generate_uscc,
    uscc_check_char,
)

__all__ = [
    "generate_id_number",
    "generate_uscc",
    "id_number_is_valid",
    "uscc_is_valid",
    "with_typo",
]

_USCC_RX = re.compile(f"^[{USCC_CHARSET}]{{18}}$")
_ID_RX = re.compile(r"^\d{17}[\dX]$")


def uscc_is_valid(code: str) -> bool:
    """True when ``code`` is 18 USCC characters whose last is the check character."""
    return bool(_USCC_RX.match(code)) and uscc_check_char(code[:17]) == code[17]


def id_number_is_valid(number: str) -> bool:
    """True when ``number`` is an 18-character resident ID with a real birth date and check digit."""
    if not _ID_RX.match(number):
        return False
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    total = sum(int(c) * int(w) for c, w in zip(number[:17], ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11] == number[17]


def with_typo(code: str, position: int, replacement_index: int) -> str:
    """``code`` with the character at ``position`` replaced by another digit: a keying error."""
    digits = "0123456789"
    old = code[position]
    candidates = [d for d in digits if d != old]
    return code[:position] + candidates[replacement_index % len(candidates)] + code[position + 1 :]

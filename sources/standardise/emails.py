"""E-mail addresses: one spelling, and whether the address could be delivered to at all.

Typos ('qq.con', 'gmial.com') are deliberately not corrected: a guess that turns a
wrong address into somebody else's real one would be worse than a flag. An address
that fails the check keeps its cleaned text, so a steward can still see it.
"""

from __future__ import annotations

import logging
import re

import pandas as pd

from sources.standardise._common import (
    blank_to_none,
    empty_frame,
    fold_width,
    map_unique,
    with_flag,
)

logger = logging.getLogger(__name__)

EMAIL_COLUMNS = ["email", "valid"]

#: RFC-lite: dot-atom local part, dotted host labels, a TLD of at least two letters.
_EMAIL = re.compile(
    r"(?!\.)(?!.*\.\.)[a-z0-9!#$%&'*+/=?^_`{|}~.-]+(?<!\.)"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}"
)
_MAILTO = re.compile(r"^mailto:\s*", re.IGNORECASE)
_WRAPPERS = re.compile(r"^[<\"'(\[]+|[>\"')\];,.]+$")


def _email_unique(values: pd.Series) -> pd.DataFrame:
    text = fold_width(values).str.strip().str.lower()
    text = text.str.replace(_MAILTO, "", regex=True).str.replace(_WRAPPERS, "", regex=True)
    text = blank_to_none(text.str.strip())
    valid = text.str.fullmatch(_EMAIL)
    return pd.DataFrame({"email": text, "valid": valid.where(text.notna(), None)}, dtype=object)


def standardise_emails(s: pd.Series) -> pd.DataFrame:
    """E-mail addresses trimmed, lower-cased and half-width, with a validity flag.

    Returns:
        A frame aligned to ``s``: ``email`` (cleaned text, also when invalid) and
        ``valid`` (nullable boolean; <NA> where there was no value).

    Examples:
        >>> standardise_emails(pd.Series(["mailto:Li.Wei@Example.COM", "li wei@x.cn"])).values.tolist()
        [['li.wei@example.com', True], ['li wei@x.cn', False]]
    """
    if len(s) == 0:
        return empty_frame(s.index, EMAIL_COLUMNS)
    return with_flag(map_unique(s, _email_unique))

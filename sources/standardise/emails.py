"""E-mail addresses: one spelling, and whether the address could be delivered to at all.

Typos ('qq.con', 'gmial.com') are deliberately not corrected: a guess that turns a
wrong address into somebody else's real one would be worse than a flag. An address
that fails the check keeps its cleaned text, so a steward can still see it.
"""

from __future__ import annotations

import logging
import re

import pandas as pd

from sources.standardise._common import WIDTH_TABLE, empty_frame, map_unique, with_flag

logger = logging.getLogger(__name__)

EMAIL_COLUMNS = ["email", "valid"]

#: RFC-lite: dot-atom local part, dotted host labels, a TLD of at least two letters.
_EMAIL = re.compile(
    r"(?!\.)(?!.*\.\.)[a-z0-9!#$%&'*+/=?^_`{|}~.-]+(?<!\.)"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}"
)
_MAILTO = re.compile(r"^mailto:\s*", re.IGNORECASE)
_WRAPPERS = re.compile(r"^[<\"'(\[]+|[>\"')\];,.]+$")


def standardise_email(value: str | None) -> tuple[str | None, bool | None]:
    """One address cleaned, and whether it is valid (None when there is no address): what
    ``standardise_emails`` gives for each value."""
    if value is None:
        return None, None
    text = value.translate(WIDTH_TABLE).strip().lower()
    text = _WRAPPERS.sub("", _MAILTO.sub("", text)).strip()
    if not text:
        return None, None
    return text, _EMAIL.fullmatch(text) is not None


def _email_unique(values: pd.Series) -> pd.DataFrame:
    rows = [standardise_email(v if isinstance(v, str) else None) for v in values]
    return pd.DataFrame(rows, columns=EMAIL_COLUMNS, dtype=object)


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

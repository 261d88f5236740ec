"""Gender of a person, from whatever an export wrote for it.

Exports say '男', 'M', 'Male', '先生' or '女士'; the golden record says 'M' or 'F'.
Anything else (blank, '未知', '1', '0', a typo) is not guessed at and becomes None.
"""

from __future__ import annotations

import logging

import pandas as pd

from sources.standardise._common import fold_width, map_unique

logger = logging.getLogger(__name__)

_GENDER = {
    **dict.fromkeys(["男", "男性", "男士", "先生", "m", "male", "man", "mr", "mr."], "M"),
    **dict.fromkeys(
        ["女", "女性", "女士", "小姐", "f", "female", "woman", "ms", "ms.", "mrs", "mrs."], "F"
    ),
}


def _gender_unique(values: pd.Series) -> pd.Series:
    key = fold_width(values).str.strip().str.lower()
    return key.map(_GENDER).astype(object).where(lambda g: g.notna(), None)


def clean_gender(s: pd.Series) -> pd.Series:
    """'M' for male, 'F' for female, None when the value does not say clearly.

    Examples:
        >>> clean_gender(pd.Series(["男", "Female", "女士", "?", None])).tolist()
        ['M', 'F', 'F', None, None]
    """
    return map_unique(s, _gender_unique)

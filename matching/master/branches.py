"""Branches (分公司) and their head office: the head office is named in the branch's name.

A branch is registered under its head office's name with the branch's place and 分公司
after it: ``厦门快心电脑有限公司福州分公司`` is the Fuzhou branch of 厦门快心电脑有限公司,
another customer (its own credit code, address and phone), related ``branch`` (head office
→ branch). The key-account team writes it ``Xiamen Kuaixin Computer Co., Ltd. Fuzhou
Branch``. So the head office's name is cut out of the branch's name and resolved to a
golden company like any mentioned name (``matching.master.mentions``): by the company
model, not by exact string, so ``厦门快心电脑福州分公司`` (legal form left out) still finds it.

Cutting: the head office's name runs to the last 公司 before the suffix (the place in
between is the branch's); without a 公司 there, the two characters of the place before 分
公司 are dropped (福州, 北京: most city names have two). In Latin script the word before
``Branch`` is the place. Records that are branches themselves are not candidates for a
head office, so a branch never resolves to itself or to a sister branch.
"""

from __future__ import annotations

import re

import pandas as pd

#: The words a branch's name ends with (``BRANCH_SUFFIX``): a name holding none of them is
#: no branch's (the relationships step reads only the company names that hold one).
BRANCH_WORDS = ("分公司", "分店", "branch")
#: A company name that ends as a branch's does.
BRANCH_SUFFIX = re.compile(r"(?:分公司|分店)$|\s+branch$", re.IGNORECASE)
_HEAD_TO_COMPANY = re.compile(r"^(.+公司)[^公司]{1,6}(?:分公司|分店)$")
_HEAD_BEFORE_PLACE = re.compile(r"^(.{4,}?)[\u3400-\u9fff]{2}(?:分公司|分店)$")
_LATIN_HEAD = re.compile(r"^(.+?)[\s,]+[A-Za-z]+\s+branch$", re.IGNORECASE)


def head_office_name(name: str | None) -> str | None:
    """The head office's name inside a branch's name, or None when it is not a branch's.

    Examples:
        >>> head_office_name("厦门快心电脑有限公司福州分公司")
        '厦门快心电脑有限公司'
        >>> head_office_name("厦门快心电脑福州分公司")
        '厦门快心电脑'
        >>> head_office_name("Xiamen Kuaixin Computer Co., Ltd. Fuzhou Branch")
        'Xiamen Kuaixin Computer Co., Ltd.'
        >>> head_office_name("厦门快心电脑有限公司") is None
        True
    """
    if not isinstance(name, str) or not BRANCH_SUFFIX.search(name.strip()):
        return None
    text = name.strip()
    for pattern in (_HEAD_TO_COMPANY, _HEAD_BEFORE_PLACE, _LATIN_HEAD):
        found = pattern.match(text)
        if found:
            return found.group(1).strip()
    return None


def is_branch_name(names: pd.Series) -> pd.Series:
    """True where a company name ends as a branch's does."""
    return names.fillna("").str.strip().str.contains(BRANCH_SUFFIX, regex=True)

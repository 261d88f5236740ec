"""Look-alike characters (形近字): the name a clerk read off a handwritten form.

A clerk copying '陈春涛' from a paper form may type '阵春涛', '王' may come back as '玉',
'广州' as '厂州'. The two spellings neither read nor sound the same, so the name
comparisons see two names; yet it is one person. Folding every character to one
representative of its look-alike group gives both spellings one *shape* (``name_shape``),
which the matcher compares as its own level: weaker evidence than the same name (two
people may be called 王伟 and 玉伟), strong beside a shared mobile or ID.

The groups are the confusions Chinese proofreading lists most often give (one stroke or
one radical apart); characters of overlapping groups (东/车, 车/军) fall into one.
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

#: Groups of characters that look alike, one group per string.
LOOKALIKE_GROUPS = (
    "王玉主",
    "李季",
    "陈阵",
    "杨扬场",
    "刘浏",
    "吴昊",
    "金全",
    "天夭",
    "永水",
    "元无",
    "广厂",
    "正止",
    "大太犬",
    "光先",
    "明朋",
    "平乎",
    "博搏",
    "海悔",
    "伟纬",
    "东车军",
    "超起",
    "玲铃",
    "峰锋",
    "宇字",
    "中申",
    "帆帜",
    "晨晟",
    "红江",
    "己已巳",
    "未末",
    "土士",
    "日曰",
    "戊戌戍",
    "千干",
    "午牛",
    "白自",
    "田由甲",
    "贝见",
    "刀力",
    "木本术",
    "候侯",
    "免兔",
    "鸟乌",
    "今令",
    "辩辨辫",
    "径经",
    "拨拔",
    "侍待",
    "清情晴请",
    "兰岚",
    "静婧",
)


@lru_cache(maxsize=1)
def _fold_table() -> dict[int, str]:
    """Character → the representative of its look-alike group (groups that share a
    character are one group; the representative is the group's lowest code point)."""
    parent: dict[str, str] = {}

    def root(ch: str) -> str:
        while parent.setdefault(ch, ch) != ch:
            ch = parent[ch]
        return ch

    for group in LOOKALIKE_GROUPS:
        for ch in group[1:]:
            a, b = root(group[0]), root(ch)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return {ord(ch): root(ch) for ch in parent if root(ch) != ch}


def fold_lookalikes(text: str) -> str:
    """``text`` with every look-alike character replaced by its group's representative.

    Examples:
        >>> fold_lookalikes("阵春涛") == fold_lookalikes("陈春涛")
        True
        >>> fold_lookalikes("厂州") == fold_lookalikes("广州")
        True
        >>> fold_lookalikes("张伟") == fold_lookalikes("章伟")
        False
    """
    return text.translate(_fold_table())


def name_shapes(names: pd.Series) -> pd.Series:
    """The look-alike-folded form of every name (NA stays NA), computed once per distinct name."""
    codes, uniques = pd.factorize(names, use_na_sentinel=True)
    folded = pd.array([fold_lookalikes(str(u)) for u in uniques] + [pd.NA], dtype=names.dtype)
    return pd.Series(folded.take(codes), index=names.index)

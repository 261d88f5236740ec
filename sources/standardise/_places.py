"""China's administrative divisions (province / city / county), as shipped with cpca.

The place names inside company names and addresses are recognised against the
division table that the ``cpca`` package ships (``cpca/resources/adcodes.csv``). The
file is read directly, without importing cpca, and turned into lookup tables of every
spelling people use: the full name ('厦门市', '思明区') and the short one ('厦门', '思明').
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import logging
import re
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

PROVINCE, CITY, COUNTY = 0, 1, 2

#: Placeholder rows of the table that are not place names anyone writes.
_PLACEHOLDERS = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}
_REGION_ABBR = {
    "内蒙古自治区": "内蒙古",
    "广西壮族自治区": "广西",
    "西藏自治区": "西藏",
    "新疆维吾尔自治区": "新疆",
    "宁夏回族自治区": "宁夏",
}


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


def _cpca_csv(name: str) -> Path:
    spec = importlib.util.find_spec("cpca")
    if spec is None or spec.origin is None:
        raise RuntimeError("the cpca package (administrative divisions) is not installed")
    return Path(spec.origin).parent / "resources" / name


@functools.lru_cache(maxsize=1)
def _nation_suffix() -> re.Pattern[str]:
    with _cpca_csv("56_nations.csv").open(encoding="utf-8") as f:
        nations = sorted({line.strip() for line in f if line.strip()}, key=len, reverse=True)
    names = "|".join(nations + [n[:-1] for n in nations if n.endswith("族") and len(n) > 2])
    return re.compile(f"(?:{names})+自治(?:州|县|旗)$")


def short_name(name: str, rank: int) -> str:
    """The everyday short form: '福建省' → '福建', '厦门市' → '厦门', '思明区' → '思明'."""
    if name in _REGION_ABBR:
        return _REGION_ABBR[name]
    short = _nation_suffix().sub("", name)
    if short == name:
        suffix = r"(?:省|市|特别行政区)$" if rank == PROVINCE else r"(?:市|地区|盟|区|县|旗)$"
        short = re.sub(suffix, "", name)
    return short if len(short) >= 2 else name


@functools.lru_cache(maxsize=1)
def divisions() -> dict[str, Division]:
    """All divisions by 6-digit adcode (placeholder rows such as '市辖区' included)."""
    out: dict[str, Division] = {}
    with _cpca_csv("adcodes.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            code = row["adcode"][:6]
            rank = PROVINCE if code.endswith("0000") else CITY if code.endswith("00") else COUNTY
            out[code] = Division(code, row["name"], rank, short_name(row["name"], rank))
    logger.debug("loaded %d administrative divisions from cpca", len(out))
    return out


@functools.lru_cache(maxsize=1)
def spellings() -> dict[str, list[tuple[Division, bool]]]:
    """Every written form → the divisions it may mean, with ``True`` for a short form.

    Lists are ordered province first, then city, then county, then by adcode, so the
    first entry is the most likely reading when nothing else is known.
    """
    table: dict[str, list[tuple[Division, bool]]] = {}
    for div in sorted(divisions().values(), key=lambda d: (d.rank, d.adcode)):
        if div.name in _PLACEHOLDERS:
            continue
        table.setdefault(div.name, []).append((div, False))
        if div.short != div.name:
            table.setdefault(div.short, []).append((div, True))
    return table


def level_names(code: str) -> tuple[str | None, str | None, str | None]:
    """(province, city, district) official names for an adcode.

    Municipalities (北京/上海/天津/重庆) have no prefecture level: their city is the
    municipality itself. County-level cities directly under a province (仙桃市) are
    reported as the city, with no district.
    """
    table = divisions()
    province = table.get(code[:2] + "0000")
    prov_name = province.name if province else None
    if code.endswith("0000"):
        return prov_name, None, None
    city = table.get(code[:4] + "00")
    city_name = city.name if city else None
    if city_name in _PLACEHOLDERS:
        city_name = prov_name if city_name in ("市辖区", "县") else None
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

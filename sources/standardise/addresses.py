"""Postal addresses split into province / city / district / the rest, with the adcode.

Province, city and district are what regional reporting, area codes and blocking run
on; they must be the official names ('福建省', '厦门市', '思明区') however the export wrote
them ('厦门思明…', '福建厦门市…', '北京市朝阳区…').

cpca does this job but parses about 16k addresses per second here, far below the
pipeline's budget. This module matches against cpca's own division table instead,
by dictionary look-ups of the place names at the start of the address (where Chinese
addresses name them), and resolves each distinct combination of place tokens once. Differences from cpca, on purpose:

- a short district name ('厦门思明…') counts when it follows its city, as cpca does not;
- a short place name followed by a road word ('中山路', '北京东路', '长安街') is a road,
  not a place (cpca reads '中山路100号' as 中山市);
- municipalities report the municipality as the city ('北京市', not '市辖区').
"""

from __future__ import annotations

import functools
import logging
import re

import pandas as pd

from sources.standardise._common import empty_frame, map_unique
from sources.standardise._places import (
    COUNTY,
    PROVINCE,
    Division,
    PrefixMatcher,
    divisions,
    level_names,
    spellings,
)
from sources.standardise.text import normalise_text

logger = logging.getLogger(__name__)

ADDRESS_COLUMNS = ["province", "city", "district", "address_detail", "adcode"]

_ROAD_AHEAD = re.compile(r"[东西南北中]?(?:路|街|道|巷|弄|大道|大街|胡同)")
_COUNTRY = ("中华人民共和国", "中国")
_LEADING_JUNK = " ,，、:：;；-"


@functools.lru_cache(maxsize=1)
def _matchers() -> tuple[PrefixMatcher, frozenset[str], PrefixMatcher]:
    """Place-name matcher, the spellings that are only short forms, a matcher of full
    province and city names (for addresses with a label in front)."""
    table = spellings()
    short_only = frozenset(t for t, readings in table.items() if all(s for _, s in readings))
    upper = [
        t for t, readings in table.items() if any(d.rank < COUNTY and not s for d, s in readings)
    ]
    return PrefixMatcher(list(table)), short_only, PrefixMatcher(upper)


def _tokens(text: str, pos: int) -> tuple[tuple[str, ...], int]:
    """Up to three place spellings at ``pos`` and the position after them.

    A short form directly followed by a road word ('中山路', '长安街') is a road name.
    """
    matcher, short_only, _ = _matchers()
    found: list[str] = []
    while len(found) < 3:
        while text[pos : pos + 1] == " ":
            pos += 1
        word = matcher.match(text, pos)
        if word is None or (word in short_only and _ROAD_AHEAD.match(text, pos + len(word))):
            break
        found.append(word)
        pos += len(word)
    return tuple(found), pos


@functools.lru_cache(maxsize=100_000)
def _resolve(tokens: tuple[str, ...]) -> tuple[str | None, int]:
    """The most specific division the leading place tokens agree on, and how many were used."""
    table = spellings()
    last: Division | None = None
    used = 0
    for token in tokens:
        readings = table[token]
        if last is None:  # a bare short district name ('思明') is too ambiguous to trust
            options = [
                d
                for d, short in readings
                if not (short and d.rank == COUNTY and not d.name.endswith("市"))
            ]
        else:
            options = [d for d, _ in readings if d.belongs_to(last)]
            if not options and any(d.adcode == last.adcode for d, _ in readings):
                used += 1  # the same place written twice ('北京市北京市…')
                continue
        if not options:
            break
        last, used = options[0], used + 1
    return (last.adcode if last else None), used


def _parse_one(text: str | None) -> tuple[str | None, ...]:
    if text is None:
        return None, None, None, None, None
    start = len(next((c for c in _COUNTRY if text.startswith(c)), ""))
    tokens, end = _tokens(text, start)
    adcode, used = _resolve(tokens)
    if adcode is None and (hit := _matchers()[2].search(text)):  # '收货地址:福建省厦门市…'
        tokens, end = _tokens(text, hit[0])
        adcode, used = _resolve(tokens)
    if adcode is None:
        return None, None, None, text, None
    rest = "".join(tokens[used:]) + text[end:]
    detail = rest.lstrip(_LEADING_JUNK) or None
    province, city, district = level_names(adcode)
    return province, city, district, detail, adcode


def _parse_unique(values: pd.Series) -> pd.DataFrame:
    text = normalise_text(values)
    return pd.DataFrame([_parse_one(v) for v in text], columns=ADDRESS_COLUMNS, dtype=object)


def parse_addresses(s: pd.Series) -> pd.DataFrame:
    """Split addresses into official province, city, district names and the detail.

    Args:
        s: address text; it is normalised (half-width, simplified) here as well.
    Returns:
        A frame aligned to ``s`` with ``province``, ``city``, ``district`` (official
        names, None where the address does not say), ``address_detail`` (everything
        after the places: street, building, '5楼', '501室') and ``adcode`` (6-digit code
        of the most specific division found). An address naming no place keeps its
        whole text as detail.

    Examples:
        >>> parse_addresses(pd.Series(["厦门思明区湖滨南路1号501室"])).iloc[0].tolist()
        ['福建省', '厦门市', '思明区', '湖滨南路1号501室', '350203']
    """
    if len(s) == 0:
        return empty_frame(s.index, ADDRESS_COLUMNS)
    return map_unique(s, _parse_unique)


def official_provinces() -> tuple[str, ...]:
    """The official names of China's provincial-level divisions ('福建省', '上海市', …), the
    only values a staged ``province`` may take."""
    return tuple(sorted(d.name for d in divisions().values() if d.rank == PROVINCE))

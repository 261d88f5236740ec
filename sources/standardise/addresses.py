"""Postal addresses split into province / city / district / the rest, with the adcode,
and the building and room parsed off the rest.

Province, city and district are what regional reporting, area codes and blocking run
on; they must be the official names ('福建省', '厦门市', '思明区') however the export wrote
them ('厦门思明…', '福建厦门市…', '北京市朝阳区…').

cpca does this job but parses about 16k addresses per second here, far below the
pipeline's budget. This module matches against cpca's own division table instead,
by dictionary look-ups of the place names at the start of the address (where Chinese
addresses name them), and resolves each distinct combination of place tokens once. Differences from cpca, on purpose:

- a short district name ('厦门思明…') counts when it follows its city, as cpca does not;
- a short place name followed by a road word ('中山路', '北京东路', '长安街'), perhaps
  numbered ('中山五路', '中山东一路'), is a road, not a place (cpca reads '中山路100号' as
  中山市; before the numbered roads were recognised, 4 of the demo's 4,922 records in
  Guangzhou's 中山五路 were read as 中山市 and lost their duplicate);
- municipalities report the municipality as the city ('北京市', not '市辖区');
- an old name reads as the division it became ('浙江省萧山市…' is 杭州市萧山区, '襄樊市' is
  襄阳市), from the division history in ``sources.standardise.division_table``;
- an address that starts with a district alone parses when the district name is
  unique ('思明区…' is 厦门市); a name several cities have ('鼓楼区' in 福州, 南京, 徐州
  and 开封) gives the district only, and staging completes it from the source's own
  city column, never from a guess.

Building and room: what follows the street number ('湖滨南路1号国贸大厦A座1201室')
is split into the building ('国贸大厦A座') and the room ('1201室', with its floor:
'12层1203室'), so that two offices in one tower are told apart by their rooms and a
street address compares without them.
"""

from __future__ import annotations

import functools
import logging
import re

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
from sources.standardise.text import normalise_one, normalise_text

logger = logging.getLogger(__name__)

ADDRESS_COLUMNS = [
    "province",
    "city",
    "district",
    "address_detail",
    "adcode",
    "address_building",
    "address_room",
]

#: a road word, perhaps after a direction and an ordinal ('中山五路', '中山东一路', '解放二路')
_ROAD_AHEAD = re.compile(
    r"[东西南北中]?[一二三四五六七八九十]{0,2}(?:路|街|道|巷|弄|大道|大街|胡同)"
)
_COUNTRY = ("中华人民共和国", "中国")
_LEADING_JUNK = " ,，、:：;；-"


@functools.lru_cache(maxsize=1)
def _matchers() -> tuple[PrefixMatcher, frozenset[str], PrefixMatcher]:
    """Place-name matcher, the spellings that are only short forms, a matcher of full
    province and city names (for addresses with a label in front)."""
    table = spellings()
    short_only = frozenset(t for t, readings in table.items() if all(r.short for r in readings))
    upper = [
        t
        for t, readings in table.items()
        if any(r.division.rank < COUNTY and not r.short for r in readings)
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
def _resolve(tokens: tuple[str, ...]) -> tuple[str | None, int, str | None]:
    """The most specific division the leading place tokens agree on, how many were used,
    and the district name when the address names only a district several cities have."""
    table = spellings()
    last: Division | None = None
    used = 0
    for token in tokens:
        readings = table[token]
        if last is None:
            # a bare short district name ('思明') is too ambiguous to trust; today's names
            # win over old names that other places once had
            options = [
                r
                for r in readings
                if not (
                    r.short and r.division.rank == COUNTY and not r.division.name.endswith("市")
                )
            ]
            if any(not r.historic for r in options):
                options = [r for r in options if not r.historic]
            found = {r.division for r in options}
            if len(found) > 1 and all(d.rank == COUNTY for d in found):
                names = {d.name for d in found}
                return None, 1, names.pop() if len(names) == 1 else None
            choices = [r.division for r in options]
        else:
            choices = [r.division for r in readings if r.division.belongs_to(last)]
            if not choices and any(r.division.adcode == last.adcode for r in readings):
                used += 1  # the same place written twice ('北京市北京市…')
                continue
        if not choices:
            break
        last, used = choices[0], used + 1
    return (last.adcode if last else None), used, None


#: The street and number an address starts with, before building, floor and room
#: ('湖滨南路1号' of '湖滨南路1号国贸大厦A座1201室'); a regular expression, group 1.
STREET_AND_NUMBER = r"^(.*?[0-9]+号)"

_FLOOR = r"(?:\d{1,3}|[一二三四五六七八九十]{1,3}|[Bb]\d)(?:楼|层|[Ff])"
_NUMBER = r"[A-Za-z]?\d{1,5}[A-Za-z]?(?:-\d{1,4})?"
_UNIT_END = r"(?:座|栋|幢|号楼|单元|楼)"
_BUILDING_END = rf"(?:{_UNIT_END[3:-1]}|大厦|大楼|广场|中心|公寓|花园|小区|写字楼|商务楼)"
#: (RE2, run by pyarrow over every detail at once) the room at the end: a floor and/or a
#: room number ('12层1203室', '5楼', 'A1201室'); a bare number only right after a unit.
_ROOM = rf"^(?P<head>.*?)(?P<room>(?:{_FLOOR})?{_NUMBER}(?:室|房|号房)|{_FLOOR}(?:{_NUMBER}号?)?)$"
_BARE_ROOM = rf"^(?P<head>.*{_UNIT_END})(?P<room>{_NUMBER}号?)$"
#: the building: after the last street number ('…路2号'), ending like a building does
_BUILDING = (
    rf"^(?:.*(?:路|街|道|巷|弄|里|段|村|组)\d+(?:-\d+)?号)?(?P<building>[^楼].*{_BUILDING_END})$"
)


def _extract(text: pa.Array, pattern: str) -> tuple[pa.Array, ...]:
    """The named groups of ``pattern`` in each text (null where it does not match)."""
    found = pc.extract_regex(text, pattern)
    names = [found.type.field(i).name for i in range(found.type.num_fields)]
    return tuple(pc.struct_field(found, n) for n in names)


def _buildings_and_rooms(details: pd.Series) -> pd.DataFrame:
    """``address_building`` and ``address_room`` of each detail (the part after the places).

    The room is a floor and/or a room number at the end ('12层1203室', '5楼', 'A1201室');
    a bare number counts as a room only right after a building's unit ('3栋502'). The
    building is what lies between the street number and the room, when it ends like a
    building does ('国贸大厦A座', '莲富大厦3号楼', '阳光花园8幢').
    """
    text = pa.array(details.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    head, room = _extract(text, _ROOM)
    bare_head, bare_room = _extract(text, _BARE_ROOM)
    no_room = pc.is_null(room)
    head = pc.if_else(no_room, pc.coalesce(bare_head, text), head)
    room = pc.if_else(no_room, bare_room, room)
    (building,) = _extract(pc.utf8_rtrim(head, _LEADING_JUNK), _BUILDING)
    building = pc.utf8_trim(building, _LEADING_JUNK)
    long = pc.fill_null(pc.greater(pc.utf8_length(building), 30), False)
    empty = pc.fill_null(pc.equal(building, ""), False)
    building = pc.if_else(pc.or_(long, empty), None, building)
    return pd.DataFrame(
        {"address_building": building.to_pandas(), "address_room": room.to_pandas()},
        index=details.index,
    ).astype(object)


def _parse_one(text: str | None) -> tuple[str | None, ...]:
    if text is None:
        return None, None, None, None, None
    start = len(next((c for c in _COUNTRY if text.startswith(c)), ""))
    tokens, end = _tokens(text, start)
    adcode, used, district = _resolve(tokens)
    if adcode is None and district is None and (hit := _matchers()[2].search(text)):
        tokens, end = _tokens(text, hit[0])  # '收货地址:福建省厦门市…'
        adcode, used, district = _resolve(tokens)
    if adcode is None and district is None:
        return None, None, None, text, None
    rest = "".join(tokens[used:]) + text[end:]
    detail = rest.lstrip(_LEADING_JUNK) or None
    province = city = None
    if adcode is not None:
        province, city, district = level_names(adcode)
    return province, city, district, detail, adcode


def parse_address_places(address: str | None) -> tuple[str | None, ...]:
    """``parse_addresses`` of one value without pandas, up to the adcode: (province, city,
    district, address_detail, adcode); the building and room are not parsed."""
    return _parse_one(normalise_one(address))


def _parse_unique(values: pd.Series) -> pd.DataFrame:
    text = normalise_text(values)
    places = pd.DataFrame([_parse_one(v) for v in text], columns=ADDRESS_COLUMNS[:5], dtype=object)
    return pd.concat([places, _buildings_and_rooms(places["address_detail"])], axis=1)


def parse_addresses(s: pd.Series) -> pd.DataFrame:
    """Split addresses into official province, city, district names and the detail.

    Args:
        s: address text; it is normalised (half-width, simplified) here as well.
    Returns:
        A frame aligned to ``s`` with ``province``, ``city``, ``district`` (today's
        official names, None where the address does not say), ``address_detail``
        (everything after the places: street, building, '5楼', '501室'), ``adcode``
        (6-digit code of the most specific division found), ``address_building`` and
        ``address_room`` (parsed off the detail, None where absent). An address naming
        no place keeps its whole text as detail.

    Examples:
        >>> parse_addresses(pd.Series(["厦门思明区湖滨南路1号501室"])).iloc[0].tolist()
        ['福建省', '厦门市', '思明区', '湖滨南路1号501室', '350203', None, '501室']
    """
    if len(s) == 0:
        return empty_frame(s.index, ADDRESS_COLUMNS)
    return map_unique(s, _parse_unique)


def official_provinces() -> tuple[str, ...]:
    """The official names of China's provincial-level divisions ('福建省', '上海市', …), the
    only values a staged ``province`` may take."""
    return tuple(sorted(d.name for d in divisions().values() if d.rank == PROVINCE))

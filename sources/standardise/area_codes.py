"""Telephone area codes of Chinese cities, so a local landline can be completed.

Regional offices often record '5551234' without the area code; the customer's city
says which code it needs ('厦门市' → '592'). The table ships with the package as
``data/cn_area_codes.csv`` and is derived from phonenumbers' own geocoding data
(its Chinese descriptions such as '福建省厦门市', resolved against cpca's division
table), because loading all of phonenumbers' geodata costs seconds and much memory.
Regenerate it after a phonenumbers upgrade with
``python -m sources.standardise.area_codes``.
"""

from __future__ import annotations

import csv
import functools
import logging
import re
from pathlib import Path

import pandas as pd

from sources.standardise._common import map_unique
from sources.standardise._places import CITY, COUNTY, PROVINCE, divisions, spellings, trie_pattern

logger = logging.getLogger(__name__)

TABLE_PATH = Path(__file__).with_name("data") / "cn_area_codes.csv"


def derive_area_codes() -> dict[str, str]:
    """Division adcode → area code (no trunk 0), derived from phonenumbers' geodata.

    Only landline prefixes are read (not the 1xx mobile ranges); the area code is the
    first two digits after 86 for 10 and 2x, else three. Where a city has more than one
    code, the one of its shortest, lowest prefix is kept.
    """
    from phonenumbers.geodata import GEOCODE_DATA

    table = spellings()
    token = re.compile(trie_pattern(list(table)))
    out: dict[str, str] = {}
    prefixes = [p for p in GEOCODE_DATA if p.startswith("86") and len(p) >= 4]
    for prefix in sorted(prefixes, key=lambda p: (len(p), p)):
        code = prefix[2:4] if prefix[2] in "12" else prefix[2:5]
        if (code.startswith("1") and code != "10") or len(prefix) < len(code) + 2:
            continue
        text, pos, parent = GEOCODE_DATA[prefix].get("zh", ""), 0, None
        while m := token.match(text, pos):
            pos = m.end() + (1 if text[m.end() : m.end() + 1] == "、" else 0)
            readings = [d for d, *_ in table[m.group()] if parent is None or d.belongs_to(parent)]
            if not readings:
                continue
            div = readings[0]
            if div.rank == PROVINCE and parent is None and not div.name.endswith("市"):
                parent = div
                continue
            out.setdefault(div.adcode, code)
    logger.info("derived %d area codes from phonenumbers geodata", len(out))
    return out


def write_table(path: Path = TABLE_PATH) -> None:
    """Write the derived table as CSV (area_code, adcode, name), sorted by adcode."""
    names = divisions()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["area_code", "adcode", "name"])
        for adcode, code in sorted(derive_area_codes().items()):
            writer.writerow([code, adcode, names[adcode].name])


@functools.lru_cache(maxsize=1)
def _by_adcode() -> dict[str, str]:
    with TABLE_PATH.open(encoding="utf-8") as f:
        return {row["adcode"]: row["area_code"] for row in csv.DictReader(f)}


@functools.lru_cache(maxsize=1)
def _by_name() -> dict[str, str]:
    """Every spelling of a place → its area code (a county falls back to its city's)."""
    codes = _by_adcode()
    out: dict[str, str] = {}
    for text, readings in spellings().items():
        for rank in (CITY, PROVINCE, COUNTY):
            for div in (d for d, *_ in readings if d.rank == rank):
                code = codes.get(div.adcode) or codes.get(div.adcode[:4] + "00")
                if code:
                    out.setdefault(text, code)
    return out


def area_code_of_city(city: str | None) -> str | None:
    """``area_code_for_city`` of one value, without pandas."""
    return None if city is None else _by_name().get(city.strip())


def _lookup_unique(values: pd.Series) -> pd.Series:
    return pd.Series([area_code_of_city(v) for v in values], dtype=object)


def area_code_for_city(cities: pd.Series) -> pd.Series:
    """The telephone area code (without trunk 0) of each city name, None when unknown.

    Accepts official or short names ('厦门市', '厦门'), municipalities ('北京' → '10')
    and county-level places, which take their own code or their prefecture's.

    Examples:
        >>> area_code_for_city(pd.Series(["厦门市", "北京", "广州", None])).tolist()
        ['592', '10', '20', None]
    """
    return map_unique(cities, _lookup_unique)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    write_table()

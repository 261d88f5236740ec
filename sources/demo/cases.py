"""The hard cases real CRMs have, planted in the demo and recorded per record.

Every demo carries them, whatever its size, so that matching and relationships can be
scored on each (``truth/planted_cases.csv``: one row per record and case it carries):

- **Scripts**: the key-account team types some companies in English or pinyin
  ("Xiamen Kuaixin Computer Co., Ltd.", "KUAIXIN DIANNAO (XIAMEN) CO LTD") and some
  persons in pinyin ("Zhang Wei", "WANG Xiaoming").
- **Renamed companies**: one record still carries the old trade name; credit code,
  address and phone are the company's own.
- **Other customers close to one**: branches (``…有限公司福州分公司``) of a head office,
  individual businesses named after their owner (``张伟文印店`` or just ``张伟``),
  subsidiaries of a parent (the chains), family members: their records are marked so
  that their own duplicates are scored, and the truth relates them to the customer they
  must never merge with.
- **Cells**: landlines with an extension (``0592-5551234转8001``, ``ext. 8001``),
  mobile cells with two numbers (``138…/139…``), a mobile with two digits transposed,
  a landline with a digit missing, a name with a look-alike character (形近字: 王/玉),
  a company row whose mobile column holds the contact person's mobile.
- **Addresses**: with building and room, with the district but no city, with the old
  county-level name of a district (萧山市 for 杭州市萧山区).
- **The same customer typed twice in one source** (two records in one dealer's file).

The functions here take a value and a random generator and return one way it was typed,
like ``sources.demo.mess``; the writers record the case names they applied.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

# --- case names (the ``case`` column of truth/planted_cases.csv) ----------------------
LATIN_COMPANY_NAME = "latin_company_name"
LATIN_PERSON_NAME = "latin_person_name"
RENAMED = "renamed"
BRANCH = "branch"
INDIVIDUAL_BUSINESS = "individual_business"
SUBSIDIARY = "subsidiary"
FAMILY_MEMBER = "family_member"
PHONE_EXTENSION = "phone_extension"
TWO_NUMBERS = "two_numbers"
BUILDING_ROOM = "building_room"
DISTRICT_ONLY = "district_only"
OLD_COUNTY_NAME = "old_county_name"
DUPLICATE_IN_SOURCE = "duplicate_in_source"
TRANSPOSED_MOBILE = "transposed_mobile"
MISSING_LANDLINE_DIGIT = "missing_landline_digit"
LOOKALIKE_CHAR = "lookalike_char"
CONTACT_MOBILE_IN_COMPANY_COLUMN = "contact_mobile_in_company_column"

#: Every case, in the order reports list them.
CASES = (
    LATIN_COMPANY_NAME,
    LATIN_PERSON_NAME,
    RENAMED,
    BRANCH,
    INDIVIDUAL_BUSINESS,
    SUBSIDIARY,
    FAMILY_MEMBER,
    PHONE_EXTENSION,
    TWO_NUMBERS,
    BUILDING_ROOM,
    DISTRICT_ONLY,
    OLD_COUNTY_NAME,
    DUPLICATE_IN_SOURCE,
    TRANSPOSED_MOBILE,
    MISSING_LANDLINE_DIGIT,
    LOOKALIKE_CHAR,
    CONTACT_MOBILE_IN_COMPANY_COLUMN,
)

#: How often a record carries a cell-level case (per cell that can carry it).
RATES = {
    LATIN_COMPANY_NAME: 0.2,  # of the key-account team's mainland company rows
    LATIN_PERSON_NAME: 0.25,  # of its mainland person rows
    PHONE_EXTENSION: 0.1,  # of company landline cells
    TWO_NUMBERS: 0.3,  # of the mobile cells of a customer with two mobiles
    TRANSPOSED_MOBILE: 0.02,
    MISSING_LANDLINE_DIGIT: 0.02,
    LOOKALIKE_CHAR: 0.02,
    CONTACT_MOBILE_IN_COMPANY_COLUMN: 0.3,  # of dealer and regional company rows naming a contact
}

#: Trade words as the key-account team translates them.
TRADE_ENGLISH = {
    "文印店": "Print Shop",
    "图文": "Graphics",
    "打字复印部": "Copy Center",
    "数码耗材经营部": "Digital Supplies Store",
    "电脑": "Computer",
    "科技": "Technology",
    "信息技术": "Information Technology",
    "网络工程": "Network Engineering",
    "贸易": "Trading",
    "商贸": "Commerce and Trade",
    "办公设备": "Office Equipment",
    "印务": "Printing",
    "彩印": "Color Printing",
    "广告": "Advertising",
    "文化传媒": "Culture Media",
    "教育咨询": "Education Consulting",
    "装饰工程": "Decoration Engineering",
    "电子": "Electronics",
}
LEGAL_FORM_ENGLISH = {"有限公司": "Co., Ltd.", "股份有限公司": "Co., Ltd."}

#: Characters that look alike (形近字): a clerk reading a handwritten form picks the other.
LOOKALIKES = {
    "王": "玉",
    "玉": "王",
    "李": "季",
    "陈": "阵",
    "杨": "扬",
    "刘": "浏",
    "吴": "昊",
    "金": "全",
    "天": "夭",
    "永": "水",
    "元": "无",
    "广": "厂",
    "正": "止",
    "大": "太",
    "光": "先",
    "明": "朋",
    "平": "乎",
    "博": "搏",
    "海": "悔",
    "伟": "纬",
    "军": "车",
    "超": "起",
    "玲": "铃",
    "峰": "锋",
    "宇": "字",
    "东": "车",
    "中": "申",
    "帆": "帜",
    "晨": "晟",
    "红": "江",
}

#: Office towers and residential compounds an address may name before the room.
BUILDINGS = ("金山大厦", "国贸大厦", "世纪中心", "天安数码城", "海景广场", "创业大厦", "银座")
COMPOUNDS = ("阳光花园", "翠苑小区", "锦绣家园", "滨江新村", "书香苑")
TWO_NUMBER_SEPARATORS = ("/", "/", "、", ";", " ", "，")


@dataclass
class Marks:
    """The cases one source row carries: on the record itself, and on the contact it names."""

    record: list[str] = field(default_factory=list)
    contact: list[str] = field(default_factory=list)

    def add(self, case: str, *, contact: bool = False) -> None:
        target = self.contact if contact else self.record
        if case not in target:
            target.append(case)


def lookalike_typo(text: str, rng: random.Random) -> str | None:
    """``text`` with one character replaced by a look-alike, or None when it has none."""
    positions = [i for i, ch in enumerate(text) if ch in LOOKALIKES]
    if not positions:
        return None
    i = rng.choice(positions)
    return text[:i] + LOOKALIKES[text[i]] + text[i + 1 :]


def transposed(mobile: str, rng: random.Random) -> str:
    """A mobile with two neighbouring digits after the carrier prefix swapped (they differ)."""
    spots = [i for i in range(3, len(mobile) - 1) if mobile[i] != mobile[i + 1]]
    i = rng.choice(spots) if spots else 3
    return mobile[:i] + mobile[i + 1] + mobile[i] + mobile[i + 2 :]


def missing_digit(local: str, rng: random.Random) -> str:
    """A local landline number with one digit left out."""
    i = rng.randrange(1, len(local))
    return local[:i] + local[i + 1 :]


def with_extension(cell: str, rng: random.Random) -> str:
    """A landline cell with an extension: 转8001, ext. 8001, 分机8001."""
    ext = f"{rng.randint(1, 89) * 100 + rng.randint(1, 99)}"
    style = rng.random()
    if style < 0.5:
        return f"{cell}转{ext}"
    if style < 0.8:
        return f"{cell} ext. {ext}"
    return f"{cell} 分机{ext}"


def two_numbers(first: str, second: str, rng: random.Random) -> str:
    """Two mobiles in one cell, the customer's own first or second: 138…/139…."""
    pair = (first, second) if rng.random() < 0.7 else (second, first)
    return rng.choice(TWO_NUMBER_SEPARATORS).join(pair)


def building_of(entity_type: str, rng: random.Random) -> str:
    """Building and room: 金山大厦A座1205室 (offices) or 阳光花园3栋502室 (homes)."""
    floor, room = rng.randint(2, 28), rng.randint(1, 20)
    if entity_type == "company":
        wing = rng.choice(("", "A座", "B座", "东楼"))
        return f"{rng.choice(BUILDINGS)}{wing}{floor}{room:02d}室"
    return f"{rng.choice(COMPOUNDS)}{rng.randint(1, 30)}栋{floor}{room:02d}室"


# --- Latin script ---------------------------------------------------------------------
_PINYIN: dict[str, str] = {}


def pinyin_of(text: str) -> list[str]:
    """One syllable per character (pypinyin's reading of the character alone)."""
    missing = [ch for ch in dict.fromkeys(text) if ch not in _PINYIN]
    if missing:
        from pypinyin import lazy_pinyin

        for ch in missing:
            _PINYIN[ch] = lazy_pinyin(ch)[0]
    return [_PINYIN[ch] for ch in text]


def _word(text: str) -> str:
    return "".join(pinyin_of(text)).capitalize()


def latin_person_name(name: str, rng: random.Random) -> str:
    """A person's name in pinyin: Zhang Wei, WANG Xiaoming, Xiaoming Wang, ZHANG WEI."""
    surname, given = _word(name[0]), _word(name[1:])
    roll = rng.random()
    if roll < 0.45:
        return f"{surname} {given}"
    if roll < 0.7:
        return f"{surname.upper()} {given}"
    if roll < 0.85:
        return f"{given} {surname}"
    return f"{surname} {given}".upper()


def latin_company_name(
    city_short: str, brand: str, trade: str, legal_form: str | None, rng: random.Random
) -> str:
    """A company's name as the key-account team types it in Latin script.

    English: "Xiamen Kuaixin Computer Co., Ltd.", "Kuaixin Computer (Xiamen) Co., Ltd.";
    pinyin: "KUAIXIN DIANNAO (XIAMEN) CO LTD", "Xiamen Honglai Wenyindian".
    """
    city, brand_py = _word(city_short), _word(brand)
    english = TRADE_ENGLISH.get(trade, _word(trade))
    form = LEGAL_FORM_ENGLISH.get(legal_form or "", "")
    roll = rng.random()
    if roll < 0.45:
        return f"{city} {brand_py} {english} {form}".strip()
    if roll < 0.65:
        return f"{brand_py} {english} ({city}) {form}".strip()
    pinyin = f"{brand_py} {_word(trade)} ({city}) {'CO LTD' if form else ''}".strip()
    if roll < 0.9:
        return pinyin.upper()
    return f"{city} {brand_py} {_word(trade)}"


def latin_branch_suffix(city_short: str) -> str:
    """'福州' → ' Fuzhou Branch'."""
    return f" {_word(city_short)} Branch"

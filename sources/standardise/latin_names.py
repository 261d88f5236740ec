"""A Latin-script form of every name, so a name typed in pinyin or English meets its Chinese one.

The key-account team types customers as the customers write themselves abroad:
'Xiamen Kuaixin Computer Co., Ltd.' or 'KUAIXIN DIANNAO (XIAMEN) CO LTD' for
厦门快心电脑有限公司, 'Zhang Wei' or 'WANG Xiaoming' for 张伟 and 王晓明. Neither shares a
character with the Chinese spelling. Their Latin forms do:

- a company: the pinyin of its name core, written as one word ('kuaixindiannao'); an
  English or pinyin name loses its legal form (Co., Ltd., Limited, Inc.), its place
  words (Xiamen, Fujian, China: the same places the Chinese core loses) and filler
  ('and', '&'), and the English trade words a small dictionary knows go back to pinyin
  (computer → diannao, technology → keji, trading → maoyi), so all three spellings above
  are 'kuaixindiannao'. A trade word the dictionary does not know stays English, and
  that pair is then not found by this form (the other evidence still counts);
- a person: surname, then given name, in pinyin ('zhang wei', 'wang xiaoming'). A name
  typed in Latin letters is put in that order by its surname: a word in capitals
  ('WANG Xiaoming'), else a known surname first ('Zhang Wei'), else a known surname
  last ('Xiaoming Wang'). 'Wei Zhang' stays as typed, since 魏 is a surname too: the
  matcher compares person forms in either order. A surname takes its surname reading
  (曾 'zeng', 单 'shan'), which is how people spell it.
"""

from __future__ import annotations

import functools
import logging
import re

import pandas as pd

from sources.standardise._common import map_unique
from sources.standardise._places import COUNTY, spellings
from sources.standardise.surnames import SURNAME_READINGS, SURNAMES, surname_of
from sources.standardise.text import normalise_one, normalise_text, pinyin_one, to_pinyin

logger = logging.getLogger(__name__)

_CJK = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"[a-z0-9]+")
_APOSTROPHE = re.compile(r"['’`]")

#: English trade words (and phrases) → the pinyin of the Chinese word they translate.
TRADE_WORDS = {
    "science and technology": "keji",
    "sci tech": "keji",
    "information technology": "xinxijishu",
    "import and export": "jinchukou",
    "real estate": "fangdichan",
    "supply chain": "gongyinglian",
    "building materials": "jiancai",
    "office equipment": "bangongshebei",
    "office supplies": "bangongyongpin",
    "commerce and trade": "shangmao",
    "commercial and trading": "shangmao",
    "color printing": "caiyin",
    "colour printing": "caiyin",
    "culture media": "wenhuachuanmei",
    "cultural media": "wenhuachuanmei",
    "computer": "diannao",
    "computers": "diannao",
    "technology": "keji",
    "technologies": "keji",
    "tech": "keji",
    "trading": "maoyi",
    "trade": "maoyi",
    "commerce": "shangmao",
    "commercial": "shangmao",
    "electronics": "dianzi",
    "electronic": "dianzi",
    "electric": "dianqi",
    "electrical": "dianqi",
    "software": "ruanjian",
    "information": "xinxi",
    "network": "wangluo",
    "networks": "wangluo",
    "engineering": "gongcheng",
    "logistics": "wuliu",
    "industrial": "shiye",
    "industry": "gongye",
    "development": "fazhan",
    "investment": "touzi",
    "consulting": "zixun",
    "consultancy": "zixun",
    "construction": "jianshe",
    "decoration": "zhuangshi",
    "materials": "cailiao",
    "machinery": "jixie",
    "equipment": "shebei",
    "food": "shipin",
    "foods": "shipin",
    "culture": "wenhua",
    "cultural": "wenhua",
    "media": "chuanmei",
    "advertising": "guanggao",
    "printing": "yinwu",
    "garment": "fuzhuang",
    "garments": "fuzhuang",
    "clothing": "fuzhuang",
    "apparel": "fuzhuang",
    "catering": "canyin",
    "hotel": "jiudian",
    "pharmaceutical": "yiyao",
    "pharmaceuticals": "yiyao",
    "medical": "yiliao",
    "environmental": "huanbao",
    "energy": "nengyuan",
    "automation": "zidonghua",
    "digital": "shuma",
    "communication": "tongxin",
    "communications": "tongxin",
    "chemical": "huagong",
    "chemicals": "huagong",
    "textile": "fangzhi",
    "textiles": "fangzhi",
    "furniture": "jiaju",
    "education": "jiaoyu",
    "educational": "jiaoyu",
    "holding": "konggu",
    "holdings": "konggu",
    "group": "jituan",
    "property": "wuye",
    "automobile": "qiche",
    "auto": "qiche",
    "instrument": "yiqi",
    "instruments": "yiqi",
    "service": "fuwu",
    "services": "fuwu",
    "management": "guanli",
    "design": "sheji",
    "intelligent": "zhineng",
    "smart": "zhineng",
    "security": "anfang",
    "lighting": "zhaoming",
    "optoelectronics": "guangdian",
    "photoelectric": "guangdian",
    "enterprise": "qiye",
    "store": "dian",
    "shop": "dian",
    "supermarket": "chaoshi",
    "restaurant": "canting",
    "studio": "gongzuoshi",
    "factory": "chang",
}
#: Legal forms, branch words and filler: not part of what names the company.
DROPPED_WORDS = frozenset(
    "co company ltd limited corp corporation inc incorporated llc plc lp the and of"
    " branch office representative sub".split()
)
_PHRASE_MAX = max(len(k.split()) for k in TRADE_WORDS)


@functools.lru_cache(maxsize=1)
def place_words() -> frozenset[str]:
    """Places a company name may carry, as one pinyin word each ('xiamen', 'fujian'): the
    provinces, cities and county-level cities, short and full ('xiamenshi'), and China."""
    names = [
        text
        for text, readings in spellings().items()
        if any(r.division.rank < COUNTY or r.division.name.endswith("市") for r in readings)
    ]
    pinyin = to_pinyin(pd.Series(names, dtype=object)).str.replace(" ", "", regex=False)
    return frozenset(pinyin.dropna()) | {"china", "zhongguo", "prc", "hongkong", "hk", "macau"}


def _latin_company(text: str) -> str | None:
    words = _WORD.findall(_APOSTROPHE.sub("", text.lower().replace("&", " and ")))
    out: list[str] = []
    i = 0
    while i < len(words):
        for n in range(min(_PHRASE_MAX, len(words) - i), 0, -1):
            phrase = " ".join(words[i : i + n])
            if phrase in TRADE_WORDS:
                out.append(TRADE_WORDS[phrase])
                i += n
                break
        else:
            if words[i] not in DROPPED_WORDS:
                out.append(words[i])
            i += 1
    places = place_words()
    while len(out) > 1 and out[0] in places:
        out.pop(0)
    while len(out) > 1 and out[-1] in places:
        out.pop()
    return "".join(out) or None


def _latin_company_of(core: str | None, pinyin: str | None) -> str | None:
    """One core's Latin form, given its pinyin (``to_pinyin``; read only for Chinese)."""
    if core is None:
        return None
    if _CJK.search(core):
        return None if pinyin is None else pinyin.replace(" ", "")
    return _latin_company(core)


def _company_unique(values: pd.Series) -> pd.Series:
    pinyin = to_pinyin(values)
    return pd.Series(
        [_latin_company_of(*pair) for pair in zip(values, pinyin, strict=True)], dtype=object
    )


def latin_company_name(core: str | None) -> str | None:
    """``latin_company_names`` of one value (the duplicate check's form field), without pandas."""
    return _latin_company_of(core, pinyin_one(core))


def latin_company_names(cores: pd.Series) -> pd.Series:
    """The comparable Latin form of company name cores, in one word.

    Args:
        cores: company name cores (``name_core``: without the leading place and the
            legal form), in Chinese or Latin script.
    Returns:
        Lower-case ASCII aligned to ``cores``, None where there is no name.

    Examples:
        >>> latin_company_names(pd.Series(["快心电脑", "Xiamen Kuaixin Computer",
        ...                                 "KUAIXIN DIANNAO (XIAMEN) CO LTD"])).tolist()
        ['kuaixindiannao', 'kuaixindiannao', 'kuaixindiannao']
    """
    return map_unique(cores, _company_unique)


@functools.lru_cache(maxsize=1)
def _surname_pinyin() -> frozenset[str]:
    chars = sorted(SURNAMES)
    pinyin = to_pinyin(pd.Series(chars, dtype=object)).tolist()
    return frozenset(SURNAME_READINGS.get(c, p) for c, p in zip(chars, pinyin, strict=True))


def _chinese_person(name: str, pinyin: str) -> str | None:
    syllables = pinyin.split()
    if "·" in name or len(syllables) != len(name):  # '买买提·艾力', or a '?' that was lost
        return " ".join(syllables) or None
    surname = surname_of(name)
    if surname is None:
        return "".join(syllables) or None
    n = len(surname)
    family = SURNAME_READINGS.get(surname) or "".join(syllables[:n])
    given = "".join(syllables[n:])
    return f"{family} {given}" if given else family


def _latin_person(name: str) -> str | None:
    words = [w for w in re.split(r"[\s,.]+", name.strip()) if w]
    words = [w.replace("-", "").replace("'", "") for w in words]
    if not words:
        return None
    lower = [w.lower() for w in words]
    if len(words) == 1:
        return lower[0]
    capitals = [i for i, w in enumerate(words) if len(w) > 1 and w.isupper()]
    known = _surname_pinyin()
    if len(capitals) == 1 and len(words) > 1:
        at = capitals[0]
    elif lower[0] in known:
        at = 0
    elif lower[-1] in known:
        at = len(words) - 1
    else:
        at = 0
    given = "".join(w for i, w in enumerate(lower) if i != at)
    return f"{lower[at]} {given}"


def _latin_person_of(name: str | None, pinyin: str | None) -> str | None:
    """One normalised name's Latin form, given its pinyin (``to_pinyin``; read only for
    Chinese)."""
    if name is None:
        return None
    if _CJK.search(name):
        return _chinese_person(name, pinyin or "")
    return _latin_person(name)


def _person_unique(values: pd.Series) -> pd.Series:
    text = normalise_text(values)
    pinyin = to_pinyin(text)
    return pd.Series(
        [_latin_person_of(*pair) for pair in zip(text, pinyin, strict=True)], dtype=object
    )


def latin_person_name(name: str | None) -> str | None:
    """``latin_person_names`` of one value (the duplicate check's form field), without pandas."""
    text = normalise_one(name)
    return _latin_person_of(text, pinyin_one(text))


def latin_person_names(names: pd.Series) -> pd.Series:
    """The Latin form of person names: 'surname given' in lower-case pinyin.

    Examples:
        >>> latin_person_names(pd.Series(["王晓明", "WANG Xiaoming", "Xiaoming Wang",
        ...                                "曾伟", "Zhang Wei"])).tolist()
        ['wang xiaoming', 'wang xiaoming', 'wang xiaoming', 'zeng wei', 'zhang wei']
    """
    return map_unique(names, _person_unique)

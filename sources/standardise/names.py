"""Company and person names: the comparable core of a name, apart from its trimmings.

Two exports of the same company rarely spell it the same way: '厦门市快心电脑有限责任公司',
'快心电脑(厦门)有限公司' and '快心电脑有限公司' are one customer. Splitting a company name
into its core ('快心电脑'), its legal form ('有限公司') and the place it names ('厦门')
lets the matcher compare what actually identifies the company.

Decisions worth knowing:
- '有限责任公司' is the same legal form as '有限公司' and is written as '有限公司'.
- '集团' stays in the core: a group ('建发集团有限公司') is a different legal entity
  from its subsidiaries ('建发股份有限公司') and must not be made to look alike.
- Shop-style suffixes (店, 商行, 门市部, 经营部, 工作室, 个体工商户) are not legal forms
  and stay in the core.
- A branch ('华为技术有限公司厦门分公司') has legal form '分公司', the parent's core
  ('华为技术') and the branch's place as region ('厦门').
- A leading place name is stripped only when at least two meaningful characters stay
  behind, so '中山装店' keeps its core while '厦门洪来文印店' becomes '洪来文印店'.
"""

from __future__ import annotations

import functools
import logging
import re

import pandas as pd

from sources.standardise._common import map_unique
from sources.standardise._places import COUNTY, PrefixMatcher, spellings
from sources.standardise.text import normalise_one, normalise_text

logger = logging.getLogger(__name__)

COMPANY_COLUMNS = ["name", "name_core", "legal_form", "name_region"]

#: Chinese legal-form suffixes, longest first, with their canonical spelling.
_CN_FORMS = (
    ("合伙企业(有限合伙)", "合伙企业(有限合伙)"),
    ("合伙企业(普通合伙)", "合伙企业(普通合伙)"),
    ("(有限合伙)", "合伙企业(有限合伙)"),
    ("(普通合伙)", "合伙企业(普通合伙)"),
    ("有限合伙企业", "合伙企业(有限合伙)"),
    ("普通合伙企业", "合伙企业(普通合伙)"),
    ("股份有限公司", "股份有限公司"),
    ("有限责任公司", "有限公司"),
    ("个人独资企业", "个人独资企业"),
    ("有限公司", "有限公司"),
    ("合伙企业", "合伙企业"),
    ("公司", "公司"),
)
_CN_FORM_ENDINGS = ("公司", "合伙)", "企业")
_CN_FORM_BY_SUFFIX = dict(_CN_FORMS)
_CN_FORM_LENGTHS = sorted({len(suffix) for suffix, _ in _CN_FORMS}, reverse=True)
_INNER_FORMS = ("股份有限公司", "有限责任公司", "有限公司", "公司")
_EN_FORM_RX = re.compile(
    r"[\s,]*\b(?P<en>co\.?\s*,?\s*ltd\.?|company\s+limited|co\.?\s*,?\s*limited|limited|ltd\.?"
    r"|inc\.?|incorporated|l\.?l\.?c\.?|corp\.?|corporation|co\.?)$",
    re.IGNORECASE,
)
_EN_FORM_LAST_OK = frozenset("dDcCpPnNoO.")
_CJK_SPACE = re.compile(r"(?<=[\u3400-\u9fff()])\s+(?=[\u3400-\u9fff()])")
_PAREN = re.compile(r"\(([^()]{1,12})\)")
#: Shop-style endings that do not count as a name when deciding whether a place can go.
_GENERIC_TAIL = (
    "商店",
    "商行",
    "门市部",
    "经营部",
    "工作室",
    "个体工商户",
    "超市",
    "店",
    "厂",
    "部",
    "行",
)
_ROAD_START = re.compile(r"[东西南北中]?[路街道巷弄号]")
_EDGE_JUNK = " ,.-·"


def _english_form(raw: str) -> str:
    key = re.sub(r"[\s.,]", "", raw.lower())
    if key in ("coltd", "companylimited", "colimited"):
        return "Co., Ltd."
    return {
        "limited": "Ltd.",
        "ltd": "Ltd.",
        "inc": "Inc.",
        "incorporated": "Inc.",
        "llc": "LLC",
        "corp": "Corp.",
        "corporation": "Corp.",
        "co": "Co.",
    }.get(key, raw)


@functools.lru_cache(maxsize=1)
def _region_tables() -> tuple[PrefixMatcher, dict[str, tuple[int, str]]]:
    """Place spellings usable in company names → (level, region value), and their matcher.

    Provinces and cities in full or short form; counties only in full ('思明区'), except
    county-level cities whose short form is common in names ('晋江', '义乌').
    """
    table: dict[str, tuple[int, str]] = {}
    for text, readings in spellings().items():
        div, is_short, _ = readings[0]
        if div.rank == COUNTY and len(text) < 3 and not is_short:
            continue
        if div.rank == COUNTY and is_short and not div.name.endswith("市"):
            continue
        table[text] = (div.rank, div.short)
    return PrefixMatcher(list(table)), table


def _without_generic_tail(text: str) -> str:
    while text.endswith(_GENERIC_TAIL):
        text = text[: -len(next(t for t in _GENERIC_TAIL if text.endswith(t)))]
    return text


def _is_name(rest: str) -> bool:
    """Whether what follows a place is a name of its own (two characters beyond shop words)."""
    if len(rest) < 2 or _ROAD_START.match(rest):
        return False
    if "(" in rest:
        rest = _PAREN.sub("", rest)
    return len(rest) >= 8 or len(_without_generic_tail(rest)) >= 2


def _strip_prefix_places(body: str, found: list[tuple[int, str]], keep_core: bool = True) -> str:
    """Remove leading place names; with ``keep_core``, only while a real name stays behind."""
    matcher, table = _region_tables()
    pos = 0
    while word := matcher.match(body, pos):
        rest = body[pos + len(word) :].lstrip()
        if keep_core and not _is_name(rest):
            break
        found.append(table[word])
        pos = len(body) - len(rest)
    return body[pos:]


def _legal_form(text: str) -> tuple[str, str | None, str, str]:
    """(body, canonical legal form, branch place, cleaned full name) of one name."""
    if text.endswith("分公司") and len(text) > 3:
        head = text[:-3]
        for inner in _INNER_FORMS:
            at = head.find(inner)
            if at > 0:
                place = head[at + len(inner) :]
                canonical = "有限公司" if inner == "有限责任公司" else inner
                return head[:at], "分公司", place, head[:at] + canonical + place + "分公司"
        # no legal form before the branch's place ('上海城越广告北京分公司'): the place
        # the name ends in is the branch's, not part of the parent's name
        _, table = _region_tables()
        for n in range(min(len(head) - 2, 8), 1, -1):
            if head[-n:] in table:
                return head[:-n], "分公司", head[-n:], text
        return head, "分公司", "", text
    if text.endswith(_CN_FORM_ENDINGS):
        for n in _CN_FORM_LENGTHS:
            form = _CN_FORM_BY_SUFFIX.get(text[-n:])
            if form is not None and len(text) > n:
                body = text[:-n]
                return body, form, "", body + form
    if text[-1] in _EN_FORM_LAST_OK and (m := _EN_FORM_RX.search(text)) and m.start() > 0:
        body = text[: m.start()].rstrip(" ,")
        form = _english_form(m["en"])
        return body, form, "", f"{body} {form}"
    return text, None, "", text


def _split_one(text: str | None) -> tuple[str | None, str | None, str | None, str | None]:
    if not text:
        return None, None, None, None
    if " " in text:
        text = _CJK_SPACE.sub("", text)
    body, form, branch_place, name = _legal_form(text)
    found: list[tuple[int, str]] = []
    if branch_place:
        _strip_prefix_places(branch_place, found, keep_core=False)
    core = body
    if "(" in body:
        _, table = _region_tables()
        for m in _PAREN.finditer(body):
            hit = table.get(m.group(1).strip())
            if hit is not None:
                found.append(hit)
                core = core.replace(m.group(0), "")
    core = _strip_prefix_places(core, found).strip(_EDGE_JUNK)
    if not core:  # nothing but a place: the place is the name
        core, found = body.strip(_EDGE_JUNK), []
    region = None
    if found:
        region = found[0][1] if len(found) == 1 else max(found, key=lambda f: f[0])[1]
    return name, core or None, form, region


def _split_unique(values: pd.Series) -> pd.DataFrame:
    rows = [_split_one(v) for v in values]
    return pd.DataFrame(rows, columns=COMPANY_COLUMNS, dtype=object)


def split_company_names(s: pd.Series) -> pd.DataFrame:
    """Split normalised company names into name, core, legal form and region.

    Args:
        s: company names already passed through ``normalise_text``.
    Returns:
        A frame aligned to ``s`` with ``name`` (cleaned full name, legal form written
        canonically), ``name_core`` (without place and legal form), ``legal_form`` and
        ``name_region`` (the most specific place named, short form: '厦门'); None where
        the input is empty or the part is absent.

    Examples:
        >>> split_company_names(pd.Series(["福建省厦门市快心电脑有限责任公司"])).iloc[0].tolist()
        ['福建省厦门市快心电脑有限公司', '快心电脑', '有限公司', '厦门']
    """
    return map_unique(s, _split_unique)


_HONORIFIC = re.compile(r"(?<=\S)\s*(?:先生|女士|小姐)$")
_LATIN_TITLE = re.compile(r"^(?:mr|mrs|ms|miss|dr)\.?\s+", re.IGNORECASE)
_DOTS = re.compile(r"\s*[•・‧∙·.]\s*(?=[\u3400-\u9fff])")
_HAS_CJK = re.compile(r"[\u3400-\u9fff]")


def _person_name(text: str | None) -> str | None:
    """One normalised person name cleaned (None when nothing is left)."""
    if text is None:
        return None
    if _HAS_CJK.search(text):
        text = _HONORIFIC.sub("", _DOTS.sub("·", _CJK_SPACE.sub("", text)))
    else:
        text = _LATIN_TITLE.sub("", text).title()
    return text or None


def _person_unique(values: pd.Series) -> pd.Series:
    return pd.Series([_person_name(t) for t in normalise_text(values)], dtype=object)


def clean_person_name(name: str | None) -> str | None:
    """``clean_person_names`` of one value (the duplicate check's form field), without pandas."""
    return _person_name(normalise_one(name))


def split_company_name(name: str | None) -> tuple[str | None, str | None, str | None, str | None]:
    """``split_company_names`` of one value already normalised: (name, core, legal form,
    region), without pandas."""
    return _split_one(name)


def clean_person_names(s: pd.Series) -> pd.Series:
    """Person names as one spelling: simplified, no inner spaces, no courtesy titles.

    Chinese names lose spaces between characters ('张 伟' → '张伟') and a trailing
    先生/女士/小姐 ('王先生' → '王', which is all the export knew). Job titles (经理, 总)
    are kept: stripping them guesses too much. Latin names are title-cased with single
    spaces and lose a leading Mr/Ms/Dr.

    Examples:
        >>> clean_person_names(pd.Series(["張 偉", "李女士", "  JOHN   smith "])).tolist()
        ['张伟', '李', 'John Smith']
    """
    return map_unique(s, _person_unique)

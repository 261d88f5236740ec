"""What kind of business a company name says it is: a branch of another, or a person's shop.

Two kinds of customer look like another customer by name and are not that customer:

- a **branch** ('华为技术有限公司福州分公司', '快心电脑湖里分店', '快心电脑厦门办事处',
  'Kuaixin Computer Co., Ltd. Fuzhou Branch') is its own customer, related to its
  head office ('华为技术有限公司'), and must never merge with it. The markers are
  分公司, 分店, 分厂, 分行, 支行, 办事处, 代表处 and 'Branch' / 'Representative Office'
  at the end of the name; the head office's name is what comes before them, without
  the branch's place ('福州', '(福州)', '湖里');
- an **individual business** (个体工商户) is registered to one person and usually
  named after the owner: '张伟文印店', '王建华五金店', or just '张伟'. It is another
  customer than its owner, related to them. It is recognised by the words 个体工商户 /
  个体户, or by a shop ending (店, 行, 部, 厂 and the longer 商店, 商行, 经营部, 门市部…)
  after a name that starts with a surname and has no legal form, by such a name
  followed by one trade word and nothing else ('杨秀图文'), or by a bare two- or
  three-character name that starts with a surname. The owner's name is a
  candidate, not a fact ('洪来文印店' reads as a shop of someone called 洪来): the
  relationship is made only where a person customer of that name is found beside it.

Companies with a legal form (有限公司, 股份有限公司, Co., Ltd.) are ``company``;
partnerships and sole proprietorships (合伙企业, 个人独资企业) are named as such.
"""

from __future__ import annotations

import functools
import logging
import re

import pandas as pd

from sources.standardise._common import map_unique
from sources.standardise._places import spellings
from sources.standardise.latin_names import place_words
from sources.standardise.surnames import surname_of

logger = logging.getLogger(__name__)

BUSINESS_COLUMNS = ["is_branch", "branch_of_name", "business_kind", "business_owner_name"]
COMPANY, INDIVIDUAL, PARTNERSHIP, SOLE = (
    "company",
    "individual_business",
    "partnership",
    "sole_proprietorship",
)

_BRANCH_CN = ("分公司", "分店", "分厂", "分行", "支行", "办事处", "代表处")
_BRANCH_EN = re.compile(r"[\s,]*\b(?:branch(?:\s+office)?|representative\s+office)\s*$", re.I)
_TRAILING_PAREN = re.compile(r"\s*\(([^()]{1,12})\)\s*$")
_INDIVIDUAL = re.compile(r"\(?(?:个体工商户|个体户|个体)\)?")
_SHOP_ENDS = (
    "商店",
    "商行",
    "经营部",
    "门市部",
    "批发部",
    "服务部",
    "维修部",
    "加工厂",
    "店",
    "行",
    "部",
    "厂",
)
#: Trade words a shop name carries after its owner's name (to tell '张伟|文印店' from
#: '王建华|五金店': an owner's name is two or three characters).
SHOP_TRADES = (
    "文印 图文 快印 打印 复印 打字 五金 建材 电器 家电 百货 超市 便利 副食 粮油 烟酒 日杂 杂货 茶叶"
    " 水果 蔬菜 海鲜 食品 小吃 餐饮 饭店 面馆 烧烤 火锅 早餐 服装 服饰 时装 鞋 箱包 化妆品 母婴"
    " 眼镜 钟表 文具 书 花 鲜花 蛋糕 面包 药 美发 理发 美容 照相 摄影 装饰 装修 维修 修理 汽修"
    " 汽配 摩托 电动车 自行车 家具 灯饰 陶瓷 布艺 窗帘 家纺 广告 电脑 手机 通讯 数码 耗材 办公"
    " 印务 彩印 机电 水暖 电子 批发 商贸 贸易 干洗 洗衣 宠物 酒 米 肉 菜"
).split()
_TRADE_HEADS = {t[0] for t in SHOP_TRADES}
_TRADE_WORDS = frozenset(SHOP_TRADES)


@functools.lru_cache(maxsize=1)
def _place_suffixes() -> tuple[frozenset[str], tuple[int, ...]]:
    names = frozenset(t for t in spellings() if len(t) >= 2)
    return names, tuple(sorted({len(t) for t in names}, reverse=True))


def _strip_trailing_places(text: str) -> str:
    """'华为技术有限公司福建省福州市' → '华为技术有限公司'; '快心电脑(厦门)' → '快心电脑'."""
    names, lengths = _place_suffixes()
    latin_places = place_words()
    while True:
        if m := _TRAILING_PAREN.search(text):
            inner = m.group(1).strip()
            if inner in names or inner.lower().replace(" ", "") in latin_places:
                text = text[: m.start()]
                continue
        words = text.split()
        if len(words) > 1 and words[-1].lower().strip(",.") in latin_places:
            text = " ".join(words[:-1])
            continue
        cut = next((n for n in lengths if len(text) > n + 1 and text[-n:] in names), None)
        if cut is None:
            return text.strip(" ,-·")
        text = text[:-cut]


def _branch(name: str) -> tuple[bool, str | None]:
    """Whether the name is a branch's, and its head office's name."""
    body = name
    marker = next((m for m in _BRANCH_CN if body.endswith(m)), None)
    if marker is not None:
        body = body[: -len(marker)]
    elif m := _BRANCH_EN.search(body):
        body = body[: m.start()]
    else:
        return False, None
    head = _strip_trailing_places(body)
    return True, head if len(head) >= 2 else None


def _owner(core: str) -> str | None:
    """The owner's name at the start of a shop's name core, when it starts with a surname."""
    end = next((e for e in _SHOP_ENDS if core.endswith(e)), None)
    if end is None:
        return None
    body = core[: -len(end)]
    surname = surname_of(body)
    if surname is None:
        return None
    n = len(surname)
    for size in (n + 2, n + 1):  # a trade word right after the name decides its length
        rest = body[size:]
        if (
            len(body) >= size
            and rest[:1] in _TRADE_HEADS
            and any(rest.startswith(t) for t in SHOP_TRADES)
        ):
            return body[:size]
    if len(body) in (n + 1, n + 2):  # '张伟店': the shop is the name
        return body
    return body[: n + 2] if len(body) - (n + 2) >= 2 else body[: n + 1]


def _name_and_trade(core: str) -> str | None:
    """'杨秀图文' → '杨秀': a shop named by its owner and one trade word, no shop ending."""
    surname = surname_of(core)
    if surname is None:
        return None
    n = len(surname)
    return next((core[:s] for s in (n + 2, n + 1) if core[s:] in _TRADE_WORDS), None)


_CJK_NAME = re.compile(r"^[\u3400-\u9fff]{2,4}$")


def _one(name: str | None, core: str | None, form: str | None) -> tuple:
    if not name:
        return None, None, None, None
    is_branch, head = _branch(name)
    owner: str | None = None
    kind: str | None
    if form in ("合伙企业", "合伙企业(有限合伙)", "合伙企业(普通合伙)"):
        kind = PARTNERSHIP
    elif form == "个人独资企业":
        kind = SOLE
    elif form is not None:
        kind = COMPANY
    elif _INDIVIDUAL.search(name):
        kind = INDIVIDUAL
        rest = _INDIVIDUAL.sub("", core or name).strip(" ()")
        owner = rest if _CJK_NAME.match(rest) and surname_of(rest) else _owner(rest)
    elif core and _CJK_NAME.match(core) and len(core) <= 3 and surname_of(core):
        kind, owner = INDIVIDUAL, core  # a business registered under its owner's name
    elif core and (owner := _owner(core) or _name_and_trade(core)) is not None:
        kind = INDIVIDUAL
    else:
        kind = COMPANY if is_branch else None
    return is_branch, head, kind, owner


def business_kind_of(name: str | None, core: str | None, form: str | None) -> tuple:
    """``recognise_business_kinds`` of one company name (as ``split_company_name`` gives
    it), without pandas: (is_branch, branch_of_name, business_kind, business_owner_name)."""
    if name is None:
        return False, None, None, None
    return _one(name, core or None, form or None)


def recognise_business_kinds(companies: pd.DataFrame) -> pd.DataFrame:
    """Branch and individual-business markers of company names.

    Args:
        companies: ``name`` (cleaned full name), ``name_core`` and ``legal_form`` as
            ``split_company_names`` gives them.
    Returns:
        A frame aligned to ``companies``: ``is_branch`` (bool), ``branch_of_name`` (the
        head office's name, None when not a branch or not told), ``business_kind``
        (company / individual_business / partnership / sole_proprietorship, None when
        the name does not say) and ``business_owner_name`` (the owner an individual
        business is named after, a candidate).

    Examples:
        >>> names = ["华为技术有限公司福州分公司", "张伟文印店"]
        >>> from sources.standardise import split_company_names
        >>> recognise_business_kinds(split_company_names(pd.Series(names))).values.tolist()
        [[True, '华为技术有限公司', 'company', None], [False, None, 'individual_business', '张伟']]
    """
    if companies.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in BUSINESS_COLUMNS})
    key = companies["name"].fillna("") + "\x1f" + companies["name_core"].fillna("") + "\x1f"
    key = key + companies["legal_form"].fillna("")
    key = key.where(companies["name"].notna(), None)

    def unique(values: pd.Series) -> pd.DataFrame:
        rows = []
        for v in values:
            name, core, form = v.split("\x1f")
            rows.append(_one(name, core or None, form or None))
        return pd.DataFrame(rows, columns=BUSINESS_COLUMNS, dtype=object)

    out = map_unique(key, unique)
    out["is_branch"] = out["is_branch"].eq(True)
    return out

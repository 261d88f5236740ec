"""Benchmark: each standardiser on 1,000,000 synthetic values (~60% distinct).

Values are built deterministically (seed 20261101) in the shapes real exports have:
mixed phone formats with 10% local numbers and garbage, company names with place
prefixes, parentheses, traditional and full-width forms, and so on. Each function is
timed three times after a small warm-up (one-off table builds are reported apart);
the median is printed as values per second.

    .venv/bin/python benchmarks/bench_standardise.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sources import standardise as st  # noqa: E402
from sources.standardise._places import CITY, COUNTY, divisions  # noqa: E402

logger = logging.getLogger("bench_standardise")
SEED = 20261101
SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐許張陳黃趙韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = list(
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂華偉強麗志红建国文华玉兰春梅海燕晓东"
    "小云飞鹏宇浩然子涵欣怡思雨佳琪梓萱一诺俊杰宇轩博文天佑雅婷嘉怡诗涵晨曦家豪振宇"
)
WORDS = list("快心电脑洪来文印华为技术贸易建发科技信息商贸物流餐饮服装建材电子機械實業發展")
TRADES = ["贸易", "科技", "电子", "建材", "餐饮", "文印", "物流", "咨询", "實業", "服装"]
FORMS = ["有限公司", "有限责任公司", "股份有限公司", "（有限合伙）", "店", "商行", "", " Co., Ltd."]
ROADS = ["湖滨南路", "莲前西路", "建国路", "中山路", "人民路", "解放大道", "思明南路"]


def _pool(rng: np.random.Generator, n: int, make: Callable[[np.random.Generator, int], pd.Series]):
    """1M values: ``n`` distinct-ish made values, the rest resampled from them, shuffled."""
    made = make(rng, n)
    extra = made.iloc[rng.integers(0, n, ROWS - n)]
    return pd.Series(
        pd.concat([made, extra]).sample(frac=1.0, random_state=SEED).to_numpy(), dtype=object
    )


def _pick(rng: np.random.Generator, options: list[str], n: int) -> pd.Series:
    return pd.Series(
        np.asarray(options, dtype=object)[rng.integers(0, len(options), n)], dtype=object
    )


def _digits(rng: np.random.Generator, n: int, width: int) -> pd.Series:
    return pd.Series(rng.integers(0, 10**width, n), dtype="int64").astype(str).str.zfill(width)


def make_phones(rng: np.random.Generator, n: int) -> pd.Series:
    mobile = _pick(rng, ["138", "139", "150", "186", "177", "199"], n) + _digits(rng, n, 8)
    area = _pick(rng, ["592", "591", "10", "21", "20", "755"], n)
    local = pd.Series(rng.integers(2, 9, n), dtype="int64").astype(str) + _digits(rng, n, 7)
    shapes = [
        mobile,
        "+86 " + mobile.str[:3] + "-" + mobile.str[3:7] + "-" + mobile.str[7:],
        "0" + area + "-" + local,
        "(0" + area + ")" + local,
        "+86 " + area + " " + local,
        local,
        "400-" + _digits(rng, n, 3) + "-" + _digits(rng, n, 4),
        "0" + area + "-" + local + "转12",
        "0086" + mobile,
        pd.Series(["n/a"] * n, dtype=object),
    ]
    which = rng.choice(len(shapes), n, p=[0.3, 0.1, 0.15, 0.05, 0.05, 0.1, 0.05, 0.05, 0.05, 0.1])
    return pd.Series(np.choose(which, [s.to_numpy() for s in shapes]), dtype=object)


def make_company_names(rng: np.random.Generator, n: int) -> pd.Series:
    places = [d.short for d in divisions().values() if d.rank == CITY][:80] + ["福建省厦门市", ""]
    core = pd.Series(["".join(w) for w in np.asarray(WORDS)[rng.integers(0, len(WORDS), (n, 4))]])
    core = core + _pick(rng, TRADES, n) + _digits(rng, n, 2)
    place = _pick(rng, places, n)
    paren = rng.random(n) < 0.2
    name = (place + core).where(~paren, core + "（" + place + "）")
    return name + _pick(rng, FORMS, n)


def make_person_names(rng: np.random.Generator, n: int) -> pd.Series:
    """Two- and three-character names, some spaced ('张 伟'), traditional or with 先生/女士."""
    given = (
        _pick(rng, GIVEN, n) + _pick(rng, GIVEN + [""], n) + _pick(rng, GIVEN[:10] + [""] * 90, n)
    )
    spaced = rng.random(n) < 0.1
    name = _pick(rng, SURNAMES, n) + given.where(~spaced, " " + given)
    name = name + _pick(rng, ["", "", "", "", "先生", "女士", " "], n)
    return name.where(rng.random(n) > 0.05, "JOHN  smith" + _digits(rng, n, 3))


def make_emails(rng: np.random.Generator, n: int) -> pd.Series:
    local = _pick(rng, ["li", "wang", "zhang", "sales", "info"], n) + "." + _digits(rng, n, 6)
    email = local + "@" + _pick(rng, ["qq.com", "163.com", "Example.COM", "xm-tech.cn"], n)
    return email.where(rng.random(n) > 0.1, " mailto:" + email.str.upper() + " ")


def make_dates(rng: np.random.Generator, n: int) -> pd.Series:
    """Dates in seven shapes; timestamps carry a time of day, so most values are distinct."""
    seconds = rng.integers(0, 35 * 365 * 86400, n)
    d = pd.Series(pd.Timestamp("1990-01-01") + pd.to_timedelta(seconds, unit="s"))
    shapes = [
        d.dt.strftime("%Y-%m-%d"),
        d.dt.strftime("%Y/%-m/%-d"),
        d.dt.strftime("%Y年%-m月%-d日"),
        d.dt.strftime("%Y%m%d"),
        d.dt.strftime("%Y-%m-%d %H:%M:%S"),
        ((d - pd.Timestamp("1899-12-30")) / pd.Timedelta(days=1)).round(4).astype(str),
        pd.Series(["未知"] * n),
    ]
    which = rng.choice(len(shapes), n, p=[0.15, 0.1, 0.1, 0.05, 0.5, 0.05, 0.05])
    return pd.Series(np.choose(which, [s.to_numpy(dtype=object) for s in shapes]), dtype=object)


def make_uscc(rng: np.random.Generator, n: int) -> pd.Series:
    r = random.Random(SEED)
    codes = pd.Series([st.generate_uscc(r) for _ in range(n)], dtype=object)
    bad = rng.random(n) < 0.05
    return codes.where(~bad, codes.str[:17] + "0").str.lower().where(rng.random(n) > 0.5, codes)


def make_id_numbers(rng: np.random.Generator, n: int) -> pd.Series:
    r = random.Random(SEED)
    born = pd.Timestamp("1950-01-01") + pd.to_timedelta(rng.integers(0, 20000, n), unit="D")
    ids = [st.generate_id_number(r, b, "M" if r.random() < 0.5 else "F") for b in born]
    out = pd.Series(ids, dtype=object)
    return out.where(rng.random(n) > 0.05, "E" + _digits(rng, n, 8))


def make_addresses(rng: np.random.Generator, n: int) -> pd.Series:
    table = divisions()
    counties = [d for d in table.values() if d.rank == COUNTY and d.name != "市辖区"]
    pick = [counties[i] for i in rng.integers(0, len(counties), n)]
    prov = pd.Series([table[d.adcode[:2] + "0000"].name for d in pick], dtype=object)
    city = pd.Series(
        [getattr(table.get(d.adcode[:4] + "00"), "name", "") for d in pick], dtype=object
    )
    city = city.where(city != "市辖区", "")
    dist = pd.Series([d.name for d in pick], dtype=object)
    road = _pick(rng, ROADS, n) + _digits(rng, n, 3).str.lstrip("0") + "号"
    floor = _pick(rng, ["", "5楼", "501室", "A栋1203室"], n)
    shapes = [
        prov + city + dist,
        city + dist,
        city.str[:-1] + dist.str[:-1],
        prov + " " + city + " " + dist,
    ]
    which = rng.choice(len(shapes), n, p=[0.4, 0.3, 0.2, 0.1])
    head = pd.Series(np.choose(which, [s.to_numpy() for s in shapes]), dtype=object)
    return head + road + floor


def make_cores(rng: np.random.Generator, n: int) -> pd.Series:
    """Company name cores: 90% Chinese, 10% English or pinyin as the key-account team types them."""
    chinese = st.split_company_names(st.normalise_text(make_company_names(rng, n)))["name_core"]
    latin = (
        _pick(rng, ["Xiamen ", "Fuzhou ", "", "FUJIAN "], n)
        + _pick(rng, ["Kuaixin", "HONGTU", "Ruifeng", "Xin Da", "Huanan"], n)
        + _digits(rng, n, 3)
        + _pick(rng, [" Computer", " Trading", " Information Technology", " DIANNAO", ""], n)
        + _pick(rng, [" (Xiamen)", "", ""], n)
    )
    return chinese.where(rng.random(n) > 0.1, latin)


def make_latin_person_names(rng: np.random.Generator, n: int) -> pd.Series:
    """Person names: 90% Chinese, 10% in pinyin in either order."""
    chinese = make_person_names(rng, n)
    latin = (
        _pick(rng, ["Zhang", "WANG", "Li", "Chen"], n)
        + " "
        + _pick(rng, ["Wei", "Xiaoming", "Fang", "Jianhua"], n)
        + _digits(rng, n, 2)
    )
    return chinese.where(rng.random(n) > 0.1, latin)


def _business_kinds(s: pd.Series) -> pd.DataFrame:
    return st.recognise_business_kinds(st.split_company_names(s))


def _phones(s: pd.Series) -> pd.DataFrame:
    return st.standardise_phones(s, area_code=pd.Series("592", index=s.index))


CASES: list[tuple[str, Callable[[pd.Series], object], Callable, int]] = [
    ("normalise_text", st.normalise_text, make_company_names, 600_000),
    ("to_pinyin", st.to_pinyin, make_person_names, 600_000),
    ("split_company_names", st.split_company_names, make_company_names, 600_000),
    ("clean_person_names", st.clean_person_names, make_person_names, 600_000),
    (
        "clean_gender",
        st.clean_gender,
        lambda r, n: _pick(r, ["男", "女", "M", "female", "先生", "?"], n),
        6,
    ),
    ("standardise_phones", _phones, make_phones, 600_000),
    (
        "area_code_for_city",
        st.area_code_for_city,
        lambda r, n: _pick(r, [d.name for d in divisions().values()], n),
        3_000,
    ),
    ("standardise_emails", st.standardise_emails, make_emails, 600_000),
    ("standardise_uscc", st.standardise_uscc, make_uscc, 600_000),
    ("standardise_id_numbers", st.standardise_id_numbers, make_id_numbers, 600_000),
    ("parse_addresses", st.parse_addresses, make_addresses, 600_000),
    ("parse_dates", st.parse_dates, make_dates, 600_000),
    (
        "parse_amounts",
        st.parse_amounts,
        lambda r, n: _digits(r, n, 6).str.lstrip("0") + _pick(r, ["", ".50", "万", "元"], n),
        600_000,
    ),
    ("latin_company_names", st.latin_company_names, make_cores, 600_000),
    ("latin_person_names", st.latin_person_names, make_latin_person_names, 600_000),
    # split_company_names, then the branch and individual-business markers on its result
    ("split + business_kinds", _business_kinds, make_company_names, 600_000),
]
ROWS = 1_000_000


def main() -> None:
    global ROWS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--only", default=None, help="run only functions containing this text")
    args = parser.parse_args()
    ROWS = args.rows
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logger.info("%-24s %10s %10s %9s %12s", "function", "rows", "distinct", "median s", "values/s")
    total = 0.0
    for name, func, make, distinct in CASES:
        if args.only and args.only not in name:
            continue
        values = _pool(np.random.default_rng(SEED), max(1, int(distinct * ROWS / 1_000_000)), make)
        started = time.perf_counter()
        func(values.head(1000))  # warm-up: lazy tables (OpenCC, pinyin, place regex)
        warm = time.perf_counter() - started
        times = []
        for _ in range(3):
            started = time.perf_counter()
            func(values)
            times.append(time.perf_counter() - started)
        median = statistics.median(times)
        total += median
        logger.info(
            "%-24s %10d %10d %9.2f %12.0f   (warm-up %.2f s)",
            name,
            len(values),
            values.nunique(),
            median,
            len(values) / median,
            warm,
        )
    logger.info("sum of medians: %.1f s", total)


if __name__ == "__main__":
    main()

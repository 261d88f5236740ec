"""The demo generator: layout and encodings, determinism, exact truth, the hard cases, config."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import random
import re
from collections import Counter, defaultdict
from pathlib import Path

import opencc
import pytest
import python_calamine

from sources.config import load_config
from sources.demo import (
    REFERENCE_DATE,
    dealers,
    demo_config,
    generate_demo,
    key_accounts,
    regional,
    vocabulary,
    write_demo_config,
)
from sources.demo.ids import id_number_is_valid, uscc_is_valid
from sources.demo.places import CITIES
from sources.demo.world import _Builder
from sources.readers import expand_paths, read_export

N, SEED = 300, 11
CONTACT_COLUMN = {"dealers": "联系人", "key_accounts": "Contact Name", "regional": "联系人"}
ID_COLUMN = {"dealers": "客户编号", "key_accounts": "Account ID", "regional": "编号"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("demo")
    return out, generate_demo(out, customers=N, seed=SEED)


def _csv_rows(path: Path, encoding: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode(encoding), newline="")))


def _xlsx_rows(path: Path) -> list[dict[str, object]]:
    sheet = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Accounts")
    header, *rows = sheet.to_python()
    return [dict(zip(header, row, strict=True)) for row in rows]


def _exports(out: Path) -> dict[str, list[dict[str, object]]]:
    """Every customer export's rows, per source."""
    return {
        "dealers": [
            r
            for p in sorted((out / "exports/dealers").glob("*.csv"))
            for r in _csv_rows(p, "gb18030")
        ],
        "key_accounts": _xlsx_rows(out / "exports/key_accounts/key_accounts.xlsx"),
        "regional": [
            r
            for p in sorted((out / "exports/regional").glob("*.csv"))
            for r in _csv_rows(p, "utf-8-sig")
        ],
    }


def _truth(out: Path, name: str) -> list[dict[str, str]]:
    return _csv_rows(out / "truth" / name, "utf-8")


def test_files_follow_the_layout_in_their_declared_encodings(demo):
    out, summary = demo
    dealer_files = sorted((out / "exports/dealers").glob("dealer_*.csv"))
    assert len(dealer_files) == summary.dealers >= 8
    legacy = 0
    for path in dealer_files:
        data = path.read_bytes()
        assert not data.startswith(b"\xef\xbb\xbf")
        header = data.decode("gb18030").splitlines()[0]  # strict: raises on a bad byte
        assert header.split(",") == list(dealers.HEADERS)
        try:
            data.decode("gbk")
            legacy += 1
        except UnicodeDecodeError:
            pass
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
    assert legacy >= 1  # some dealers' software only knows GBK

    regional_files = sorted((out / "exports/regional").glob("*.csv"))
    assert {p.stem for p in regional_files} >= {"fujian", "guangdong"}
    for path in regional_files:
        data = path.read_bytes()
        assert data.startswith(b"\xef\xbb\xbf")
        assert data.decode("utf-8-sig").splitlines()[0].split(",") == list(regional.HEADERS)

    book = python_calamine.CalamineWorkbook.from_path(
        str(out / "exports/key_accounts/key_accounts.xlsx")
    )
    assert "Accounts" in book.sheet_names
    rows = _xlsx_rows(out / "exports/key_accounts/key_accounts.xlsx")
    assert list(rows[0]) == list(key_accounts.HEADERS)
    assert all(isinstance(r["Created"], dt.date) for r in rows)  # real Excel dates, not text

    for feed in ("orders", "interactions"):
        for source in ("dealers", "key_accounts", "regional"):
            assert (out / "exports" / feed / f"{source}.csv").stat().st_size > 0
    for name in ("records.csv", "relationships.csv", "customers.csv"):
        assert (out / "truth" / name).is_file()
    assert sum(summary.records.values()) == sum(len(v) for v in _exports(out).values())


def test_same_seed_gives_byte_identical_files(demo, tmp_path):
    out, _ = demo
    again = tmp_path / "again"
    generate_demo(again, customers=N, seed=SEED)

    def digests(root: Path) -> dict[str, str]:
        return {
            str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }

    first, second = digests(out), digests(again)
    assert len(first) > 20
    assert first == second
    other = tmp_path / "other"
    generate_demo(other, customers=N, seed=SEED + 1)
    assert digests(other)["truth/records.csv"] != first["truth/records.csv"]


def test_truth_covers_every_record_exactly_once(demo):
    out, _ = demo
    truth = _truth(out, "records.csv")
    keys = Counter(r["record_key"] for r in truth)
    assert max(keys.values()) == 1
    expected, contacts = set(), set()
    for source, rows in _exports(out).items():
        ids = [str(r[ID_COLUMN[source]]) for r in rows]
        assert len(set(ids)) == len(ids), f"{source}: record ids must be unique in the source"
        for r, rid in zip(rows, ids, strict=True):
            expected.add(f"{source}:{rid}")
            if str(r[CONTACT_COLUMN[source]] or "").strip():
                contacts.add(f"{source}:{rid}:contact")
    assert {k for k in keys if not k.endswith(":contact")} == expected
    assert {k for k in keys if k.endswith(":contact")} == contacts
    assert {r["entity_type"] for r in truth} == {"company", "person"}
    contact_types = {r["entity_type"] for r in truth if r["record_key"].endswith(":contact")}
    assert contact_types == {"person"}


def test_contacts_are_persons_some_of_whom_are_customers_too(demo):
    out, _ = demo
    truth = _truth(out, "records.csv")
    contact_people = {r["customer_id"] for r in truth if r["record_key"].endswith(":contact")}
    own_records = {r["customer_id"] for r in truth if not r["record_key"].endswith(":contact")}
    assert contact_people & own_records  # a contact person who is also an individual customer
    employment = [
        r for r in _truth(out, "relationships.csv") if r["relationship_type"] == "employment"
    ]
    assert {r["to_customer_id"] for r in employment} == contact_people


def test_hard_negatives_are_present(demo):
    out, _ = demo
    customers = _truth(out, "customers.csv")
    companies = [c for c in customers if c["entity_type"] == "company"]
    cities = sorted({c["city"][:-1] for c in customers}, key=len, reverse=True)

    def core(name: str) -> str:
        for city in cities:
            name = name.replace(f"（{city}）", "").replace(f"{city}市", "").replace(city, "")
        return name

    by_core = defaultdict(set)
    for c in companies:
        by_core[core(c["name"])].add(c["city"])
    assert any(len(c) >= 2 for c in by_core.values()), "same brand in two cities"

    people = [c for c in customers if c["entity_type"] == "person" and c["has_records"] == "yes"]
    by_name = defaultdict(set)
    for p in people:
        by_name[p["name"]].add((p["customer_id"], p["city"]))
    assert any(len({city for _, city in v}) >= 2 for v in by_name.values()), (
        "a common name in two cities"
    )

    info = {c["customer_id"]: c for c in customers}
    family = [r for r in _truth(out, "relationships.csv") if r["relationship_type"] == "family"]
    assert family
    for r in family:
        a, b = info[r["from_customer_id"]], info[r["to_customer_id"]]
        assert a["customer_id"] != b["customer_id"]
        assert (a["address"], a["phone"], a["name"][0]) == (b["address"], b["phone"], b["name"][0])


def test_traditional_script_in_key_accounts(demo):
    out, _ = demo
    rows = _xlsx_rows(out / "exports/key_accounts/key_accounts.xlsx")
    overseas = [r for r in rows if r["Business Unit"] in ("HK", "TW")]
    assert 0.05 <= len(overseas) / len(rows) <= 0.25
    to_simplified = opencc.OpenCC("t2s")
    traditional = [
        r for r in overseas if to_simplified.convert(str(r["Account Name"])) != r["Account Name"]
    ]
    assert len(traditional) >= len(overseas) / 2
    mainland = [r for r in rows if r["Business Unit"] == "CN"]
    assert all(to_simplified.convert(str(r["Account Name"])) == r["Account Name"] for r in mainland)


def test_identifiers_are_valid_except_the_typos(demo):
    out, _ = demo
    exports = _exports(out)
    cells = [r["统一社会信用代码"] for r in exports["dealers"]] + [
        r["统一信用代码"] for r in exports["regional"]
    ]
    cells += [r["USCC"] for r in exports["key_accounts"]]
    codes = [str(c).upper().replace(" ", "") for c in cells if c]
    valid = [uscc_is_valid(c) for c in codes]
    assert 0.85 <= sum(valid) / len(valid) < 1.0  # a few typos fail the check digit
    checked = 0
    for r in exports["regional"]:
        number, birth, gender = r["身份证号"].upper(), r["出生日期"], r["性别"]
        if not (id_number_is_valid(number) and birth):
            continue
        if birth.isdigit():
            ymd = birth
        else:
            y, m, d = (int(x) for x in re.findall(r"\d+", birth))
            ymd = f"{y:04d}{m:02d}{d:02d}"
        assert number[6:14] == ymd
        if gender:
            assert (int(number[16]) % 2 == 1) == (gender in ("男", "先生"))
        checked += 1
    assert checked > 5


def test_orders_have_a_pareto_shape_and_ink_cartridge_rhythm(demo):
    out, _ = demo
    truth = {r["record_key"]: r["customer_id"] for r in _truth(out, "records.csv")}
    revenue: Counter[str] = Counter()
    dates = defaultdict(list)
    for source in ("dealers", "key_accounts", "regional"):
        for r in _csv_rows(out / "exports/orders" / f"{source}.csv", "utf-8"):
            customer = truth[
                f"{source}:{r['customer_record_id']}"
            ]  # every order is on a known record
            revenue[customer] += float(r["amount"])
            day = dt.date.fromisoformat(r["order_date"])
            assert REFERENCE_DATE - dt.timedelta(days=3 * 366) <= day <= REFERENCE_DATE
            if "墨盒" in r["product"] or "硒鼓" in r["product"]:
                dates[(customer, r["product"])].append(day)
    spend = sorted(revenue.values(), reverse=True)
    assert 0.6 <= sum(spend[: len(spend) // 5]) / sum(spend) <= 0.95
    gaps = sorted(
        (b - a).days
        for days in dates.values()
        for a, b in zip(sorted(days), sorted(days)[1:], strict=False)
    )
    assert 30 <= gaps[len(gaps) // 2] <= 120


def test_seasons_differ_per_product_line_and_region():
    from sources.demo.seasons import season_factor

    copier, paper = "数码复印机 Canon iR2625", "A4复印纸 70g 5包"
    assert season_factor(dt.date(2025, 12, 5), "北京市", copier) == pytest.approx(1.45)
    assert season_factor(dt.date(2025, 6, 5), "北京市", copier) == pytest.approx(0.55)
    assert season_factor(dt.date(2025, 11, 5), "福建省", copier) == pytest.approx(
        1.45
    )  # a month early
    assert season_factor(dt.date(2025, 9, 5), "上海市", paper) == pytest.approx(1.35)
    assert season_factor(dt.date(2026, 2, 5), "北京市", paper) < season_factor(
        dt.date(2026, 2, 5), "广东省", paper
    )  # the Spring-Festival dip is deeper in the north


def test_channels_convert_differently_and_some_satisfaction_drifts_down(demo):
    out, _ = demo
    truth = {r["record_key"]: r["customer_id"] for r in _truth(out, "records.csv")}
    channel: dict[str, str] = {}
    for source, column in (("dealers", "获客渠道"), ("regional", "客户来源")):
        for r in _exports(out)[source]:
            channel[truth[f"{source}:{r[ID_COLUMN[source]]}"]] = str(r[column])
    buyers, scores = set(), defaultdict(list)
    for source in ("dealers", "key_accounts", "regional"):
        for r in _csv_rows(out / "exports/orders" / f"{source}.csv", "utf-8"):
            buyers.add(truth[f"{source}:{r['customer_record_id']}"])
            assert r["product_line"] in {"耗材", "设备", "纸张", "服务"}
        for r in _csv_rows(out / "exports/interactions" / f"{source}.csv", "utf-8"):
            if r["satisfaction_score"]:
                customer = truth[f"{source}:{r['customer_record_id']}"]
                scores[customer].append((r["interaction_date"], int(r["satisfaction_score"])))
            if r["status"] == "closed":
                assert r["interaction_date"] <= r["closed_date"] <= REFERENCE_DATE.isoformat()
    rate = {
        name: sum(c in buyers for c in members) / len(members)
        for name in set(channel.values())
        for members in [[c for c, n in channel.items() if n == name]]
    }
    assert set(rate) == {"老客户介绍", "地推", "展会", "官网", "电话营销"}
    assert rate["老客户介绍"] > 0.9 and rate["电话营销"] < 0.8
    trails = [[s for _, s in sorted(v)] for v in scores.values() if len(v) >= 4]
    change = [(t[-1] + t[-2] - t[0] - t[1]) / 2 for t in trails]  # last two against first two
    fell, rose = sum(c <= -1.5 for c in change), sum(c >= 1.5 for c in change)
    assert fell >= 3 and fell > rose  # 25% of the surveyed drift down, 10% up


def test_config_loads_and_every_mapped_column_exists(demo):
    out, _ = demo
    config = load_config(out / "customer_master.yaml")
    assert [(s.name, s.kind, s.trust) for s in config.sources] == [
        ("dealers", "dealer", 1),
        ("key_accounts", "key_account", 3),
        ("regional", "regional", 2),
    ]
    assert config.source("key_accounts").columns["address"] == [
        "Province",
        "City",
        "Address Line 1",
        "Address Line 2",
    ]
    assert config.output_dir == "out"
    for feed in [*config.sources, *config.orders, *config.interactions]:
        for path in expand_paths(config.base_dir, feed.path):
            result = read_export(path, format=feed.format, encoding=feed.encoding, sheet=feed.sheet)
            missing = set(feed.required_source_columns()) - set(result.table.column_names)
            assert not missing, f"{feed.name}: {path.name} lacks {missing}"


def test_demo_config_takes_a_prefix_and_writes_loadable_yaml(tmp_path):
    config = demo_config("../demo/exports", "../demo/out")
    assert config["output_dir"] == "../demo/out"
    paths = [f["path"] for key in ("sources", "orders", "interactions") for f in config[key]]
    assert all(p.startswith("../demo/exports/") for p in paths)
    written = write_demo_config(tmp_path / "config" / "demo.yaml", "../demo/exports", "../demo/out")
    assert load_config(written).source("dealers").path == "../demo/exports/dealers/*.csv"


def test_summary_counts_every_file(demo):
    out, summary = demo
    as_dict = summary.as_dict()
    assert as_dict["customers"] == N and as_dict["seed"] == SEED
    for name, rows in summary.files.items():
        path = out / name
        if path.suffix == ".csv":
            encoding = "gb18030" if "dealers/" in name else "utf-8-sig"
            assert len(_csv_rows(path, encoding)) == rows, name
    assert summary.contact_records == sum(
        1 for r in _truth(out, "records.csv") if r["record_key"].endswith(":contact")
    )


def test_too_small_a_demo_is_refused(tmp_path):
    with pytest.raises(ValueError, match="at least 100"):
        generate_demo(tmp_path, customers=10, seed=1)


def test_every_planted_case_is_on_records_that_really_carry_it(demo):
    from sources.demo import cases

    out, summary = demo
    planted = _truth(out, "planted_cases.csv")
    truth = {r["record_key"]: r["customer_id"] for r in _truth(out, "records.csv")}
    by_case = defaultdict(set)
    for r in planted:
        assert truth[r["record_key"]] == r["customer_id"]
        by_case[r["case"]].add(r["record_key"])
    assert set(by_case) == set(cases.CASES)  # every case, even in a small demo
    assert summary.planted_cases == {c: len(by_case[c]) for c in cases.CASES}

    rows = {
        f"{source}:{r[ID_COLUMN[source]]}": r for source, rs in _exports(out).items() for r in rs
    }

    def cell(key: str, *columns: str) -> str:
        return " ".join(str(rows[key].get(c) or "") for c in columns)

    for key in by_case["latin_company_name"]:
        assert cell(key, "Account Name").isascii()
    for key in by_case["phone_extension"]:
        assert re.search(r"(转|ext\. |分机)\d+$", cell(key, "电话", "固定电话", "Phone").strip())
    for key in by_case["two_numbers"]:
        assert len(re.findall(r"1\d{10}", cell(key, "手机", "电话", "Mobile"))) == 2
    for key in by_case["old_county_name"]:
        address = cell(key, "地址", "详细地址", "Address Line 1")
        assert re.search("萧山市|余杭市|长乐市|番禺市|同安县|江宁县", address)
    for key in by_case["building_room"]:
        assert re.search(
            r"\d{3,4}室$",  # the room (the building may be in traditional script)
            cell(key, "地址", "详细地址", "Address Line 1", "Address Line 2").strip(),
        )
    for key in by_case["duplicate_in_source"]:
        source = key.split(":")[0]
        twins = [k for k in by_case["duplicate_in_source"] if truth[k] == truth[key] and k != key]
        assert any(k.split(":")[0] == source for k in twins)

    # the renamed company's old-name record and its other records: another trade name,
    # the same credit code
    for key in by_case["renamed"]:
        others = [
            k for k, c in truth.items() if c == truth[key] and k != key and ":contact" not in k
        ]
        assert others
        code = cell(key, "统一社会信用代码", "统一信用代码", "USCC").strip().upper()
        assert code and all(
            cell(k, "统一社会信用代码", "统一信用代码", "USCC").strip().upper() for k in others
        )

    info = {c["customer_id"]: c for c in _truth(out, "customers.csv")}
    related = defaultdict(list)
    for r in _truth(out, "relationships.csv"):
        related[r["relationship_type"]].append(
            (info[r["from_customer_id"]], info[r["to_customer_id"]])
        )
    assert related["branch"] and related["owned_by"]
    for head, branch in related["branch"]:
        assert branch["name"].endswith(f"{branch['city'][:-1]}分公司")
        assert branch["name"].startswith(head["name"]) and branch["uscc"] != head["uscc"]
    for shop, owner in related["owned_by"]:
        assert shop["entity_type"] == "company" and owner["entity_type"] == "person"
        assert shop["name"].startswith(owner["name"]) and shop["mobile"] == owner["mobile"]


def test_a_city_whose_two_character_brands_are_used_up_still_gets_a_free_brand():
    """Demos of millions of records use up a city's 2-character names; the draw still ends."""
    builder = _Builder(random.Random(3))
    city, word = CITIES[0], "电脑"
    builder.used_company_names |= {
        (city.name, a + b + word) for a in vocabulary.BRAND_CHARS for b in vocabulary.BRAND_CHARS
    }
    brand = builder.free_brand(city, word)
    assert len(brand) == 3
    assert (city.name, brand + word) in builder.used_company_names
    assert builder.free_brand(city, word) != brand

"""Relationships between current customers, from contact persons, households and dealer codes."""

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from matching.master.relationships import build_relationships
from sources.build_staging import STAGED_SCHEMA

XM = {"province": "福建省", "city": "厦门市"}


def warehouse(
    records: list[dict], xref: dict[str, str], con: duckdb.DuckDBPyConnection | None = None
) -> duckdb.DuckDBPyConnection:
    """A warehouse of ``records`` and their current customers; on ``con``, its records and
    customers replaced (the next day)."""
    if con is None:
        con = duckdb.connect()
        con.execute("CREATE SCHEMA staging; CREATE SCHEMA master")
    con.execute("DROP TABLE IF EXISTS staging.customers; DROP TABLE IF EXISTS master.customer_xref")
    frame = pd.DataFrame([{c: r.get(c) for c in STAGED_SCHEMA.names} for r in records])
    con.register("s", pa.Table.from_pandas(frame, schema=STAGED_SCHEMA, preserve_index=False))
    con.execute("CREATE TABLE staging.customers AS FROM s")
    con.register(
        "x",
        pd.DataFrame(
            {"record_key": list(xref), "customer_id": list(xref.values()), "valid_to": None}
        ),
    )
    con.execute(
        "CREATE TABLE master.customer_xref AS SELECT record_key, customer_id, valid_to::TIMESTAMP AS valid_to FROM x"
    )
    return con


def person(key: str, name: str, phone=None, street=None, **more) -> dict:
    return {
        "record_key": key,
        "entity_type": "person",
        "name": name,
        "phone": phone,
        "address_detail": street,
        "city": "厦门市",
        **more,
    }


def test_contact_persons_make_employment_and_follow_the_current_ids():
    con = warehouse(
        [
            {
                "record_key": "d:1",
                "entity_type": "company",
                "name": "厦门洪来文印店",
                "dealer_code": "XM01",
            },
            {"record_key": "k:7", "entity_type": "company", "name": "洪来文印店"},
            person("d:1:contact", "林小燕", derived_from_record_key="d:1"),
            person("k:7:contact", "林小燕", derived_from_record_key="k:7"),
            {
                "record_key": "k:9",
                "entity_type": "company",
                "name": "厦门鑫达电脑有限公司",
                "own_dealer_code": "XM01",
            },
        ],
        {"d:1": "CM1", "k:7": "CM1", "d:1:contact": "CM2", "k:7:contact": "CM2", "k:9": "CM3"},
    )
    relationships = build_relationships(con)
    employment = relationships[relationships["relationship_type"] == "employment"]
    assert employment[["from_customer_id", "to_customer_id"]].values.tolist() == [["CM1", "CM2"]]
    assert list(employment.iloc[0]["evidence"]) == ["d:1:contact", "k:7:contact"]
    served = relationships[relationships["relationship_type"] == "served_by_dealer"]
    assert served[["from_customer_id", "to_customer_id"]].values.tolist() == [["CM1", "CM3"]]


def test_family_needs_surname_and_address_with_a_landline_or_one_flat():
    con = warehouse(
        [
            person("r:1", "陈建国", "+865925551234", "湖滨南路1号501室"),
            person("r:2", "陈静", "+865925551234", "湖滨南路1号 501室"),  # same household
            person("r:3", "王芳", "+865925551234", "湖滨南路1号501室"),  # other surname: a tenant
            person("r:4", "陈明", "+865925559999", "湖滨南路1号502室"),  # own landline, next door
        ],
        {"r:1": "CM1", "r:2": "CM2", "r:3": "CM3", "r:4": "CM4"},
    )
    family = build_relationships(con)
    assert family[
        ["from_customer_id", "to_customer_id", "relationship_type", "inferred"]
    ].values.tolist() == [["CM1", "CM2", "family", True]]
    assert family.iloc[0]["confidence"] == 0.8


def test_family_on_one_floor_or_with_the_landline_beside_another_number():
    con = warehouse(
        [
            person("r:1", "黄华红", None, "湖滨南路191号18楼"),
            person("r:2", "黄伟", None, "湖滨南路191号18楼"),  # one floor: one household
            person("r:3", "黄明", None, "湖滨南路191号17楼"),  # another floor
            person("r:4", "林芳", "+865925551234", "嘉禾路8号"),
            person("r:5", "林军", None, "嘉禾路8号", other_phones=["+865925551234"]),
            person("r:6", "林静", None, "嘉禾路8号", other_phones=["+8613800138000"]),
        ],
        {"r:1": "CM1", "r:2": "CM2", "r:3": "CM3", "r:4": "CM4", "r:5": "CM5", "r:6": "CM6"},
    )
    family = build_relationships(con)
    assert sorted(family[["from_customer_id", "to_customer_id"]].values.tolist()) == [
        ["CM1", "CM2"],
        ["CM4", "CM5"],
    ]


def test_family_is_read_over_all_records_of_the_two_customers():
    # the shared landline is on one record of each, the shared street (with and without
    # the room) on others: one household
    con = warehouse(
        [
            person("r:1", "陈建国", "+865925551234", None),
            person("d:1", "陈建国", None, "湖滨南路1号阳光花园3栋501室"),
            person("r:2", "陈静", "+865925551234", None),
            person("d:2", "陈静", None, "湖滨南路1号"),
            person("r:3", "陈明", None, "湖滨南路1号"),  # same street, no shared landline
        ],
        {"r:1": "CM1", "d:1": "CM1", "r:2": "CM2", "d:2": "CM2", "r:3": "CM3"},
    )
    family = build_relationships(con)
    assert family[["from_customer_id", "to_customer_id"]].values.tolist() == [["CM1", "CM2"]]


def test_a_shop_named_after_a_person_who_shares_its_mobile_or_street_is_owned_by_them():
    shop = {"entity_type": "company", "city": "厦门市"}
    con = warehouse(
        [
            {**shop, "record_key": "d:1", "name": "张伟文印店", "mobile": "+8613800138000"},
            {**shop, "record_key": "d:2", "name": "李娜", "address_detail": "嘉禾路8号"},
            {**shop, "record_key": "d:3", "name": "张伟图文", "mobile": "+8613900000000"},
            person("r:1", "张伟", mobile="+8613800138000"),
            person("r:2", "李娜", street="嘉禾路8号"),
            person("r:3", "张伟", mobile="+8613700000000"),  # another 张伟: name alone is not enough
            person("d:1:contact", "张伟", mobile="+8613900000000", derived_from_record_key="d:3"),
        ],
        {"d:1": "CM1", "d:2": "CM2", "d:3": "CM3", "r:1": "CM4", "r:2": "CM5", "r:3": "CM6",
         "d:1:contact": "CM7"},
    )  # fmt: skip
    owned = build_relationships(con)
    owned = owned[owned["relationship_type"] == "owned_by"]
    assert owned[["from_customer_id", "to_customer_id"]].values.tolist() == [
        ["CM1", "CM4"],
        ["CM2", "CM5"],
    ]
    assert list(owned.iloc[0]["evidence"]) == ["d:1", "r:1"]
    assert (owned["inferred"] & (owned["confidence"] == 0.9)).all()


def test_a_shop_whose_contact_is_its_owner_or_that_shares_any_number_is_owned_by_them():
    shop = {"entity_type": "company", "city": "厦门市"}
    con = warehouse(
        [
            {**shop, "record_key": "d:1", "name": "王芳文印店", "address_detail": "湖滨路1号"},
            person("d:1:contact", "王芳", derived_from_record_key="d:1"),
            person("r:1", "王芳", street="莲前路2号"),
            {**shop, "record_key": "d:2", "name": "陈军图文", "phone": "+865925551234"},
            person("r:2", "陈军", mobile="+8613600000000", other_phones=["+865925551234"]),
            {**shop, "record_key": "d:3", "name": "王芳电脑", "phone": "+865925550000"},
        ],
        {"d:1": "CM1", "d:1:contact": "CM2", "r:1": "CM2", "d:2": "CM3", "r:2": "CM4",
         "d:3": "CM5"},
    )  # fmt: skip
    owned = build_relationships(con)
    owned = owned[owned["relationship_type"] == "owned_by"]
    assert sorted(owned[["from_customer_id", "to_customer_id"]].values.tolist()) == [
        ["CM1", "CM2"],
        ["CM3", "CM4"],
    ]


def test_a_shop_named_after_the_one_person_of_a_rare_name_in_its_city_is_owned_by_them():
    def shop(key: str, name: str, owner: str, city: str = "广州市") -> dict:
        kind = {"business_kind": "individual_business", "business_owner_name": owner}
        return {"record_key": key, "entity_type": "company", "name": name, "city": city, **kind}

    others = [person(f"o:{i}", f"路人{i:03d}") for i in range(600)]  # the term frequencies
    con = warehouse(
        [
            *others,
            shop("d:1", "胡凯庆数码耗材经营部", "胡凯庆"),
            person("r:1", "胡凯庆", city="广州市"),  # 1 of 604 person records: rare
            shop("d:2", "张伟文印店", "张伟"),
            person("r:2", "张伟", city="广州市"),
            person("r:3", "张伟", city="广州市"),  # one customer, but 2 of 604: too common
            shop("d:3", "李燕图文", "李燕"),
            person("r:4", "李燕", city="广州市"),
            person("d:9:contact", "李燕", derived_from_record_key="d:9"),  # someone else
            shop("d:4", "杨秀图文", "杨秀", city="深圳市"),  # the one 杨秀 lives in 厦门
            person("r:5", "杨秀"),
        ],
        {**{r["record_key"]: f"CO{i}" for i, r in enumerate(others)},
         "d:1": "CM1", "r:1": "CM2", "d:2": "CM3", "r:2": "CM4", "r:3": "CM4", "d:3": "CM5",
         "r:4": "CM6", "d:9:contact": "CM7", "d:4": "CM8", "r:5": "CM9"},
    )  # fmt: skip
    owned = build_relationships(con)
    owned = owned[owned["relationship_type"] == "owned_by"]
    assert owned[["from_customer_id", "to_customer_id"]].values.tolist() == [["CM1", "CM2"]]
    assert list(owned.iloc[0]["evidence"]) == ["d:1", "r:1"]


def test_a_branch_is_related_to_the_head_office_its_name_holds(staged, make_staged, company_model):
    fz = {"province": "福建省", "city": "福州市", "district": "鼓楼区"}
    branches = make_staged(
        [
            {"record_key": "dealers:D090", "truth": "C_KUAIXIN_FZ", "name": "厦门市快心电脑有限公司福州分公司",
             "phone": "+865918000001", "address_detail": "五四路9号", **fz},
            {"record_key": "dealers:D091", "truth": "C_NOBODY_FZ", "name": "无名科技有限公司福州分公司",
             "phone": "+865918000002", "address_detail": "五四路10号", **fz},
        ],
        [],
    )  # fmt: skip
    companies = staged[staged["entity_type"] == "company"]
    records = pd.concat([companies, branches], ignore_index=True)
    con = warehouse(
        records.to_dict("records"), dict(zip(records["record_key"], records["truth"], strict=True))
    )
    related = build_relationships(con, {"company": company_model})
    branch = related[related["relationship_type"] == "branch"]
    assert branch[["from_customer_id", "to_customer_id"]].values.tolist() == [
        ["C_KUAIXIN", "C_KUAIXIN_FZ"]
    ]
    assert list(branch.iloc[0]["evidence"]) == ["dealers:D090"]
    assert not branch["inferred"].any()


def test_a_group_company_holds_the_companies_named_after_it_with_a_place():
    def company(key, name, core, region, form):
        return {
            "record_key": key,
            "entity_type": "company",
            "name": name,
            "name_core": core,
            "name_region": region,
            "legal_form": form,
        }

    con = warehouse(
        [
            company("d:1", "快心电脑股份有限公司", "快心电脑", None, "股份有限公司"),
            company("d:2", "快心电脑（福州）有限公司", "快心电脑", "福州", "有限公司"),
            company("r:3", "泉州快心电脑有限公司", "快心电脑", "泉州", "有限公司"),
            company("r:4", "快心电脑有限公司", "快心电脑", None, "有限公司"),  # no place: unknown
            company("d:5", "厦门快心电脑有限公司福州分公司", "快心电脑", "厦门", "有限公司"),
            company("d:6", "洪来文印店", "洪来文印店", None, None),
        ],
        {"d:1": "CM1", "d:2": "CM2", "r:3": "CM3", "r:4": "CM4", "d:5": "CM5", "d:6": "CM6"},
    )  # fmt: skip
    holding = build_relationships(con)
    holding = holding[holding["relationship_type"] == "holding"]
    assert holding[["from_customer_id", "to_customer_id"]].values.tolist() == [
        ["CM1", "CM2"],
        ["CM1", "CM3"],
    ]
    assert (holding["inferred"] & (holding["confidence"] == 0.7)).all()


def test_one_flat_and_one_surname_make_a_family_without_a_landline():
    con = warehouse(
        [
            person("r:1", "陈建国", None, "湖滨南路1号阳光花园3栋501室"),
            person("r:2", "陈静", None, "湖滨南路1号阳光花园3栋 501室"),
            person("r:3", "陈明", None, "湖滨南路1号阳光花园3栋502室"),  # the flat next door
            person("r:4", "陈亮", None, "湖滨南路1号"),  # the street and number only
            person("r:5", "陈红", None, "湖滨南路1号"),
        ],
        {"r:1": "CM1", "r:2": "CM2", "r:3": "CM3", "r:4": "CM4", "r:5": "CM5"},
    )
    family = build_relationships(con)
    assert family[["from_customer_id", "to_customer_id"]].values.tolist() == [["CM1", "CM2"]]


@pytest.mark.parametrize("kept_prepared", [False, True], ids=["prepared_here", "prepared_kept"])
def test_an_incremental_build_after_a_day_of_changes_equals_a_whole_build(
    staged, make_staged, company_model, person_model, monkeypatch, kept_prepared
):
    """A new customer becomes what an old mention names, a record's referrer is renamed,
    another removed, a customer merged into another, a company renamed, a new branch names
    its head office: the incremental build scores only the new names and the new and
    changed records, stages only the names no build staged before, and ends where a whole
    build does. With the sync's prepared records kept in the warehouse (as a sync keeps
    them), the records a name may mean stay there too, with the same result."""
    import matching.master.mention_names as mention_names
    import matching.master.mentions as mentions
    from matching.linkage.junk import JunkRules
    from matching.linkage.prepared_store import prepare_by_type, save_prepared

    def day_warehouse(*args, **kwargs):
        con = warehouse(*args, **kwargs)
        if kept_prepared:  # as the sync's preparation keeps them for the day's records
            con.execute("CREATE SCHEMA IF NOT EXISTS matching")
            save_prepared(con, prepare_by_type(con.sql("FROM staging.customers").df(), JunkRules()))
        return con

    models = {"company": company_model, "person": person_model}
    day1 = staged.drop(columns="truth").assign(customer_id=staged["truth"]).set_index("record_key")
    day1.loc["dealers:D002", "parent_company_name"] = "厦门市宏达电脑有限公司"  # nobody, yet
    day1.loc["dealers:D014", "parent_company_name"] = "厦门市快心电脑有限公司"
    day1.loc["regional:P108", "referrer_name"] = "李娜"
    day2 = day1.copy()
    new = make_staged(
        [
            {
                "record_key": "dealers:D900",
                "truth": "C_HONGDA",
                "name": "厦门市宏达电脑有限公司",
                **XM,
            }
        ],
        [],
    )
    day2 = pd.concat(
        [day2, new.drop(columns="truth").assign(customer_id="C_HONGDA").set_index("record_key")]
    )
    day2.loc["regional:P109", "referrer_name"] = "王芳"  # a new name on a changed record
    fz = {"province": "福建省", "city": "福州市", "district": "鼓楼区"}
    renamed = staged.set_index("record_key").loc["dealers:D003"].to_dict()
    changed = make_staged(
        [
            # the head office a mention names, renamed
            {
                **{c: renamed[c] for c in ("truth", "phone", "address_detail", "city", "province")},
                "record_key": "dealers:D003",
                "name": "厦门市快心科技有限公司",
            },
            # a new branch: its head office's name was mentioned as a parent already
            {
                "record_key": "dealers:D090",
                "truth": "C_KUAIXIN_FZ",
                "name": "厦门市快心电脑有限公司福州分公司",
                "phone": "+865918000001",
                **fz,
            },
        ],
        [],
    )
    changed = changed.drop(columns="truth").set_index("record_key")
    changed["customer_id"] = ["C_KUAIXIN", "C_KUAIXIN_FZ"]
    day2 = pd.concat([day2.drop(index="dealers:D003"), changed])

    def records(day):
        rows = day.assign(birth_date=pd.to_datetime(day["birth_date"]).dt.date)
        rows = rows.astype(object).where(rows.notna(), None)
        return rows.reset_index().to_dict("records"), dict(
            zip(day.index, day["customer_id"], strict=True)
        )

    removed = staged.loc[staged["truth"] == "C_YUANTONG", "record_key"].iloc[0]
    day2 = day2.drop(index=removed)
    day2.loc[day2["customer_id"] == "C_HONGLAI_FZ", "customer_id"] = "C_HONGLAI_XM"  # merged
    whole_con = day_warehouse(*records(day2))
    whole = build_relationships(whole_con, models)

    con = day_warehouse(*records(day1))
    build_relationships(con, models)
    day_warehouse(*records(day2), con=con)
    scored, staged_names = [], []
    predict, stage = mentions.predict_pairs, mention_names._staged
    monkeypatch.setattr(
        mentions, "predict_pairs", lambda *a, **k: scored.append(k["only_with"]) or predict(*a, **k)
    )
    monkeypatch.setattr(
        mention_names, "_staged", lambda n, t: staged_names.extend(n) or stage(n, t)
    )
    incremental = build_relationships(con, models, incremental=True)

    # scored, in one prediction for the parent companies and the head offices (a company's
    # name has no district, the one value the company model weighs by frequency): every
    # company name against the new, changed and removed records, and the new branch's head
    # office's name (the first of the second group) against every company; then the
    # referrers' names, whose scores move with every person record (term frequencies), whole
    companies, referral = scored
    assert referral is None
    changed_keys = {"dealers:D900", "dealers:D003", "dealers:D090", "regional:P109", removed}
    assert set(companies) == changed_keys | {f"{mentions.MENTION_PREFIX}1.0"}
    # staged: the referrer's new name only (the head office's was staged as a parent's)
    assert staged_names == ["王芳"]
    assert (
        incremental[incremental["relationship_type"] == "branch"][
            ["from_customer_id", "to_customer_id"]
        ].values.tolist()
        == whole[whole["relationship_type"] == "branch"][
            ["from_customer_id", "to_customer_id"]
        ].values.tolist()
    )
    holding = incremental[incremental["relationship_type"] == "holding"]
    assert ["C_HONGDA", "C_HONGLAI_XM"] in holding[
        ["from_customer_id", "to_customer_id"]
    ].values.tolist()
    assert incremental.drop(columns="evidence").equals(whole.drop(columns="evidence"))
    assert incremental["evidence"].map(list).tolist() == whole["evidence"].map(list).tolist()
    # the names kept for the next day are those a whole build stages
    query = f"FROM {mention_names.MENTION_NAMES} ORDER BY ALL"
    assert con.execute(query).fetchall() == whole_con.execute(query).fetchall()


def test_an_incremental_build_reads_again_only_near_touched_customers_and_ends_as_a_whole_one(
    caplog,
):
    """A day adds a family member and a shop's owner, edits a record (its landline: a family
    ends), removes one (its dealer link ends), merges two customers (a holding becomes one
    customer) and splits one: built on the last day's relationships, the incremental build
    equals a build from scratch, evidence included, and keeps the untouched customers'
    relationships without reading their records."""
    from matching.master.record_relationships import RELATIONSHIPS_READ
    from matching.master.relationships import RELATIONSHIP_INPUTS

    def company(key, name, core=None, region=None, form=None, **more):
        return {"record_key": key, "entity_type": "company", "name": name, "name_core": core,
                "name_region": region, "legal_form": form, "city": "厦门市", **more}  # fmt: skip

    day1 = {
        "k:1": (company("k:1", "厦门鑫达电脑有限公司", own_dealer_code="XM01"), "CD"),
        "d:1": (company("d:1", "厦门洪来文印店", dealer_code="XM01"), "CS1"),
        "d:2": (company("d:2", "泉州新华书店", dealer_code="XM01"), "CS2"),
        "d:1:c": (person("d:1:c", "林小燕", derived_from_record_key="d:1"), "CP1"),
        "r:1": (person("r:1", "陈建国", "+865925551234", "湖滨南路1号501室"), "CF1"),
        "r:2": (person("r:2", "陈静", "+865925551234", "湖滨南路1号501"), "CF2"),
        "r:3": (person("r:3", "黄华红", "+865925550000", "嘉禾路9号"), "CF3"),
        "r:4": (person("r:4", "黄伟", "+865925550000", "嘉禾路9号"), "CF4"),
        "g:1": (company("g:1", "快心电脑股份有限公司", "快心电脑", None, "股份有限公司"), "CG"),
        "g:2": (company("g:2", "快心电脑（福州）有限公司", "快心电脑", "福州", "有限公司"), "CG2"),
        "g:3": (company("g:3", "泉州快心电脑有限公司", "快心电脑", "泉州", "有限公司"), "CG3"),
        "s:1": (company("s:1", "张伟文印店", mobile="+8613800138000"), "CSH"),
        "r:7": (person("r:7", "李强", "+865925557777", "莲前路5号"), "CF7"),
        "r:8": (person("r:8", "李梅", "+865925557777", "莲前路5号"), "CF8"),
    }
    day2 = dict(day1)
    day2["r:5"] = (person("r:5", "陈明", "+865925551234", "湖滨南路1号"), "CF5")  # new member
    day2["r:6"] = (person("r:6", "张伟", mobile="+8613800138000"), "CO")  # the shop's owner
    day2["r:2"] = (person("r:2", "陈静", "+865925559999", "湖滨南路1号"), "CF2")  # own landline now
    del day2["d:2"]  # the dealer dropped the customer
    day2["g:2"] = (day1["g:2"][0], "CG")  # merged into its group: one customer now
    day2["r:4"] = (day1["r:4"][0], "CF3")  # merged into its household
    day2["d:1:c"] = (day1["d:1:c"][0], "CP9")  # split off into a customer of its own

    def build(day, con=None, incremental=False):
        con = warehouse([r for r, _ in day.values()], {k: c for k, (_, c) in day.items()}, con)
        return con, build_relationships(con, incremental=incremental)

    whole_con, whole = build(day2)
    con, first = build(day1)
    assert {"employment", "family", "holding", "served_by_dealer"} <= set(
        first["relationship_type"]
    )
    with caplog.at_level("INFO", logger="matching.master.record_relationships"):
        _, incremental = build(day2, con, incremental=True)

    def rows(frame):
        return [tuple(map(str, row)) for row in frame.itertuples(index=False)]

    assert rows(incremental) == rows(whole)
    assert ("CSH", "CO", "owned_by") in {tuple(r[:3]) for r in rows(whole)}
    assert ("CD", "CS2", "served_by_dealer") not in {tuple(r[:3]) for r in rows(whole)}
    # read again: the records of the touched customers and of those sharing a street, name,
    # name core, dealer code or company record with them; not the dealer's (k:1) nor the
    # untouched household's (r:7, r:8), whose relationships are kept
    assert "read again from 12 records of customers near 10 touched" in caplog.text
    assert ("CF7", "CF8", "family") in {tuple(r[:3]) for r in rows(incremental)}
    assert con.execute(f"SELECT count(*) FROM {RELATIONSHIPS_READ}").fetchall() == [
        (len(incremental),)
    ]
    # updated in place, the tables kept for the next day hold what a whole build's hold
    for table in (RELATIONSHIPS_READ, RELATIONSHIP_INPUTS):
        query = f"FROM {table} ORDER BY ALL"
        assert con.execute(query).fetchall() == whole_con.execute(query).fetchall(), table


def test_a_day_without_new_names_or_changed_companies_keeps_the_names_as_staged(
    staged, company_model, monkeypatch
):
    """Only a person record changed: the company names are neither staged nor scored again,
    and the names kept for the next day are still every name a whole build stages."""
    import matching.master.mention_names as mention_names

    day1 = staged.drop(columns="truth").assign(customer_id=staged["truth"]).set_index("record_key")
    day1.loc["dealers:D014", "parent_company_name"] = "厦门市快心电脑有限公司"
    day2 = day1.copy()
    person = day2.index[day2["entity_type"] == "person"][0]
    day2.loc[person, "address_detail"] = "莲前路5号"

    def records(day):
        rows = day.assign(birth_date=pd.to_datetime(day["birth_date"]).dt.date)
        rows = rows.astype(object).where(rows.notna(), None)
        return rows.reset_index().to_dict("records"), dict(
            zip(day.index, day["customer_id"], strict=True)
        )

    models = {"company": company_model}
    whole_con = warehouse(*records(day2))
    whole = build_relationships(whole_con, models)
    con = warehouse(*records(day1))
    build_relationships(con, models)
    warehouse(*records(day2), con=con)
    monkeypatch.setattr(mention_names, "_staged", lambda *a: pytest.fail("a name staged again"))
    incremental = build_relationships(con, models, incremental=True)

    assert incremental.drop(columns="evidence").equals(whole.drop(columns="evidence"))
    query = f"FROM {mention_names.MENTION_NAMES} ORDER BY ALL"
    assert con.execute(query).fetchall() == whole_con.execute(query).fetchall()
    assert len(con.execute(query).fetchall()) == 1


def test_a_relationship_of_a_mentioned_name_that_moves_between_untouched_customers_is_written_again(
    monkeypatch,
):
    """A day can move the relationship of a mentioned name between customers it did not
    touch (a new namesake lowers a referrer name's score, a better match appears elsewhere):
    updated in place, the relationships still equal a whole build's, and the kept household
    of untouched customers stays."""
    import matching.master.relationships as relationships

    day1 = {
        "r:1": (person("r:1", "陈建国", "+865925551234", "湖滨南路1号501室"), "CF1"),
        "r:2": (person("r:2", "陈静", "+865925551234", "湖滨南路1号501"), "CF2"),
        "p:1": (person("p:1", "王芳", referrer_name="李强"), "CP1"),
        "p:2": (person("p:2", "林伟", referrer_name="黄华"), "CP2"),
        "q:1": (person("q:1", "李强"), "CQ1"),
        "q:2": (person("q:2", "李强"), "CQ2"),
        "q:3": (person("q:3", "黄华"), "CQ3"),
    }
    day2 = dict(day1)
    day2["n:1"] = (person("n:1", "黄华"), "CN1")  # a namesake, related to no one

    def referrals(*pairs):
        return [
            pd.DataFrame(
                {
                    "from_customer_id": [p[0] for p in pairs],
                    "to_customer_id": [p[1] for p in pairs],
                    "relationship_type": "referral",
                    "evidence": [[p[2]] for p in pairs],
                    "confidence": [p[3] for p in pairs],
                    "inferred": False,
                }
            )
        ]

    named = {
        1: referrals(("CQ1", "CP1", "p:1", 0.9), ("CQ3", "CP2", "p:2", 0.8)),
        # the referrer of p:1 now means the other 李强; 黄华's score fell with a namesake
        2: referrals(("CQ2", "CP1", "p:1", 0.9), ("CQ3", "CP2", "p:2", 0.7)),
    }

    def build(day, names, con=None, incremental=False):
        monkeypatch.setattr(relationships, "mentioned_relationships", lambda *a: names)
        con = warehouse([r for r, _ in day.values()], {k: c for k, (_, c) in day.items()}, con)
        return con, build_relationships(con, {"person": {}}, incremental=incremental)

    _, whole = build(day2, named[2])
    con, _ = build(day1, named[1])
    _, incremental = build(day2, named[2], con, incremental=True)

    def rows(frame):
        return [tuple(map(str, row)) for row in frame.itertuples(index=False)]

    assert rows(incremental) == rows(whole)
    assert ("CQ2", "CP1", "referral") in {tuple(r[:3]) for r in rows(incremental)}
    assert ("CQ1", "CP1", "referral") not in {tuple(r[:3]) for r in rows(incremental)}
    assert ("CF1", "CF2", "family") in {tuple(r[:3]) for r in rows(incremental)}


def test_a_build_stopped_midway_leaves_the_tables_kept_for_the_next_day_as_they_were(
    monkeypatch,
):
    """A day's incremental build that fails after it has read the day's relationships again
    (a sync killed, a disk full) changes none of the tables the next build starts from: the
    relationships read from the records, the snapshot of their inputs and
    ``master.relationships`` are the last build's. Were the relationships read kept but not
    the snapshot, a record that changed and changed back would keep the relationships read
    from its short-lived values."""
    import matching.master.relationships as relationships
    from matching.master.record_relationships import RELATIONSHIPS_READ
    from matching.master.relationships import RELATIONSHIP_INPUTS

    day1 = {
        "r:1": (person("r:1", "陈建国", "+865925551234", "湖滨南路1号501室"), "CF1"),
        "r:2": (person("r:2", "陈静", "+865925551234", "湖滨南路1号501"), "CF2"),
        "r:3": (person("r:3", "黄华红", "+865925550000", "嘉禾路9号"), "CF3"),
    }
    day2 = dict(day1)
    day2["r:2"] = (person("r:2", "陈静", "+865925559999", "嘉禾路9号"), "CF2")  # moved house
    kept = (RELATIONSHIPS_READ, RELATIONSHIP_INPUTS, "master.relationships")

    def load(day, con=None):
        return warehouse([r for r, _ in day.values()], {k: c for k, (_, c) in day.items()}, con)

    con = load(day1)
    build_relationships(con)
    before = {t: con.execute(f"FROM {t} ORDER BY ALL").fetchall() for t in kept}
    assert ("CF1", "CF2", "family") in {r[:3] for r in before["master.relationships"]}
    load(day2, con)

    def fails(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(relationships, "_write_merged", fails)
    with pytest.raises(OSError, match="disk full"):
        build_relationships(con, incremental=True)
    for table in kept:
        assert con.execute(f"FROM {table} ORDER BY ALL").fetchall() == before[table], table
    # and the next build, on the day's records, ends as a whole build does
    monkeypatch.undo()
    whole = build_relationships(load(day2))
    again = build_relationships(con, incremental=True)
    assert [tuple(map(str, r)) for r in again.itertuples(index=False)] == [
        tuple(map(str, r)) for r in whole.itertuples(index=False)
    ]


@pytest.mark.parametrize("names_kept", [True, False])
def test_a_name_that_becomes_rare_or_common_relates_untouched_shops_as_a_whole_build_does(
    caplog, names_kept
):
    """A shop and a person related by a rare name alone, neither touched by the day: a new
    namesake elsewhere makes 李燕 common (their relationship ends), a namesake removed makes
    王芳 rare (one begins). The incremental build equals a whole build, and it reads again
    only the candidates whose name's rarity changed: not the shop and owner of 胡凯庆, rare
    on both days, nor their records. Without the last build's rare names (a warehouse of
    the code before), every candidate is read again, to the same result."""
    from matching.master.record_relationships import RARE_OWNER_NAMES, RELATIONSHIPS_READ

    def shop(key: str, name: str, owner: str) -> dict:
        kind = {"business_kind": "individual_business", "business_owner_name": owner}
        return {"record_key": key, "entity_type": "company", "name": name, "city": "广州市", **kind}

    day1 = {
        **{f"o:{i}": (person(f"o:{i}", f"路人{i:03d}"), f"CO{i}") for i in range(600)},
        "d:1": (shop("d:1", "胡凯庆数码耗材经营部", "胡凯庆"), "CM1"),
        "r:1": (person("r:1", "胡凯庆", city="广州市"), "CM2"),  # rare on both days
        "d:2": (shop("d:2", "李燕图文", "李燕"), "CM3"),
        "r:2": (person("r:2", "李燕", city="广州市"), "CM4"),  # rare on day 1 only
        "d:3": (shop("d:3", "王芳图文", "王芳"), "CM5"),
        "r:3": (person("r:3", "王芳", city="广州市"), "CM6"),  # rare on day 2 only
        "r:4": (person("r:4", "王芳"), "CM7"),  # another 王芳, in 厦门: removed on day 2
    }
    day2 = {k: v for k, v in day1.items() if k != "r:4"}
    day2["r:5"] = (person("r:5", "李燕"), "CM8")  # a new 李燕, in 厦门

    def build(day, con=None, incremental=False):
        con = warehouse([r for r, _ in day.values()], {k: c for k, (_, c) in day.items()}, con)
        return con, build_relationships(con, incremental=incremental)

    def owned(frame):
        rows = frame[frame["relationship_type"] == "owned_by"]
        return rows[["from_customer_id", "to_customer_id"]].values.tolist()

    whole_con, whole = build(day2)
    con, first = build(day1)
    assert owned(first) == [["CM1", "CM2"], ["CM3", "CM4"]]
    assert con.execute(f"FROM {RARE_OWNER_NAMES} ORDER BY ALL").fetchall() == [
        ("李燕",),
        ("胡凯庆",),
    ]
    if not names_kept:
        con.execute(f"DROP TABLE {RARE_OWNER_NAMES}")
    with caplog.at_level("INFO", logger="matching.master.record_relationships"):
        _, incremental = build(day2, con, incremental=True)
    assert owned(whole) == [["CM1", "CM2"], ["CM5", "CM6"]]
    assert [tuple(map(str, r)) for r in incremental.itertuples(index=False)] == [
        tuple(map(str, r)) for r in whole.itertuples(index=False)
    ]
    for table in (RELATIONSHIPS_READ, RARE_OWNER_NAMES):
        query = f"FROM {table} ORDER BY ALL"
        assert con.execute(query).fetchall() == whole_con.execute(query).fetchall(), table
    # the two touched customers (CM7's 王芳 removed, CM8's 李燕 new) and the shops and
    # persons of the two names whose rarity changed: d:2, r:2, d:3, r:3 and r:5 (and d:1,
    # r:1 of 胡凯庆 when the names were not kept)
    read = 5 if names_kept else 7
    assert f"read again from {read} records of customers near 2 touched" in caplog.text


def test_every_name_read_as_a_branchs_holds_a_branch_word_the_step_reads_names_by():
    """The relationships step reads only company names holding a word of ``BRANCH_WORDS``
    before testing them with ``is_branch_name``: every name that test takes holds one."""
    from matching.master.branches import BRANCH_WORDS, is_branch_name

    names = pd.Series(
        [
            "厦门快心电脑有限公司福州分公司",
            "快心电脑莆田分店 ",
            "Xiamen Kuaixin Computer Co., Ltd. Fuzhou Branch",
            "KUAIXIN DIANNAO (XIAMEN) CO LTD FUZHOU BRANCH",
            "厦门快心电脑有限公司",
            "Branchline Trading Co., Ltd.",
        ]
    )
    taken = names[is_branch_name(names)]
    assert len(taken) == 4
    assert all(any(word in name.lower() for word in BRANCH_WORDS) for name in taken)


def _day_records(day: pd.DataFrame) -> tuple[list[dict], dict[str, str]]:
    """The records and current customers of a day's frame (``record_key`` index)."""
    rows = day.assign(birth_date=pd.to_datetime(day["birth_date"]).dt.date)
    rows = rows.astype(object).where(rows.notna(), None)
    return rows.reset_index().to_dict("records"), dict(
        zip(day.index, day["customer_id"], strict=True)
    )


@pytest.mark.parametrize("moved", ["names_over", "names_under", "records_over", "records_under"])
def test_names_whose_blocking_value_crosses_its_limit_score_as_in_a_whole_build(
    staged, make_staged, company_model, moved
):
    """A blocking value shared by more names, or by more records, than the limit (two,
    here) blocks nothing. A day moves 快心电脑 across it without touching the names or
    records that hold it: a third name of it is mentioned, or one of three is no longer
    (``names_*``); a third company record of it comes, or one of three goes
    (``records_*``). The pairs of the untouched names and records holding it are scored
    again, so what each name matched and the relationships are a whole build's."""
    from matching.linkage.junk import JunkRules
    from matching.linkage.prepared_store import prepare_by_type, save_prepared

    junk = JunkRules(max_records_per_value=25, max_block_size=2)
    models = {"company": company_model}

    def day_warehouse(day, con=None):
        con = warehouse(*_day_records(day), con=con)
        con.execute("CREATE SCHEMA IF NOT EXISTS matching")
        save_prepared(con, prepare_by_type(con.sql("FROM staging.customers").df(), junk))
        return con

    base = staged.drop(columns="truth").assign(customer_id=staged["truth"]).set_index("record_key")
    base.loc["dealers:D014", "parent_company_name"] = "厦门市快心电脑有限公司"
    base.loc["dealers:D010", "parent_company_name"] = "快心电脑股份有限公司"
    third = base.copy()
    # a third name of 快心电脑, on a person's record: no company record changes
    person = third.index[third["entity_type"] == "person"][0]
    third.loc[person, "parent_company_name"] = "厦门快心电脑有限公司"
    more = make_staged(
        [{"record_key": "dealers:D901", "truth": "C_KX_GZ", "name": "快心电脑股份有限公司",
          "province": "广东省", "city": "广州市", "phone": "+862000000901"}],
        [],
    )  # fmt: skip
    more = pd.concat(
        [base, more.drop(columns="truth").assign(customer_id="C_KX_GZ").set_index("record_key")]
    )
    day1, day2 = {
        "names_over": (base, third),
        "names_under": (third, base),
        "records_over": (base, more),
        "records_under": (more, base),
    }[moved]

    matched = """SELECT record_key FROM master.mention_matches
                 WHERE name = '厦门市快心电脑有限公司' AND record_key IS NOT NULL"""
    whole_con = day_warehouse(day2)
    whole = build_relationships(whole_con, models, junk)
    con = day_warehouse(day1)
    build_relationships(con, models, junk)
    day1_matched = con.execute(matched).fetchall()
    day_warehouse(day2, con=con)
    incremental = build_relationships(con, models, junk, incremental=True)

    query = "FROM master.mention_matches ORDER BY ALL"
    assert con.execute(query).fetchall() == whole_con.execute(query).fetchall()
    assert [tuple(map(str, r)) for r in incremental.itertuples(index=False)] == [
        tuple(map(str, r)) for r in whole.itertuples(index=False)
    ]
    # the day moved what the name matched (under the limit it matches 快心电脑's record, over
    # it nothing): a build that kept its pairs would differ
    over = moved in ("names_over", "records_over")
    assert bool(day1_matched) == over
    assert bool(whole_con.execute(matched).fetchall()) != over

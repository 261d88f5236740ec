"""The matcher's copy of staged records: junk values nulled and reported, keys derived."""

import pandas as pd
import pyarrow as pa
import pytest

from matching.linkage.features import (
    PREPARED_COLUMNS,
    bigram_lists,
    character_bigrams,
    prepare_records,
)
from matching.linkage.junk import JunkRules
from sources.schema import STAGED_COLUMNS


def staged(*rows: dict) -> pd.DataFrame:
    """Company rows with every staged column (name_core defaults to the name)."""
    full = []
    for i, row in enumerate(rows):
        record = dict.fromkeys(STAGED_COLUMNS)
        record.update(record_key=f"s:{i}", entity_type="company")
        record.update(row)
        record["name_core"] = record["name_core"] or record["name"]
        full.append(record)
    return pd.DataFrame(full)


def values(series: pd.Series) -> list:
    """Plain Python values, None for missing."""
    return [None if pd.isna(v) else v for v in series.astype(object)]


def suppressed(prepared) -> set[tuple]:
    return set(
        prepared.suppressed[["column", "value", "reason"]].itertuples(index=False, name=None)
    )


def test_placeholders_are_nulled_and_reported():
    records = staged(
        {
            "name": "无",
            "phone": "+8659288888888",
            "email": "none@qq.com",
            "uscc": "000000000000000000",
        },
        {"name": "洪来文印店", "phone": "+865925551234", "email": "honglai@163.com"},
    )
    prepared = prepare_records(records, "company")
    first, second = prepared.records.iloc[0], prepared.records.iloc[1]
    assert first[["name_key", "phone_block", "email_block", "uscc_block"]].isna().all()
    assert second["name_key"] == "洪来文印店"
    assert second["phone_block"] == "+865925551234"
    assert {
        ("name_key", "无", "placeholder"),
        ("phone_block", "+8659288888888", "placeholder"),
        ("email_block", "none@qq.com", "placeholder"),
        ("uscc_block", "000000000000000000", "placeholder"),
    } <= suppressed(prepared)


def test_values_shared_by_too_many_records_are_nulled():
    hotline = "+864008352114"
    records = staged(
        *[{"name": f"公司{i}", "phone": hotline} for i in range(4)],
        {"name": "甲", "phone": "+865925551234"},
    )
    prepared = prepare_records(records, "company", JunkRules(max_records_per_value=3))
    assert values(prepared.records["phone_block"]) == [None] * 4 + ["+865925551234"]
    report = prepared.suppressed.set_index(["column", "value"])
    assert report.loc[("phone_block", hotline), "records"] == 4
    assert report.loc[("phone_block", hotline), "reason"] == "shared_by_too_many_records"

    kept = prepare_records(records, "company", JunkRules(max_records_per_value=4))
    assert values(kept.records["phone_block"])[:4] == [hotline] * 4
    assert kept.suppressed.empty


def test_block_keys_are_capped_but_names_are_still_compared():
    records = staged(
        *[{"name": "便利店", "city": "厦门市", "province": "福建省"} for _ in range(3)]
    )
    prepared = prepare_records(records, "company", JunkRules(max_block_size=2))
    assert values(prepared.records["name_key"]) == ["便利店"] * 3
    assert prepared.records["name_block"].isna().all()
    assert prepared.records["name_city_block"].isna().all()


def test_derived_keys():
    records = staged(
        {
            "name": "洪来文印店",
            "phone": "+865925551234",
            "province": "福建省",
            "city": "福州市",
            "district": "鼓楼区",
            "address_detail": "五四路18号",
        },
        {
            "name": "Acme Trading",
            "phone": "+8613800138000",
            "province": "江苏省",
            "city": "南京市",
            "district": "鼓楼区",
        },
        {"name": "甲乙", "phone": "+864008352114", "district": "鼓楼区"},
    )
    out = prepare_records(records, "company").records
    assert list(out.columns) == list(PREPARED_COLUMNS)
    # landline tail only for landlines, not for mobiles or 400 numbers
    assert values(out["phone_tail"]) == ["5551234", None, None]
    # the same district name in two cities is two districts; no city, no district key
    assert values(out["district_key"]) == ["福建省|福州市|鼓楼区", "江苏省|南京市|鼓楼区", None]
    assert values(out["name_city_block"]) == ["洪来|福建省|福州市", "acme|江苏省|南京市", None]
    assert list(out.loc[0, "name_grams"]) == ["印店", "文印", "来文", "洪来"]
    assert list(out.loc[0, "address_grams"]) == sorted({"五四", "四路", "路1", "18", "8号"})


def test_only_the_requested_entity_type_is_prepared():
    records = staged(
        {"name": "甲公司"},
        {"name": "张伟", "entity_type": "person", "birth_date": pd.Timestamp("1985-03-12")},
    )
    persons = prepare_records(records, "person").records
    assert values(persons["record_key"]) == ["s:1"]
    assert persons.loc[0, "name_birth_block"] == "张伟|1985-03-12"


def test_bad_input_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="entity_type must be one of"):
        prepare_records(staged({"name": "甲"}), "organisation")
    with pytest.raises(ValueError, match="lack column.*uscc"):
        prepare_records(staged({"name": "甲"}).drop(columns="uscc"), "company")
    with pytest.raises(ValueError, match="record_key must be unique.*s:0"):
        prepare_records(staged({"name": "甲"}, {"name": "乙", "record_key": "s:0"}), "company")
    with pytest.raises(ValueError, match="at least 1"):
        JunkRules(max_block_size=0)


def test_street_address_and_the_keys_built_on_it():
    records = staged(
        {
            "name": "南红网络工程",
            "legal_form": "有限公司",
            "province": "浙江省",
            "city": "杭州市",
            "address_detail": "解放路20号 2516室",
        },
        {"name": "南红网络工程", "address_detail": " "},
    )
    out = prepare_records(records, "company").records
    # spaces typed inside a street address do not make another address
    assert values(out["address_detail"]) == ["解放路20号2516室", None]
    assert values(out["name_street_block"]) == ["南红|解放路20号2516室", None]
    assert values(out["legal_form"]) == ["有限公司", None]
    persons = staged(
        {"name": "唐琳", "entity_type": "person", "city": "杭州市", "province": "浙江省",
         "name_pinyin": "tang lin", "name_latin": "tang lin", "address_detail": "莫干山路339号"},
    )  # fmt: skip
    person = prepare_records(persons, "person").records.iloc[0]
    assert person["name_street_block"] == "唐琳|莫干山路339号"  # the whole name for persons
    # a person's Latin form blocks in any order: 'Lin Tang' meets 唐琳
    assert person["pinyin_city_block"] == "lin tang|浙江省|杭州市"


def test_only_genuine_placeholder_ids_are_nulled():
    real = ["3004030", "110101199003074411", "91350200MA2Y0X0X0X"]
    filler = ["0000000", "1111111", "1234567", "0123456789", "7654321", "---"]
    records = staged(*[{"name": f"公司{i}", "uscc": v} for i, v in enumerate(real + filler)])
    prepared = prepare_records(records, "company")
    assert values(prepared.records["uscc_block"]) == real + [None] * len(filler)
    report = prepared.suppressed
    placeholders = set(report.loc[report["column"] == "uscc_block", "value"])
    assert placeholders == set(filler)


def test_birth_date_blocks_are_capped():
    born = pd.Timestamp("1985-03-12")
    rows = [{"name": f"某{i}", "entity_type": "person", "birth_date": born} for i in range(3)] + [
        {"name": "张伟", "entity_type": "person", "birth_date": pd.Timestamp("1990-07-01")},
        {"name": "章玮", "entity_type": "person", "birth_date": pd.Timestamp("1990-07-01")},
    ]
    prepared = prepare_records(staged(*rows), "person", JunkRules(max_block_size=2))
    # a date shared by more records than max_block_size creates no block
    assert values(prepared.records["birth_block"]) == [None] * 3 + ["1990-07-01"] * 2
    assert ("birth_block", "1985-03-12", "shared_by_too_many_records") in suppressed(prepared)


def test_every_usable_number_of_a_record_is_in_one_list():
    records = staged(
        {"name": "快心电脑", "phone": "+865925551234", "mobile": "+8613800138000",
         "other_phones": ["+8613900139000", "+864008352114"], "is_branch": False},
        {"name": "快心电脑", "mobile": "+8613900139000", "is_branch": True},
        {"name": "快心电脑"},
    )  # fmt: skip
    out = prepare_records(records, "company").records
    # the service number is a brand's, never evidence of one customer
    assert [list(v) if v is not None else None for v in out["phone_numbers"]] == [
        ["+8613800138000", "+8613900139000", "+865925551234"],  # sorted
        ["+8613900139000"],
        None,
    ]
    assert values(out["branch"]) == ["not", "branch", None]


def test_latin_forms_block_a_cross_script_pair():
    records = staged(
        {"name": "快心电脑", "name_latin": "kuaixindiannao", "city": "厦门市", "province": "福建省"},
        {"name": "Kuaixin Computer", "name_latin": "kuaixindiannao", "city": "厦门市",
         "province": "福建省"},
    )  # fmt: skip
    out = prepare_records(records, "company").records
    assert out["pinyin_city_block"].nunique() == 1


def test_look_alike_spellings_have_one_shape():
    records = staged({"name": "阵春涛"}, {"name": "陈春涛"}, {"name": "张春涛"})
    out = prepare_records(records, "company").records
    assert values(out["name_shape"]) == ["阵春涛", "阵春涛", "张春涛"]


def test_a_company_rows_contact_mobile_is_among_the_companys_numbers():
    records = staged(
        {"name": "佳金文化传媒", "mobile": "+8618092184814", "contact_name": "周轩",
         "contact_mobile": "+8613097373354"},
        {"name": "周轩", "entity_type": "person", "contact_mobile": "+8613097373354"},
    )  # fmt: skip
    companies = prepare_records(records, "company").records
    # an export that writes the contact's mobile in the company's column meets this row
    assert list(companies["phone_numbers"][0]) == ["+8613097373354", "+8618092184814"]
    persons = prepare_records(records, "person").records
    assert persons["phone_numbers"][0] is None


def test_a_postcode_is_compared_as_typed_and_may_be_absent():
    records = staged({"name": "Jack Stubbs", "postcode": " 5344"}, {"name": "Jack Stubbs"})
    out = prepare_records(records, "company").records
    assert values(out["postcode"]) == ["5344", None]
    # records staged without the column (older staging, a hand-made record) still prepare
    older = records.drop(columns="postcode")
    assert values(prepare_records(older, "company").records["postcode"]) == [None, None]


def test_persons_meet_on_the_postcode_and_their_name_in_any_order_or_one_word_of_it():
    rows = [
        {"name": "Kyra Wilde", "name_latin": "kyra wilde", "postcode": "3859"},
        {"name": "Wilde Kyra", "name_latin": "wilde kyra", "postcode": "3859"},
        {"name": "Madison", "name_latin": "madison", "postcode": "5047"},
        {"name": "张伟", "name_latin": "zhang wei"},
    ]
    persons = prepare_records(staged(*[{**r, "entity_type": "person"} for r in rows]), "person")
    out = persons.records
    # the same name the other way round: one key
    assert values(out["latin_postcode_block"]) == ["kyra wilde|3859"] * 2 + ["madison|5047", None]
    # a given or family name shared, the other changed: 'Kylie Dixon' meets 'Madison Dixon'
    assert values(out["first_word_postcode_block"]) == [
        "kyra|3859",
        "wilde|3859",
        "madison|5047",
        None,
    ]
    assert values(out["last_word_postcode_block"]) == [
        "wilde|3859",
        "kyra|3859",
        "madison|5047",
        None,
    ]
    # companies have no such keys
    company = prepare_records(staged({"name": "Kuaixin", "postcode": "3859"}), "company").records
    assert values(company["latin_postcode_block"]) == [None]


def test_bigrams_of_many_texts_are_those_of_each_text_alone():
    # code points, not bytes or grapheme clusters: a combining accent, an emoji with its
    # skin tone, a character outside the BMP, full-width and Latin text, repeats, one
    # character, missing values
    texts = [
        "厦门快心电脑",
        "解放路20号2516室",
        "e\u0301cole",
        "👍🏽ok",
        "𠮷野家",
        "ＡＢＣabc",
        "aaaa",
        "中",
        None,
        "Zhang Wei",
        "中",
        pd.NA,
    ]
    grams = bigram_lists({"t": pd.Series(texts, dtype="string[pyarrow]")})["t"]
    expected = [None if pd.isna(t) else character_bigrams(t) for t in texts]
    assert grams.to_pylist() == expected
    assert grams.type == pa.list_(pa.string())

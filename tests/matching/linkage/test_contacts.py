"""Contact persons named on company records: the same name at one company is one person."""

import duckdb
import pandas as pd
import pytest

from matching.linkage.components import cluster_pairs
from matching.linkage.contacts import (
    CONTACT_PAIR_COLUMNS,
    PREPARED_CONTACT_COLUMNS,
    RULE_PROBABILITY,
    SAME_CONTACT_AT_SAME_COMPANY,
    contact_person_pairs,
    prepared_contacts,
)
from matching.linkage.features import prepare_records, prepare_uncapped
from sources.schema import STAGED_COLUMNS
from sources.standardise import to_pinyin


def staged(*rows: dict) -> pd.DataFrame:
    """Person rows with every staged column; ``company`` names the record a contact came from."""
    full = []
    for row in rows:
        record = dict.fromkeys(STAGED_COLUMNS)
        record.update(entity_type="person", **{k: v for k, v in row.items() if k != "company"})
        if "company" in row:
            record["record_key"] = f"{row['company']}:contact"
            record["derived_from_record_key"] = row["company"]
        record["name_core"] = record["name"]
        full.append(record)
    frame = pd.DataFrame(full)
    frame["name_pinyin"] = to_pinyin(frame["name_core"])
    return frame


def companies(*groups: tuple[str, ...]) -> pd.DataFrame:
    """Company clusters: each group of company record keys is one customer."""
    rows = [(key, min(group)) for group in groups for key in group]
    return pd.DataFrame(rows, columns=["record_key", "cluster_id"])


def linked(links: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(links["record_key_l"], links["record_key_r"], strict=True))


def test_namesakes_at_one_company_link_and_elsewhere_do_not():
    records = staged(
        {"company": "dealers:D1", "name": "陈洪来"},
        {"company": "key_accounts:K7", "name": "陈洪来", "mobile": "+8613800138000"},
        {"company": "regional:R3", "name": "陈鸿来"},  # a homophone typed by ear
        {"company": "dealers:D9", "name": "陈洪来"},  # same name, another company
        {"record_key": "regional:P5", "name": "陈洪来"},  # an individual customer
    )
    clusters = companies(("dealers:D1", "key_accounts:K7", "regional:R3"), ("dealers:D9",))
    links = contact_person_pairs(records, clusters)
    assert list(links.columns) == list(CONTACT_PAIR_COLUMNS)
    assert linked(links) == {
        ("dealers:D1:contact", "key_accounts:K7:contact"),
        ("dealers:D1:contact", "regional:R3:contact"),
    }
    assert (links["match_probability"] == RULE_PROBABILITY).all()
    assert links["match_weight"].isna().all()
    assert (links["match_rule"] == SAME_CONTACT_AT_SAME_COMPANY).all()


def test_other_names_and_disagreeing_mobiles_do_not_link():
    records = staged(
        {"company": "dealers:D1", "name": "唐敏"},
        {"company": "dealers:D2", "name": "唐敏杰"},  # another person at the same company
        {"company": "dealers:D3", "name": "王芳", "mobile": "+8613606061111"},
        {"company": "dealers:D4", "name": "王芳", "mobile": "+8613606062222"},
        {"company": "dealers:D5", "name": "王芳"},
        {"company": "dealers:D6", "name": "先生"},  # a placeholder, not a name
        {"company": "dealers:D7", "name": "先生"},
        {"company": "dealers:D8", "name": "邓英"},  # sounds like 邓?英 once '?' is dropped
        {"company": "dealers:D9", "name": "邓?英"},
    )
    clusters = companies(tuple(f"dealers:D{i}" for i in range(1, 10)))
    assert contact_person_pairs(records, clusters).empty


def test_a_company_record_missing_from_the_clusters_is_its_own_customer():
    records = staged(
        {"company": "dealers:D1", "name": "李娜"},
        {"company": "dealers:D2", "name": "李娜"},
    )
    assert contact_person_pairs(records, companies(("dealers:D1",))).empty
    both = contact_person_pairs(records, companies(("dealers:D1", "dealers:D2")))
    assert linked(both) == {("dealers:D1:contact", "dealers:D2:contact")}


def test_links_join_person_clusters_with_the_model_pairs():
    records = staged(
        {"company": "dealers:D1", "name": "陈洪来"},
        {"company": "key_accounts:K7", "name": "陈洪来", "mobile": "+8613800138000"},
        {"record_key": "regional:P5", "name": "陈洪来", "mobile": "+8613800138000"},
    )
    links = contact_person_pairs(records, companies(("dealers:D1", "key_accounts:K7")))
    model_pairs = pd.DataFrame(
        {
            "record_key_l": ["key_accounts:K7:contact"],
            "record_key_r": ["regional:P5"],
            "match_probability": [0.998],
        }
    )
    out = cluster_pairs(records["record_key"], pd.concat([model_pairs, links]), 0.9)
    assert out["cluster_id"].nunique() == 1


def test_bad_input_is_refused():
    records = staged({"company": "dealers:D1", "name": "李娜"})
    with pytest.raises(ValueError, match="company_clusters lacks column.*cluster_id"):
        contact_person_pairs(records, pd.DataFrame({"record_key": ["dealers:D1"]}))
    with pytest.raises(ValueError, match="derived_from_record_key"):
        contact_person_pairs(
            records.drop(columns="derived_from_record_key"), companies(("dealers:D1",))
        )
    with pytest.raises(ValueError, match="probability"):
        contact_person_pairs(records, companies(("dealers:D1",)), probability=0)
    assert contact_person_pairs(records.iloc[:0], companies(("dealers:D1",))).empty


def test_a_contact_named_in_pinyin_joins_the_one_namesake_at_the_company():
    records = staged(
        {"company": "dealers:D1", "name": "周丽媛"},
        {"company": "key_accounts:K7", "name": "Liyuan Zhou"},  # given name first
        {"company": "key_accounts:K8", "name": "ZHOU Liyuan"},
        {"company": "key_accounts:K9", "name": "Zhou Liyuan"},  # at another company
        {"company": "dealers:D2", "name": "张伟"},  # zhang wei and wei zhang at one company:
        {"company": "dealers:D3", "name": "魏章"},  # 'Wei Zhang' is left to the model
        {"company": "key_accounts:K2", "name": "Wei Zhang", "mobile": "+8613800138000"},
    )
    clusters = companies(
        ("dealers:D1", "key_accounts:K7", "key_accounts:K8"),
        ("key_accounts:K9",),
        ("dealers:D2", "dealers:D3", "key_accounts:K2"),
    )
    assert linked(contact_person_pairs(records, clusters)) == {
        ("dealers:D1:contact", "key_accounts:K7:contact"),
        ("dealers:D1:contact", "key_accounts:K8:contact"),
    }


def test_a_mobile_taken_from_the_company_row_does_not_keep_namesakes_apart():
    records = staged(
        {"company": "dealers:D1", "name": "陈洪来", "mobile": "+8613800138000"},
        # this row's 手机 was the company's own; staging gave it to the contact, flagged
        {"company": "regional:R3", "name": "陈洪来", "mobile": "+8613700137000",
         "quality_flags": "mobile_from_company_row"},
        {"company": "dealers:D2", "name": "李娜", "mobile": "+8613900139000"},
        {"company": "regional:R4", "name": "李娜", "mobile": "+8613600136000"},  # her own: two people
    )  # fmt: skip
    clusters = companies(("dealers:D1", "regional:R3"), ("dealers:D2", "regional:R4"))
    assert linked(contact_person_pairs(records, clusters)) == {
        ("dealers:D1:contact", "regional:R3:contact")
    }


def test_contacts_read_from_prepared_records_are_those_prepared_again():
    # 30 contacts share one mobile (over the limit of 25: nulled, so they link), one of
    # them named in pinyin; a customer of her own shares it too but is not a contact
    shared = "+8613800138000"
    records = staged(
        *({"company": f"dealers:D{i}", "name": "陈洪来", "mobile": shared} for i in range(30)),
        {"company": "key_accounts:K1", "name": "Honglai Chen"},
        {"company": "key_accounts:K2", "name": "李娜", "mobile": "+8613900139000"},
        {"record_key": "regional:P5", "name": "陈洪来", "mobile": shared},
    )
    clusters = companies(
        (*(f"dealers:D{i}" for i in range(30)), "key_accounts:K1", "key_accounts:K2")
    )
    with duckdb.connect() as con:
        con.register("uncapped", prepare_uncapped(records, "person"))
        con.register("records", records)
        con.execute("CREATE TABLE staged AS FROM records")  # a table: its rows have a rowid
        prepared = prepared_contacts(con, "uncapped", "staged")
    contacts = records[records["derived_from_record_key"].notna()]
    again = prepare_records(contacts, "person").records[list(PREPARED_CONTACT_COLUMNS)]
    pd.testing.assert_frame_equal(prepared, again)
    assert prepared["mobile_block"].isna().sum() == 31  # the shared mobile, and K1's none
    links = contact_person_pairs(records, clusters, prepared=prepared)
    pd.testing.assert_frame_equal(links, contact_person_pairs(records, clusters))
    assert len(links) == 30
    with pytest.raises(ValueError, match="no prepared row"):
        contact_person_pairs(records, clusters, prepared=prepared.iloc[1:])

"""Contact persons named on company rows: their record, and whose the row's mobile is."""

import pandas as pd

from sources.config.feeds import SourceConfig
from sources.schema import STAGED_COLUMNS
from sources.staging import derive_contact_persons


def staged(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame([{c: r.get(c) for c in STAGED_COLUMNS} for r in rows], dtype=object)


def company(key: str, source: str, **more) -> dict:
    return {
        "record_key": key,
        "source": source,
        "source_record_id": key.split(":")[1],
        "entity_type": "company",
        "name": "厦门快心电脑有限公司",
        **more,
    }


ROWS = staged(
    # the 手机 column holds the contact's mobile, the contact column is empty
    company("dealers:1", "dealers", contact_name="张伟", mobile="+8613800138000"),
    # the contact has a mobile of their own: the row's mobile stays the company's only
    company(
        "dealers:2",
        "dealers",
        contact_name="李娜",
        contact_mobile="+8613900139000",
        mobile="+8613700137000",
    ),
    # a source whose config says the company mobile is never the contact's
    company("crm:3", "crm", contact_name="王芳", mobile="+8613600136000"),
    # no contact named: nothing derived
    company("dealers:4", "dealers", mobile="+8613500135000"),
)


def test_the_row_mobile_goes_to_a_contact_without_one_in_sources_that_say_so():
    contacts = derive_contact_persons(ROWS, takes_mobile={"dealers"}).set_index("record_key")
    assert list(contacts.index) == ["dealers:1:contact", "dealers:2:contact", "crm:3:contact"]
    assert contacts.loc["dealers:1:contact", "mobile"] == "+8613800138000"
    assert contacts.loc["dealers:2:contact", "mobile"] == "+8613900139000"
    assert pd.isna(contacts.loc["crm:3:contact", "mobile"])
    assert (contacts["derived_from_record_key"] == ["dealers:1", "dealers:2", "crm:3"]).all()
    assert ROWS.loc[0, "mobile"] == "+8613800138000"  # it stays the company's mobile too


def test_a_contact_changes_only_when_the_contact_does():
    """Its fingerprint is the contact's own: a new landline or address on the company's row
    leaves it as it was, a new contact mobile does not."""

    def contact_hash(**company_fields) -> str:
        row = company("dealers:2", "dealers", contact_name="李娜", record_hash="row-hash-1")
        contacts = derive_contact_persons(staged(row | company_fields), takes_mobile={"dealers"})
        return contacts.loc[0, "record_hash"]

    before = contact_hash(phone="+865925551234")
    assert contact_hash(phone="+865925559999", address_detail="环岛东路1号") == before
    assert contact_hash(phone="+865925551234", record_hash="row-hash-2") == before
    assert contact_hash(phone="+865925551234", contact_mobile="+8613900139000") != before
    assert contact_hash(phone="+865925551234", contact_title="经理") != before


def test_without_sources_that_take_it_a_contact_keeps_only_their_own_mobile():
    contacts = derive_contact_persons(ROWS).set_index("record_key")
    assert pd.isna(contacts.loc["dealers:1:contact", "mobile"])


def test_sources_give_the_mobile_to_the_contact_unless_their_config_says_otherwise():
    spec = {
        "name": "dealers",
        "kind": "dealer",
        "path": "x/*.csv",
        "entity_type": "company",
        "columns": {"source_record_id": "id", "name": "name"},
    }
    assert SourceConfig(**spec).contact_takes_mobile is True
    assert SourceConfig(**spec, contact_takes_mobile=False).contact_takes_mobile is False


def test_a_contact_that_took_the_row_mobile_is_flagged():
    contacts = derive_contact_persons(ROWS, takes_mobile={"dealers"}).set_index("record_key")
    assert contacts.loc["dealers:1:contact", "quality_flags"] == "mobile_from_company_row"
    assert pd.isna(contacts.loc["dealers:2:contact", "quality_flags"])
    assert pd.isna(contacts.loc["crm:3:contact", "quality_flags"])

"""Golden values by rule, with the record and rule that supplied each."""

from datetime import date
from types import SimpleNamespace

import duckdb
import pandas as pd
import pytest

from matching.master.survivorship import survive
from sources.build_staging import STAGED_SCHEMA

TRUST = {"dealers": 1, "regional": 2, "key_accounts": 3}


def staged(rows: list[dict]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA staging")
    frame = pd.DataFrame([{c: r.get(c) for c in STAGED_SCHEMA.names} for r in rows])
    import pyarrow as pa

    con.register(
        "incoming", pa.Table.from_pandas(frame, schema=STAGED_SCHEMA, preserve_index=False)
    )
    con.execute("CREATE TABLE staging.customers AS FROM incoming")
    con.unregister("incoming")
    return con


def record(key: str, source: str, **values) -> dict:
    return {"record_key": key, "source": source, "entity_type": "company", **values}


@pytest.fixture
def shop():
    con = staged(
        [
            record(
                "dealers:1",
                "dealers",
                name="厦门洪来文印店",
                name_core="洪来文印店",
                phone="+865925551234",
                uscc="92350200MA31234X7K",
                quality_flags="uscc_invalid",
                created_at=date(2024, 3, 1),
                address_detail="湖滨南路1号",
                city="厦门市",
            ),
            record(
                "regional:7",
                "regional",
                name="洪来文印店",
                name_core="洪来文印店",
                phone="+865925559999",
                created_at=date(2025, 6, 1),
                address_detail="湖滨南路1号501室",
                province="福建省",
                city="厦门市",
                district="思明区",
            ),
            record(
                "key_accounts:3",
                "key_accounts",
                name="厦门市洪来文印店",
                name_core="洪来文印店",
                mobile="+8613800138000",
                created_at=date(2023, 1, 5),
            ),
            record(
                "dealers:9",
                "dealers",
                name="洪来文印店",
                name_core="洪来文印店",
                mobile="+8613800138000",
                quality_flags="mobile_invalid",
                created_at=date(2022, 1, 5),
            ),
        ]
    )
    xref = pd.DataFrame(
        {
            "record_key": ["dealers:1", "regional:7", "key_accounts:3", "dealers:9"],
            "customer_id": ["CM00000001"] * 4,
            "entity_type": ["company"] * 4,
        }
    )
    return survived(con, xref, TRUST)


def survived(*args, **kwargs) -> SimpleNamespace:
    """The golden records as frames, to read them cell by cell."""
    golden = survive(*args, **kwargs)
    return SimpleNamespace(
        customers=golden.customers.to_pandas(), lineage=golden.lineage.to_pandas()
    )


def lineage(golden, attribute: str) -> tuple:
    row = golden.lineage.set_index("attribute").loc[attribute]
    return row["value"], row["record_key"], row["rule"]


def test_legal_name_from_the_most_trusted_source(shop):
    assert lineage(shop, "name") == ("厦门市洪来文印店", "key_accounts:3", "trust")
    assert shop.customers.loc[0, "name_core"] == "洪来文印店"  # the name's parts come with it


def test_an_invalid_uscc_never_survives(shop):
    assert shop.customers.loc[0, "uscc"] is None or pd.isna(shop.customers.loc[0, "uscc"])
    assert "uscc" not in set(shop.lineage["attribute"])


def test_the_most_recent_valid_phone_wins(shop):
    assert lineage(shop, "phone") == ("+865925559999", "regional:7", "recent")


def test_a_valid_mobile_beats_an_invalid_one_and_agreement_is_recorded(shop):
    value, key, rule = lineage(shop, "mobile")
    assert (value, key) == ("+8613800138000", "key_accounts:3") and rule in ("valid", "agreed")


def test_the_fullest_address_survives_as_a_whole(shop):
    golden = shop.customers.iloc[0]
    assert (golden["province"], golden["city"], golden["district"], golden["address_detail"]) == (
        "福建省",
        "厦门市",
        "思明区",
        "湖滨南路1号501室",
    )
    assert lineage(shop, "address")[1:] == ("regional:7", "complete")


def test_golden_record_carries_sources_counts_and_dates(shop):
    golden = shop.customers.iloc[0]
    assert list(golden["sources"]) == ["dealers", "key_accounts", "regional"]
    assert golden["record_count"] == 4
    assert pd.Timestamp(golden["first_seen"]) == pd.Timestamp("2022-01-05")
    assert pd.Timestamp(golden["last_updated"]) == pd.Timestamp("2025-06-01")


def test_configured_rules_replace_the_defaults():
    con = staged(
        [
            record("dealers:1", "dealers", name="甲", created_at=date(2025, 1, 1)),
            record("key_accounts:1", "key_accounts", name="乙", created_at=date(2020, 1, 1)),
        ]
    )
    xref = pd.DataFrame(
        {
            "record_key": ["dealers:1", "key_accounts:1"],
            "customer_id": ["C1", "C1"],
            "entity_type": ["company", "company"],
        }
    )
    golden = survived(con, xref, TRUST, rules={"name": ("recent",)})
    assert lineage(golden, "name") == ("甲", "dealers:1", "recent")


def test_a_contact_persons_invalid_mobile_does_not_invalidate_the_customers_own():
    con = staged(
        [
            record("dealers:1", "dealers", name="洪来文印店", mobile="+8613800138000",
                   quality_flags="contact_mobile_invalid", created_at=date(2025, 1, 1)),
            record("key_accounts:2", "key_accounts", name="洪来文印店", mobile="+8613900139000",
                   quality_flags="mobile_invalid", created_at=date(2024, 1, 1)),
        ]
    )  # fmt: skip
    xref = pd.DataFrame(
        {
            "record_key": ["dealers:1", "key_accounts:2"],
            "customer_id": ["CM00000001"] * 2,
            "entity_type": ["company"] * 2,
        }
    )
    golden = survived(con, xref, TRUST)
    assert lineage(golden, "mobile") == ("+8613800138000", "dealers:1", "valid")


def test_the_rule_named_is_the_first_that_tells_the_values_apart_beside_single_record_customers():
    """Two dealers (same trust) name different dealer codes: recency decided, not trust. A
    customer with one record beside it once made equal trusts read as different."""
    con = staged(
        [
            record("dealers:1", "dealers", dealer_code="BJ01", created_at=date(2026, 4, 8)),
            record("dealers:2", "dealers", dealer_code="BJ04", created_at=date(2024, 10, 30)),
            record("dealers:3", "dealers", dealer_code="XM02", created_at=date(2025, 1, 1)),
        ]
    )
    xref = pd.DataFrame(
        {
            "record_key": ["dealers:1", "dealers:2", "dealers:3"],
            "customer_id": ["CM00000001", "CM00000001", "CM00000002"],
            "entity_type": ["company"] * 3,
        }
    )
    golden = survived(con, xref, TRUST, rules={"dealer_code": ("trust", "recent")})
    rules = golden.lineage.set_index(["customer_id", "attribute"])["rule"]
    assert rules[("CM00000001", "dealer_code")] == "recent"
    assert rules[("CM00000002", "dealer_code")] == "only value"


def test_a_birth_date_in_the_lineage_reads_as_a_date():
    con = staged([record("regional:1", "regional", birth_date=date(1980, 1, 2))])
    xref = pd.DataFrame(
        {"record_key": ["regional:1"], "customer_id": ["CM00000001"], "entity_type": ["person"]}
    )
    assert lineage(survived(con, xref, TRUST), "birth_date")[0] == "1980-01-02"

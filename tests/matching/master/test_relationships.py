"""Relationships between current customers, from contact persons, households and dealer codes."""

import duckdb
import pandas as pd
import pyarrow as pa

from matching.master.relationships import build_relationships
from sources.build_staging import STAGED_SCHEMA


def warehouse(records: list[dict], xref: dict[str, str]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA staging; CREATE SCHEMA master")
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


def test_family_needs_surname_landline_and_address_together():
    con = warehouse(
        [
            person("r:1", "陈建国", "+865925551234", "湖滨南路1号501室"),
            person("r:2", "陈静", "+865925551234", "湖滨南路1号 501室"),  # same household
            person("r:3", "王芳", "+865925551234", "湖滨南路1号501室"),  # other surname: a tenant
            person("r:4", "陈明", "+865925559999", "湖滨南路1号501室"),  # own landline
        ],
        {"r:1": "CM1", "r:2": "CM2", "r:3": "CM3", "r:4": "CM4"},
    )
    family = build_relationships(con)
    assert family[
        ["from_customer_id", "to_customer_id", "relationship_type", "inferred"]
    ].values.tolist() == [["CM1", "CM2", "family", True]]
    assert family.iloc[0]["confidence"] == 0.8

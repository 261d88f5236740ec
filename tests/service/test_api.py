"""The API on the shared demo's published serving index: answers, pages, search, errors, docs."""

import re
import shutil

import duckdb
import opencc
import phonenumbers
import pytest
from fastapi.testclient import TestClient

from matching.duplicate_check import load_checker
from matching.linkage import junk_rules
from service.api import create_app
from service.reload import SnapshotHolder
from sources.config import load_config
from warehouse.serving import TABLES, read_pointer, read_table


@pytest.fixture(scope="module")
def published(serving_dir):
    """The current index's folder (read only)."""
    pointer = read_pointer(serving_dir)
    assert pointer is not None
    return pointer


@pytest.fixture(scope="module")
def customers(published):
    return read_table(published.folder, "customers")


@pytest.fixture(scope="module")
def records(published):
    return read_table(published.folder, "records")


def test_health_names_the_published_run(client, published):
    answer = client.get("/health")
    assert answer.status_code == 200
    assert answer.json()["run_id"] == published.run_id
    assert answer.json()["rows"]["customers"] > 0


def test_the_check_answers_as_custmaster_check(client, demo_run, records, published):
    config = load_config(demo_run.folder / "customer_master.yaml")
    cli = load_checker(config.warehouse_path, config.model_path, junk_rules(config.matching))
    try:
        sample = records[records["record_key"].str.startswith("dealers:")].head(6)
        asked = 0
        for row in sample.to_dict("records"):
            fields = {"name": row["name_raw"], "phone": row["phone"], "mobile": row["mobile"]}
            fields = {k: v for k, v in fields.items() if isinstance(v, str)}
            expected = [c.as_dict() for c in cli.check(limit=5, **fields)]
            answer = client.post("/v1/check", json=fields)
            assert answer.status_code == 200, answer.text
            assert answer.json() == {"run_id": published.run_id, "candidates": expected}
            asked += bool(expected)
        assert asked >= 3  # the comparison is not of empty lists
    finally:
        cli.close()


def test_a_customer_in_other_script_and_phone_format_is_found_first(client, customers):
    company = customers[customers["phone"].notna() & (customers["entity_type"] == "company")]
    row = company.iloc[0]
    national = phonenumbers.format_number(
        phonenumbers.parse(row["phone"]), phonenumbers.PhoneNumberFormat.NATIONAL
    )
    traditional = opencc.OpenCC("s2t").convert(row["name"])
    answer = client.post("/v1/check", json={"name": traditional, "phone": national})
    assert answer.status_code == 200
    assert answer.json()["candidates"][0]["customer_id"] == row["customer_id"]


def test_a_customer_page_has_the_golden_record_and_everything_around_it(client, customers):
    row = customers.sort_values(["record_count", "customer_id"], ascending=[False, True]).iloc[0]
    answer = client.get(f"/v1/customers/{row['customer_id']}")
    assert answer.status_code == 200
    page = answer.json()
    assert page["customer_id"] == page["requested_id"] == row["customer_id"]
    assert page["merged"] is False
    assert page["golden"]["name"] == row["name"]
    assert len(page["records"]) == row["record_count"] >= 2
    assert {line["attribute"] for line in page["lineage"]} >= {"name"}
    assert all(
        line["record_key"] in {r["record_key"] for r in page["records"]} for line in page["lineage"]
    )
    assert page["roles"] and page["value"]["customer_id"] == row["customer_id"]
    assert isinstance(page["value"]["lifetime_revenue"], float)


def test_a_customer_with_relationships_and_followups_shows_them(client, published):
    followups = read_table(published.folder, "followup_today")
    customer_id = followups["customer_id"].iloc[0]
    page = client.get(f"/v1/customers/{customer_id}").json()
    assert {f["reason"] for f in page["followups"]} == set(
        followups.loc[followups["customer_id"] == customer_id, "reason"]
    )
    assert page["lifecycle"]["customer_id"] == customer_id
    relationships = read_table(published.folder, "relationships")
    employer = relationships.loc[
        relationships["relationship_type"] == "employment", "from_customer_id"
    ].iloc[0]
    page = client.get(f"/v1/customers/{employer}").json()
    assert any(r["relationship_type"] == "employment" for r in page["relationships"])


def test_an_unknown_id_is_404(client):
    answer = client.get("/v1/customers/CM99999999")
    assert answer.status_code == 404
    assert "unknown" in answer.json()["detail"]


def test_a_merged_id_answers_with_the_live_customer(serving_dir, customers, tmp_path):
    copy = shutil.copytree(serving_dir, tmp_path / "serving")
    pointer = read_pointer(copy)
    assert pointer is not None
    survivor = customers["customer_id"].iloc[0]
    with duckdb.connect(str(pointer.folder / TABLES)) as con:
        # a demo without merges has an untyped (all-NULL) merged_into column
        con.execute(
            "CREATE OR REPLACE TABLE customer_ids AS "
            "SELECT * REPLACE (CAST(merged_into AS VARCHAR) AS merged_into) FROM customer_ids"
        )
        con.execute(
            "INSERT INTO customer_ids BY NAME SELECT 'CM90000001' AS customer_id, "
            "? AS entity_type, 'merged' AS status, ? AS merged_into",
            [customers["entity_type"].iloc[0], survivor],
        )
    holder = SnapshotHolder(copy)
    try:
        with TestClient(create_app(holder)) as client:
            page = client.get("/v1/customers/CM90000001").json()
    finally:
        holder.close()
    assert page["customer_id"] == survivor
    assert page["requested_id"] == "CM90000001" and page["merged"] is True


def test_search_finds_a_customer_by_any_identifier_as_typed(client, customers):
    row = customers[
        customers["phone"].notna() & customers["email"].notna() & customers["uscc"].notna()
    ].iloc[0]
    national = phonenumbers.format_number(
        phonenumbers.parse(row["phone"]), phonenumbers.PhoneNumberFormat.NATIONAL
    )
    for q in (
        national,
        row["email"].upper(),
        row["uscc"],
        opencc.OpenCC("s2t").convert(row["name"][:4]),
        row["customer_id"],
    ):
        answer = client.get("/v1/customers", params={"q": q})
        assert answer.status_code == 200, q
        assert row["customer_id"] in [c["customer_id"] for c in answer.json()["customers"]], q


def test_search_for_nobody_finds_nobody(client):
    assert (
        client.get("/v1/customers", params={"q": "完全不存在的客户名称"}).json()["customers"] == []
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "0592-5551234"}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "厦门洪来文印店", "entity_type": "shop"}, "entity_type"),
        ({"name": "厦门洪来文印店", "fax": "0592-5551234"}, "fax"),
        ({"name": "厦门洪来文印店", "limit": 0}, "limit"),
        ({"name": 12}, "name"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(client, body, field):
    answer = client.post("/v1/check", json=body)
    assert answer.status_code == 422
    assert any(error["loc"][-1] == field for error in answer.json()["detail"]), answer.json()


def test_a_body_that_is_not_json_is_a_422(client):
    answer = client.post(
        "/v1/check", content=b"{name", headers={"content-type": "application/json"}
    )
    assert answer.status_code == 422


def test_a_search_without_a_query_is_a_422_naming_q(client):
    answer = client.get("/v1/customers")
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["query", "q"]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_everything_from_the_service(client, page):
    html = client.get(page)
    assert html.status_code == 200
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html.text)
    assert urls and not [u for u in urls if "//" in u]  # no CDN, no other host
    for url in urls:
        assert client.get(url).status_code == 200, url
    assert "fonts.googleapis" not in html.text
    schema = client.get("/openapi.json").json()
    assert {"/v1/check", "/v1/customers/{customer_id}", "/v1/customers", "/health"} <= set(
        schema["paths"]
    )

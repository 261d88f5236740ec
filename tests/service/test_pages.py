"""The customer pages for people: search, one customer's page, served offline and escaped."""

import re

import pytest

from warehouse.serving import read_pointer, read_table


@pytest.fixture(scope="module")
def published(serving_dir):
    pointer = read_pointer(serving_dir)
    assert pointer is not None
    return pointer


def test_the_search_page_lists_customers_with_links_to_their_pages(client, published):
    customers = read_table(published.folder, "customers")
    row = customers[customers["entity_type"] == "company"].iloc[0]
    page = client.get("/customers", params={"q": row["name"]})
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert f"href='/customers/{row['customer_id']}'" in page.text
    assert client.get("/customers").status_code == 200  # the empty form


def test_a_customer_page_shows_golden_values_with_their_source_and_rule(client, published):
    followups = read_table(published.folder, "followup_today")
    customer_id = followups["customer_id"].iloc[0]
    api = client.get(f"/v1/customers/{customer_id}").json()
    page = client.get(f"/customers/{customer_id}")
    assert page.status_code == 200
    name_line = next(line for line in api["lineage"] if line["attribute"] == "name")
    assert api["golden"]["name"] in page.text
    assert name_line["record_key"] in page.text and name_line["rule"] in page.text
    for record in api["records"]:
        assert record["record_key"] in page.text
    assert followups.loc[followups["customer_id"] == customer_id, "reason"].iloc[0] in page.text
    assert api["lifecycle"]["stage"] in page.text and api["value"]["value_tier"] in page.text


def test_the_pages_need_nothing_from_another_host(client, published):
    customers = read_table(published.folder, "customers")
    for url in ("/customers?q=a", f"/customers/{customers['customer_id'].iloc[0]}"):
        html = client.get(url).text
        assert "<script" not in html
        assert not [u for u in re.findall(r"""(?:src|href)=["']([^"']+)""", html) if "//" in u]


def test_an_unknown_customer_page_is_a_404_with_its_input_escaped(client):
    page = client.get("/customers/<i>x")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert "<i>x" not in page.text and "&lt;i&gt;x" in page.text

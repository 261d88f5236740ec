"""The service with ``access:``: tokens, scopes, masks and the audit trail, attacked on the
shared demo's serving index (``demo_run``), with random roles (hypothesis).

The scope each test expects is worked out here from the index's own tables (pandas),
independently of the SQL the service runs.
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from service.access import AccessControl
from service.api import create_app
from sources.config import AccessConfig, RoleConfig
from warehouse.access import issue_token, read_audit
from warehouse.serving import read_pointer, read_table

PII = ("mobile", "phone", "id_number", "email", "contact_mobile", "address_detail", "birth_date")


@pytest.fixture(scope="module")
def tables(serving_dir) -> dict[str, pd.DataFrame]:
    pointer = read_pointer(serving_dir)
    assert pointer is not None
    return {name: read_table(pointer.folder, name) for name in ("customers", "records")}


def expected_scope(tables, rows) -> set[str]:
    """Customers whose golden record or one of whose records holds an allowed value, for every
    column of ``rows``."""
    customers, records = tables["customers"], tables["records"]
    inside = set(customers["customer_id"])
    for column, allowed in (rows or {}).items():
        by_record = set(records.loc[records[column].isin(allowed), "customer_id"])
        golden = (
            set(customers.loc[customers[column].isin(allowed), "customer_id"])
            if column != "source"
            else set()
        )
        inside &= by_record | golden
    return inside


def expected_records(tables, inside: set[str]) -> set[str]:
    """Record keys a role with customers ``inside`` sees: their records, less a contact's
    record drawn from the record of a company outside."""
    records = tables["records"]
    owner = records.set_index("record_key")["customer_id"]
    parent = records["derived_from_record_key"].map(owner)
    keep = records["customer_id"].isin(inside) & (
        records["derived_from_record_key"].isna() | parent.isin(inside)
    )
    return set(records.loc[keep, "record_key"])


RECORD_KEY = re.compile(r"(?:dealers|key_accounts|regional):[A-Za-z0-9-]+(?::contact)?")


def clear_values(tables) -> set[str]:
    """Every personal value of the demo in clear (long enough not to occur by chance)."""
    found = set()
    for frame in tables.values():
        for column in PII:
            if column in frame:
                found |= {str(v) for v in frame[column].dropna() if len(str(v)) >= 8}
    return found


@contextmanager
def served(
    holder, roles: list[RoleConfig], folder: Path, decisions: Path | None = None
) -> Iterator[tuple[TestClient, dict]]:
    """A client of the service with ``roles``, and a bearer header per role."""
    names = {r.name for r in roles}
    tokens_path = folder / "access_tokens.yaml"
    headers = {
        r.name: {
            "Authorization": f"Bearer {issue_token(tokens_path, f'{r.name}-1', r.name, names)}"
        }
        for r in roles
    }
    config = AccessConfig(tokens_file=tokens_path.name, roles=roles)
    access = AccessControl(config, tokens_path, folder / "audit")
    with TestClient(create_app(holder, decisions, access), raise_server_exceptions=False) as client:
        yield client, headers


FUJIAN = RoleConfig(name="fujian_office", rows={"province": ["福建省"]}, pii="masked")
KEY_ACCOUNTS = RoleConfig(name="key_accounts", rows={"source": ["key_accounts"]}, pii="full")
ANALYSTS = RoleConfig(name="analysts", pii="masked")


@pytest.fixture(scope="module")
def service(holder, tmp_path_factory):
    folder = tmp_path_factory.mktemp("access")
    with served(holder, [FUJIAN, KEY_ACCOUNTS, ANALYSTS], folder) as (client, headers):
        yield client, headers, folder


@pytest.mark.parametrize(
    "header", [None, "Bearer cm_not-a-token", "Basic dXNlcjpwYXNz", "Bearer", "bearer  "]
)
def test_no_or_an_unknown_token_is_401_on_every_endpoint(service, header):
    client, _, _ = service
    headers = {"Authorization": header} if header else {}
    for method, path in [
        ("GET", "/health"),
        ("GET", "/v1/customers?q=厦门"),
        ("GET", "/v1/customers/CM00000001"),
        ("POST", "/v1/check"),
        ("GET", "/customers"),
        ("GET", "/docs"),
        ("GET", "/openapi.json"),
    ]:
        answer = client.request(method, path, headers=headers, json={"name": "x"})
        assert answer.status_code == 401, (path, answer.text)
        assert answer.headers["www-authenticate"] == "Bearer"
        assert "CM0" not in answer.text


def test_a_customer_outside_the_scope_is_404_like_an_id_never_issued(service, tables):
    client, headers, _ = service
    inside = expected_scope(tables, FUJIAN.rows)
    outside = sorted(set(tables["customers"]["customer_id"]) - inside)
    assert inside and outside
    answer = client.get(f"/v1/customers/{outside[0]}", headers=headers["fujian_office"])
    never = client.get("/v1/customers/CM99999999", headers=headers["fujian_office"])
    assert answer.status_code == never.status_code == 404
    assert answer.json()["detail"] == f"customer {outside[0]}: unknown"
    assert (
        client.get(f"/customers/{outside[0]}", headers=headers["fujian_office"]).status_code == 404
    )
    mine = client.get(f"/v1/customers/{sorted(inside)[0]}", headers=headers["fujian_office"])
    assert mine.status_code == 200
    assert client.get(f"/v1/customers/{outside[0]}", headers=headers["analysts"]).status_code == 200


def test_the_duplicate_check_answers_within_the_scope(service, tables):
    client, headers, _ = service
    inside = expected_scope(tables, KEY_ACCOUNTS.rows)
    records = tables["records"]
    outsiders = records[~records["customer_id"].isin(inside) & records["mobile"].notna()]
    insiders = records[records["customer_id"].isin(inside) & records["mobile"].notna()]
    asked = 0
    for row in outsiders.head(4).to_dict("records"):
        body = {"name": row["name_raw"], "mobile": row["mobile"]}
        everyone = client.post("/v1/check", json=body, headers=headers["analysts"]).json()
        scoped = client.post("/v1/check", json=body, headers=headers["key_accounts"]).json()
        assert {c["customer_id"] for c in scoped["candidates"]} <= inside
        asked += row["customer_id"] in {c["customer_id"] for c in everyone["candidates"]}
    assert asked, "the analysts' check finds the outsiders the key-account team may not see"
    row = insiders.iloc[0]
    found = client.post(
        "/v1/check",
        json={"name": row["name_raw"], "mobile": row["mobile"]},
        headers=headers["key_accounts"],
    ).json()["candidates"]
    assert found and found[0]["customer_id"] == row["customer_id"]


def test_the_audit_names_role_token_route_and_ids_never_the_search_text(service, tables):
    client, headers, folder = service
    customer_id = sorted(expected_scope(tables, FUJIAN.rows))[0]
    client.get(f"/v1/customers/{customer_id}", headers=headers["fujian_office"])
    phone = tables["customers"]["mobile"].dropna().iloc[0]
    client.get("/v1/customers", params={"q": phone}, headers=headers["analysts"])
    client.get("/health")
    lines = read_audit(folder / "audit")
    lookup = next(
        line
        for line in lines
        if line["endpoint"] == "/v1/customers/{customer_id}" and line["status"] == 200
    )
    assert lookup["role"] == "fujian_office" and lookup["token_id"] == "fujian_office-1"
    assert lookup["customer_ids"][0] == customer_id and lookup["at"].endswith("+00:00")
    assert any(line["status"] == 401 and line["role"] is None for line in lines)
    text = (folder / "audit" / "access.log").read_text(encoding="utf-8")
    assert phone not in text and phone[-8:] not in text


def test_a_token_issued_or_revoked_counts_from_the_next_request(holder, tmp_path):
    from warehouse.access import revoke_token

    with served(holder, [ANALYSTS], tmp_path) as (client, headers):
        assert client.get("/health", headers=headers["analysts"]).status_code == 200
        token = issue_token(tmp_path / "access_tokens.yaml", "late", "analysts", {"analysts"})
        assert (
            client.get("/health", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        )
        revoke_token(tmp_path / "access_tokens.yaml", "late", {"analysts"})
        assert (
            client.get("/health", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        )
        with (tmp_path / "access_tokens.yaml").open("a", encoding="utf-8") as broken:
            broken.write("oops: [\n")  # a broken file lets nobody in until it is mended
        assert client.get("/health", headers=headers["analysts"]).status_code == 401


def test_without_access_the_service_listens_on_loopback_only_and_says_so(
    demo_run, monkeypatch, caplog
):
    import service.server as server
    from sources.config import load_config

    asked = {}
    monkeypatch.setattr(server.uvicorn, "run", lambda app, host, port, **_: asked.update(host=host))
    with caplog.at_level(logging.WARNING, logger="service.server"):
        server.serve(load_config(demo_run.folder / "customer_master.yaml"), host="0.0.0.0")
    assert asked["host"] == "127.0.0.1"
    assert "listens on 127.0.0.1 only" in caplog.text


def test_a_bad_tokens_file_stops_the_start_naming_the_line(demo_run, tmp_path):
    import yaml

    from service.server import serve
    from sources.config import load_config
    from warehouse.access import TokenFileError

    config = yaml.safe_load((demo_run.folder / "customer_master.yaml").read_text(encoding="utf-8"))
    base = demo_run.folder
    config["output_dir"] = str((base / config.get("output_dir", "out")).resolve())
    for source in config["sources"]:
        source["path"] = str(base / source["path"])
    config["access"] = {"tokens_file": "tokens.yaml", "roles": [{"name": "analysts"}]}
    path = tmp_path / "customer_master.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    (tmp_path / "tokens.yaml").write_text(
        "bi:\n  role: analysts\n  sha256: abc\n", encoding="utf-8"
    )
    with pytest.raises(
        TokenFileError, match=r"tokens.yaml, line 1: token bi: sha256 must be 64 hex"
    ):
        serve(load_config(path))


@pytest.fixture(scope="module")
def values(tables) -> dict[str, list[str]]:
    customers, records = tables["customers"], tables["records"]
    return {
        "province": sorted(customers["province"].dropna().unique())[:6],
        "owner": sorted(customers["owner"].dropna().unique())[:6],
        "source": sorted(records["source"].unique()),
    }


@settings(
    max_examples=8,
    deadline=None,
    phases=[
        Phase.explicit,
        Phase.reuse,
        Phase.generate,
    ],  # no shrinking: each example is a service call or a publication
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_no_answer_of_a_random_role_holds_a_customer_outside_its_scope_or_a_value_in_clear(
    holder, tables, values, data
):
    columns = data.draw(
        st.lists(st.sampled_from(sorted(values)), min_size=0, max_size=2, unique=True)
    )
    rows = {
        c: data.draw(st.lists(st.sampled_from(values[c]), min_size=1, max_size=2)) for c in columns
    }
    role = RoleConfig(
        name="random_role", rows=rows or None, pii=data.draw(st.sampled_from(["full", "masked"]))
    )
    inside = expected_scope(tables, role.rows)
    every = sorted(tables["customers"]["customer_id"])
    outside = set(every) - inside
    asked = data.draw(st.lists(st.sampled_from(every), min_size=2, max_size=4, unique=True))
    clear = clear_values(tables)
    records = tables["records"].set_index("customer_id")
    with (
        tempfile.TemporaryDirectory() as folder,
        served(holder, [role], Path(folder)) as (client, headers),
    ):
        auth = headers[role.name]
        answers = []
        for customer_id in asked:
            page = client.get(f"/v1/customers/{customer_id}", headers=auth)
            assert page.status_code == (200 if customer_id in inside else 404)
            # a 404 names the ID that was asked for, and nothing else
            answers.append(
                page.text.replace(customer_id, "") if page.status_code == 404 else page.text
            )
            found = records.loc[[customer_id]].iloc[0]
            check = {"name": found["name_raw"], "mobile": found["mobile"], "email": found["email"]}
            check = {k: v for k, v in check.items() if isinstance(v, str)}
            if customer_id == asked[0]:  # a check costs most: one per example
                answers.append(client.post("/v1/check", json=check, headers=auth).text)
            name = str(found["name"])[:2]
            answers.append(client.get("/v1/customers", params={"q": name}, headers=auth).text)
            html = client.get(f"/customers/{customer_id}", headers=auth)
            answers.append(
                html.text.replace(customer_id, "") if html.status_code == 404 else html.text
            )
        answers.append(client.get("/review", headers=auth).text)
        seen = expected_records(tables, inside)
        for text in answers:
            ids = {value for value in _ids(text)}
            assert not ids & outside, (role, sorted(ids & outside)[:3])
            named = set(RECORD_KEY.findall(text))
            assert named <= seen, (role, sorted(named - seen)[:3])
            if role.pii == "masked":
                leaked = [v for v in clear if v in text]
                assert not leaked, (role, leaked[:3])


def _ids(text: str) -> set[str]:
    import re

    return set(re.findall(r"CM\d{8}", text))


def test_a_page_names_no_record_or_contact_of_a_company_outside_the_scope(holder, tables, tmp_path):
    records = tables["records"]
    owner = records.set_index("record_key")["customer_id"]
    contacts = records[records["derived_from_record_key"].notna()].assign(
        company=lambda r: r["derived_from_record_key"].map(owner)
    )
    provinces = sorted(tables["customers"]["province"].dropna().unique())
    cases = []  # (role, a person in scope named on an outside company's record) and reverse
    for province in provinces:
        inside = expected_scope(tables, {"province": [province]})
        person = contacts[contacts["customer_id"].isin(inside) & ~contacts["company"].isin(inside)]
        company = contacts[~contacts["customer_id"].isin(inside) & contacts["company"].isin(inside)]
        if len(person) and len(company):
            cases.append((province, person.iloc[0], company.iloc[0]))
    assert cases, "the demo has contacts across provinces"
    province, person, company = cases[0]
    role = RoleConfig(name="regional_office", rows={"province": [province]}, pii="full")
    with served(holder, [role], tmp_path) as (client, headers):
        auth = headers[role.name]
        page = client.get(f"/v1/customers/{person['customer_id']}", headers=auth)
        assert page.status_code == 200
        assert person["derived_from_record_key"] not in page.text
        assert person["record_key"] not in page.text
        page = client.get(f"/v1/customers/{company['company']}", headers=auth).json()
        named = [
            r for r in page["records"] if r["record_key"] == company["derived_from_record_key"]
        ]
        assert named and named[0]["contact_name"] is None and named[0]["contact_mobile"] is None


def test_masked_answers_keep_names_and_mask_the_rest(service, tables):
    client, headers, _ = service
    person = tables["customers"].query("entity_type == 'person' and mobile.notna()")
    person = person[person["customer_id"].isin(expected_scope(tables, FUJIAN.rows))].iloc[0]
    page = client.get(
        f"/v1/customers/{person['customer_id']}", headers=headers["fujian_office"]
    ).json()
    golden = page["golden"]
    assert golden["name"] == person["name"]
    assert golden["mobile"] == person["mobile"][:6] + "****" + person["mobile"][-4:]
    assert golden["address_detail"] is None
    if golden.get("birth_date"):
        assert len(golden["birth_date"]) == 4
    lineage = {line["attribute"]: line["value"] for line in page["lineage"]}
    assert lineage.get("mobile") in (None, golden["mobile"])
    assert json.dumps(page, ensure_ascii=False).count(person["mobile"]) == 0


def test_the_review_page_shows_and_takes_only_the_pairs_of_the_scope(holder, tables, tmp_path):
    import re

    decisions = tmp_path / "decisions.csv"
    with served(holder, [KEY_ACCOUNTS, ANALYSTS], tmp_path, decisions) as (client, headers):
        page = client.get("/review", headers=headers["key_accounts"]).text
        every = client.get("/review", headers=headers["analysts"]).text
        owner = tables["records"].set_index("record_key")["customer_id"]
        inside = expected_scope(tables, KEY_ACCOUNTS.rows)
        shown = re.findall(r"data-left='([^']+)' data-right='([^']+)'", page)
        assert {owner[k] for pair in shown for k in pair} <= inside
        assert len(re.findall("data-left=", every)) >= len(shown)
        refused = client.post(
            "/review",
            content="who=li&pair%3Adealers%3Ax%7Cdealers%3Ay=match",
            headers={
                **headers["key_accounts"],
                "content-type": "application/x-www-form-urlencoded",
            },
            follow_redirects=False,
        )
        assert "not+in+your+review+queue" in refused.headers["location"]
        assert not decisions.exists()
        left, right = re.findall(r"data-left='([^']+)' data-right='([^']+)'", every)[0]
        from urllib.parse import urlencode

        taken = client.post(
            "/review",
            content=urlencode({"who": "li", f"pair:{left}|{right}": "no_match"}),
            headers={**headers["analysts"], "content-type": "application/x-www-form-urlencoded"},
            follow_redirects=False,
        )
        assert "batch=" in taken.headers["location"]
    decided = [line for line in read_audit(tmp_path / "audit") if line.get("decisions")]
    assert decided[0]["decisions"] == [
        {"record_key_l": left, "record_key_r": right, "decision": "no_match"}
    ]
    assert set(decided[0]["customer_ids"]) == {owner[left], owner[right]}

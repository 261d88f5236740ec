"""Role-scoped exports, attacked with random masters and random roles (hypothesis).

Each example builds a tiny warehouse: customers with a golden province and owner, their
source records (each with a source and a province of its own), contact persons named on
another customer's company record (a record of their own, ``<company record>:contact``,
``derived_from_record_key`` pointing back, a ``contact`` role naming the company record),
relationships with record keys as evidence, follow-ups naming a person to call, ID events
naming a related customer, an xref row of a record that moved to another customer, a
review queue, a 360 row and a sales aggregate. Every customer has a name, an ID, a
mobile, an e-mail, an ID number and a birth date of its own, so a test can look for them
in every cell of every file, and every record key is unique. The expected scope and the
records a role may see are worked out here, independently of the SQL under test.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from sources.config import RoleConfig
from warehouse.access import publish_role_sets
from warehouse.marts.customer_360 import RELATIONSHIP_COUNTS
from warehouse.publish import MANIFEST

WHEN = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
PROVINCES = ["福建省", "广东省", "江苏省"]
SOURCES = ["dealers", "key_accounts", "regional"]
OWNERS = ["王芳", "陈明"]
TABLES = [
    "master.customers",
    "master.customer_xref",
    "master.relationships",
    "master.customer_roles",
    "master.customer_id_events",
    "staging.source_records",  # staging.customers under a name of its own (one file per name)
    "matching.review_queue",
    "marts.followup_today",
    "marts.customer_360",
    "marts.sales_by_region_product_month",
]
RECORD_KEY = re.compile(r"[a-z_]+:\d+-\d+(?::contact)?")


def contacts(n: int):
    """(company, person) pairs: the person is named as contact on the company's first
    record; each person at most once, never on their own record, and one contact per
    company record (a record has one contact column, so its contact record's key,
    ``<company record>:contact``, is unique)."""
    return st.lists(
        st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] != p[1]),
        max_size=3,
        unique_by=(lambda p: p[1], lambda p: p[0]),
    )


records_of = st.lists(
    st.tuples(st.sampled_from(SOURCES), st.sampled_from([*PROVINCES, None])),
    min_size=1,
    max_size=3,
)
customer = st.tuples(st.sampled_from([*PROVINCES, None]), st.sampled_from(OWNERS), records_of)
masters = st.integers(2, 7).flatmap(
    lambda n: st.tuples(
        st.lists(customer, min_size=n, max_size=n),
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=6),
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=4),
        contacts(n),
    )
)
row_scopes = st.one_of(
    st.none(),
    st.dictionaries(
        st.sampled_from(["province", "source", "owner"]),
        st.lists(st.sampled_from([*PROVINCES, *SOURCES, *OWNERS]), min_size=1, max_size=2),
        min_size=1,
        max_size=2,
    ),
)
roles = st.lists(
    st.tuples(row_scopes, st.sampled_from(["full", "masked"])), min_size=1, max_size=3
).map(lambda found: [RoleConfig(name=f"role{i}", rows=r, pii=p) for i, (r, p) in enumerate(found)])


def cid(i: int) -> str:
    return f"CM{i:08d}"


def clear_values(i: int) -> dict[str, str]:
    """Customer i's own personal values, each unique to it."""
    return {
        "mobile": f"+86139{i:04d}{i:04d}",
        "email": f"kehu{i:03d}@qq.com",
        "id_number": f"35020319850101{i:04d}",
        "birth_date": f"19{60 + i:02d}-03-07",
        "address_detail": f"湖滨南路{i}号",
    }


def insert(con: duckdb.DuckDBPyConnection, sql: str, rows: list) -> None:
    if rows:
        con.executemany(sql, rows)


def source_records(master) -> list[tuple[str, str, str | None, int, str | None]]:
    """Every source record: (record key, source, province, customer, derived from)."""
    people, _, _, named = master
    out = []
    for i, (_, _, own) in enumerate(people):
        out += [
            (f"{source}:{i}-{n}", source, place, i, None) for n, (source, place) in enumerate(own)
        ]
    for company, person in named:
        source, place = people[company][2][0]
        key = f"{source}:{company}-0"
        out.append((f"{key}:contact", source, place, person, key))
    return out


def build_warehouse(con: duckdb.DuckDBPyConnection, master) -> None:
    people, relations, followups, named = master
    for schema in ("master", "marts", "staging", "matching"):
        con.execute(f"CREATE SCHEMA {schema}")
    every = source_records(master)
    golden = []
    for i, (province, owner, own) in enumerate(people):
        v = clear_values(i)
        golden.append(
            (cid(i), f"客户{i:03d}", province, owner, v["mobile"], v["email"], v["id_number"],
             v["birth_date"], v["address_detail"], sorted({s for s, _ in own}))
        )  # fmt: skip
    contact_on = {f"{people[c][2][0][0]}:{c}-0": p for c, p in named}
    staged = []
    for key, source, place, i, derived in every:
        person = contact_on.get(key)
        v = clear_values(i)
        contact = (
            (f"客户{person:03d}", clear_values(person)["mobile"])
            if person is not None
            else (None, None)
        )
        staged.append((key, source, place, v["mobile"], v["id_number"], *contact, derived))
    con.execute(
        "CREATE TABLE master.customers (customer_id VARCHAR, name VARCHAR, province VARCHAR, "
        "owner VARCHAR, mobile VARCHAR, email VARCHAR, id_number VARCHAR, birth_date DATE, "
        "address_detail VARCHAR, sources VARCHAR[])"
    )
    con.executemany("INSERT INTO master.customers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", golden)
    con.execute(
        "CREATE TABLE staging.customers (record_key VARCHAR, source VARCHAR, province VARCHAR, "
        "mobile VARCHAR, id_number VARCHAR, contact_name VARCHAR, contact_mobile VARCHAR, "
        "derived_from_record_key VARCHAR)"
    )
    con.executemany("INSERT INTO staging.customers VALUES (?, ?, ?, ?, ?, ?, ?, ?)", staged)
    con.execute("CREATE TABLE staging.source_records AS FROM staging.customers")
    con.execute(
        "CREATE TABLE master.customer_xref (record_key VARCHAR, customer_id VARCHAR, "
        "valid_to TIMESTAMP)"
    )
    con.executemany(
        "INSERT INTO master.customer_xref VALUES (?, ?, NULL)",
        [(k, cid(i)) for k, _, _, i, _ in every],
    )
    n = len(people)
    moved = [(k, cid((i + 1) % n)) for k, _, _, i, _ in every[:1]]  # it was the next one's once
    con.executemany("INSERT INTO master.customer_xref VALUES (?, ?, TIMESTAMP '2026-01-01')", moved)
    con.execute(
        "CREATE TABLE master.customer_roles (customer_id VARCHAR, role VARCHAR, evidence VARCHAR)"
    )
    insert(
        con,
        "INSERT INTO master.customer_roles VALUES (?, 'contact', ?)",
        [(cid(i), f"named as contact on {derived}") for _, _, _, i, derived in every if derived],
    )
    con.execute(
        "CREATE TABLE master.customer_id_events (event VARCHAR, customer_id VARCHAR, "
        "related_customer_id VARCHAR)"
    )
    insert(
        con,
        "INSERT INTO master.customer_id_events VALUES ('merged', ?, ?)",
        [(cid(a), cid(b)) for a, b in followups],
    )
    first = {i: k for k, _, _, i, _ in reversed(every)}
    con.execute(
        "CREATE TABLE master.relationships (from_customer_id VARCHAR, to_customer_id VARCHAR, "
        "relationship_type VARCHAR, evidence VARCHAR[])"
    )
    shown = {(cid(a), cid(b)): [first[b], first[(b + 1) % n]] for a, b in relations if a != b}
    shown |= {(cid(c), cid(p)): [f"{first[c]}:contact"] for c, p in named}
    insert(
        con,
        "INSERT INTO master.relationships VALUES (?, ?, 'employment', ?)",
        sorted((a, b, evidence) for (a, b), evidence in shown.items()),
    )
    con.execute(
        "CREATE TABLE matching.review_queue (record_key_l VARCHAR, record_key_r VARCHAR, "
        "name_l VARCHAR, name_r VARCHAR, mobile_l VARCHAR, mobile_r VARCHAR)"
    )
    insert(
        con,
        "INSERT INTO matching.review_queue VALUES (?, ?, ?, ?, ?, ?)",
        [
            (first[a], first[b], f"客户{a:03d}", f"客户{b:03d}", clear_values(a)["mobile"],
             clear_values(b)["mobile"])
            for a, b in relations if a != b
        ],
    )  # fmt: skip
    con.execute(
        "CREATE TABLE marts.followup_today (customer_id VARCHAR, reason VARCHAR, "
        "contact_name VARCHAR, contact_phone VARCHAR, contact_customer_id VARCHAR)"
    )
    insert(
        con,
        "INSERT INTO marts.followup_today VALUES (?, 'dormant_care', ?, ?, ?)",
        [(cid(a), f"客户{b:03d}", clear_values(b)["mobile"], cid(b)) for a, b in followups],
    )
    counts = ", ".join(f"0 AS {c}" for c in RELATIONSHIP_COUNTS)
    con.execute(
        "CREATE TABLE marts.customer_360 AS SELECT c.customer_id, c.name, c.mobile, "
        "(SELECT count(*) FROM master.relationships r WHERE c.customer_id IN "
        f"(r.from_customer_id, r.to_customer_id)) AS relationships, {counts} "
        "FROM master.customers c"
    )
    con.execute(
        "CREATE TABLE marts.sales_by_region_product_month AS SELECT province, owner, "
        "count(*) AS customers FROM master.customers GROUP BY ALL"
    )


def expected_scope(master, rows) -> set[str]:
    people = master[0]
    if not rows:
        return {cid(i) for i in range(len(people))}
    held: dict[int, list[tuple[str, str | None]]] = {i: [] for i in range(len(people))}
    for _, source, place, i, _ in source_records(master):
        held[i].append((source, place))

    def holds(i: int, column: str, allowed: list[str]) -> bool:
        province, owner, _ = people[i]
        if column == "source":
            return any(s in allowed for s, _ in held[i])
        golden = {"province": province, "owner": owner}[column]
        on_records = [p for _, p in held[i]] if column == "province" else []
        return golden in allowed or any(p in allowed for p in on_records)

    return {
        cid(i)
        for i in range(len(people))
        if all(holds(i, column, allowed) for column, allowed in rows.items())
    }


def expected_records(master, scope: set[str]) -> set[str]:
    """The record keys a role with ``scope`` may see: its customers' records, less a
    contact's record drawn from a company record of a customer outside the scope."""
    owner = {key: i for key, _, _, i, _ in source_records(master)}
    return {
        key
        for key, _, _, i, derived in source_records(master)
        if cid(i) in scope and (derived is None or cid(owner[derived]) in scope)
    }


def cells(path: Path) -> list[str]:
    table = pq.read_table(path).to_pylist()
    return [str(v) for row in table for value in row.values() for v in _flat(value)]


def _flat(value):
    return value if isinstance(value, list) else [value]


def publish(con, master_roles, root: Path):
    return publish_role_sets(con, master_roles, TABLES, root, "run-1", WHEN)


@settings(
    max_examples=10,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: each example publishes
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(master=masters, role_list=roles)
@example(  # a Fujian person named as contact on a Guangdong company's record
    master=(
        [("福建省", "王芳", [("regional", "福建省")]), ("广东省", "陈明", [("dealers", "广东省")])],
        [],
        [],
        [(1, 0)],
    ),
    role_list=[RoleConfig(name="role0", rows={"province": ["福建省"]}, pii="full")],
)
def test_no_role_file_holds_a_customer_outside_its_scope_or_a_value_in_clear(
    tmp_path_factory, master, role_list
):
    root = tmp_path_factory.mktemp("roles")
    con = duckdb.connect()
    build_warehouse(con, master)
    published = publish(con, role_list, root)
    everyone = {cid(i) for i in range(len(master[0]))}
    for role in role_list:
        scope = expected_scope(master, role.rows)
        outside = everyone - scope
        folder = root / role.name
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        assert manifest["role"] == role.name and manifest["pii"] == role.pii
        seen = [c for t in published[role.name].tables for c in cells(folder / t.file)]
        with duckdb.connect(str(folder / manifest["database"]), read_only=True) as db:
            for t in published[role.name].tables:
                seen += [str(v) for row in db.execute(f"FROM {t.name}").fetchall() for v in row]
        text = "\n".join(seen)
        everything = {key for key, *_ in source_records(master)}
        shown = expected_records(master, scope) if role.rows is not None else everything
        named = set(RECORD_KEY.findall(text))
        assert named <= shown, (role, sorted(named - shown))
        for i in sorted(int(c[2:]) for c in outside):
            assert cid(i) not in text and f"客户{i:03d}" not in text, (role, cid(i))
            assert not any(value in text for value in clear_values(i).values())
        if role.pii == "masked":
            for i in range(len(master[0])):
                assert not any(value in text for value in clear_values(i).values())
        customers = pq.read_table(folder / "customers.parquet").column("customer_id").to_pylist()
        assert set(customers) == scope
        if role.pii == "masked":
            assert all(
                m is None or re.fullmatch(r"\+86139\*{4}\d{4}", m)
                for m in pq.read_table(folder / "customers.parquet").column("mobile").to_pylist()
            )
        counts = pq.read_table(folder / "customer_360.parquet").to_pylist()
        kept = pq.read_table(folder / "relationships.parquet").to_pylist()
        for row in counts:  # the 360 counts only relationships the role sees
            mine = [
                r
                for r in kept
                if row["customer_id"] in (r["from_customer_id"], r["to_customer_id"])
            ]
            assert row["relationships"] == len(mine)
        if role.rows and set(role.rows) - {"province", "owner"}:
            assert "sales_by_region_product_month" in manifest["withheld"]


@pytest.fixture
def warehouse():
    con = duckdb.connect()
    build_warehouse(
        con,
        (
            [("福建省", "王芳", [("dealers", "福建省")]), ("广东省", "陈明", [("regional", None)])],
            [(0, 1)],
            [(0, 1)],
            [],
        ),
    )
    yield con
    con.close()


def test_masked_exports_rerun_byte_identical(warehouse, tmp_path):
    masked = [RoleConfig(name="fujian_office", rows={"province": ["福建省"]}, pii="masked")]
    publish(warehouse, masked, tmp_path / "first")
    publish_role_sets(warehouse, masked, TABLES, tmp_path / "second", "run-2", WHEN)

    def parquet(root: Path) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted((root / "fujian_office").glob("*.parquet"))}

    first, second = parquet(tmp_path / "first"), parquet(tmp_path / "second")
    assert first and first == second


def test_a_follow_up_loses_the_person_to_call_when_that_person_is_outside_the_scope(
    warehouse, tmp_path
):
    role = RoleConfig(name="fujian_office", rows={"province": ["福建省"]}, pii="full")
    publish(warehouse, [role], tmp_path)
    followups = pq.read_table(tmp_path / "fujian_office" / "followup_today.parquet").to_pylist()
    assert followups == [
        {
            "customer_id": cid(0),
            "reason": "dormant_care",
            "contact_name": None,
            "contact_phone": None,
            "contact_customer_id": None,
        }
    ]
    assert pq.read_table(tmp_path / "fujian_office" / "relationships.parquet").num_rows == 0


def test_the_role_database_is_read_only_and_removed_roles_leave_no_copy(warehouse, tmp_path):
    analysts = RoleConfig(name="analysts", pii="masked")
    publish(warehouse, [analysts, RoleConfig(name="old_role", pii="full")], tmp_path)
    database = tmp_path / "analysts" / "analysts.duckdb"
    assert database.stat().st_mode & 0o222 == 0
    with duckdb.connect(str(database), read_only=True) as db:
        assert db.execute("SELECT count(*) FROM customers").fetchall() == [(2,)]
        assert db.execute("SELECT DISTINCT mobile LIKE '%****%' FROM customers").fetchall() == [
            (True,)
        ]
    publish(warehouse, [analysts], tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["analysts"]
    publish(warehouse, [], tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_masked_role_gets_a_quarantined_row_without_its_raw_text(tmp_path):
    con = duckdb.connect()
    build_warehouse(con, ([("福建省", "王芳", [("dealers", "福建省")])], [], [], []))
    con.execute(
        "CREATE TABLE staging.quarantine AS SELECT 'dealers' AS source, 7 AS source_row, "
        "'bad credit code' AS reason, '{\"手机\": \"13900000000\"}' AS raw"
    )
    role = RoleConfig(name="dealer_desk", rows={"source": ["dealers"]}, pii="masked")
    publish_role_sets(con, [role], ["staging.quarantine"], tmp_path, "run-1", WHEN)
    rows = pq.read_table(tmp_path / "dealer_desk" / "quarantine.parquet").to_pylist()
    assert rows == [
        {"source": "dealers", "source_row": 7, "reason": "bad credit code", "raw": None}
    ]


def test_an_unchanged_role_keeps_its_files_and_database_and_a_damaged_one_is_written_again(
    warehouse, tmp_path
):
    analysts = RoleConfig(name="analysts", pii="masked")
    publish(warehouse, [analysts], tmp_path)
    folder = tmp_path / "analysts"
    before = {p.name: (p.stat().st_ino, p.read_bytes()) for p in folder.iterdir()}
    publish_role_sets(warehouse, [analysts], TABLES, tmp_path, "run-2", WHEN, {"analysts": TABLES})
    after = {p.name: (p.stat().st_ino, p.read_bytes()) for p in folder.iterdir()}
    manifest = "_manifest.json"
    assert {n: v for n, v in after.items() if n != manifest} == {
        n: v for n, v in before.items() if n != manifest
    }  # the very same files, not written again
    assert json.loads(after[manifest][1])["run_id"] == "run-2"
    damaged = folder / "customers.parquet"
    damaged.write_bytes(b"not parquet")
    publish_role_sets(warehouse, [analysts], TABLES, tmp_path, "run-3", WHEN, {"analysts": TABLES})
    assert damaged.read_bytes() == before["customers.parquet"][1]  # exported again
    database = folder / "analysts.duckdb"
    database.unlink()  # a database gone is written again
    publish_role_sets(warehouse, [analysts], TABLES, tmp_path, "run-4", WHEN, {"analysts": TABLES})
    with duckdb.connect(str(database), read_only=True) as db:
        assert db.execute("SELECT count(*) FROM customers").fetchall() == [(2,)]


def test_a_role_keeps_the_files_of_unchanged_tables_and_exports_the_others_again(
    warehouse, tmp_path
):
    analysts = RoleConfig(name="analysts", pii="masked")
    publish(warehouse, [analysts], tmp_path)
    folder = tmp_path / "analysts"
    before = {p.name: p.stat().st_ino for p in folder.glob("*.parquet")}
    changed = "master.customer_roles"
    kept = [t for t in TABLES if t != changed]
    publish_role_sets(warehouse, [analysts], TABLES, tmp_path, "run-2", WHEN, {"analysts": kept})
    after = {p.name: p.stat().st_ino for p in folder.glob("*.parquet")}
    assert after.pop("customer_roles.parquet") != before.pop("customer_roles.parquet")
    assert after == before  # the files of the unchanged tables are the very same
    manifest = json.loads((folder / "_manifest.json").read_text(encoding="utf-8"))
    assert manifest["run_id"] == "run-2"
    written = pq.read_table(folder / "customer_roles.parquet").num_rows
    assert manifest["tables"]["customer_roles"]["rows"] == written
    # the same rows give the same bytes: the role's database still holds its files
    assert manifest["database"] == "analysts.duckdb"
    assert (folder / "analysts.duckdb").stat().st_mode & 0o222 == 0

"""Role-scoped exports, attacked with random masters and random roles (hypothesis).

Each example builds a tiny warehouse: customers with a golden province and owner, their
source records (each with a source and a province of its own), relationships, follow-ups
naming a person to call, a 360 row and a sales aggregate. Every customer has a name, an ID,
a mobile, an e-mail, an ID number and a birth date of its own, so a test can look for them
in every cell of every file. The expected scope is worked out here, independently of the
SQL under test.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, Phase, given, settings
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
    "marts.followup_today",
    "marts.customer_360",
    "marts.sales_by_region_product_month",
]

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


def build_warehouse(con: duckdb.DuckDBPyConnection, master) -> None:
    people, relations, followups = master
    for schema in ("master", "marts", "staging"):
        con.execute(f"CREATE SCHEMA {schema}")
    golden, staged, xref = [], [], []
    for i, (province, owner, records) in enumerate(people):
        v = clear_values(i)
        golden.append(
            (cid(i), f"客户{i:03d}", province, owner, v["mobile"], v["email"], v["id_number"],
             v["birth_date"], v["address_detail"], sorted({s for s, _ in records}))
        )  # fmt: skip
        for n, (source, place) in enumerate(records):
            key = f"{source}:{i}-{n}"
            staged.append((key, source, place, v["mobile"], v["id_number"]))
            xref.append((key, cid(i)))
    con.execute(
        "CREATE TABLE master.customers (customer_id VARCHAR, name VARCHAR, province VARCHAR, "
        "owner VARCHAR, mobile VARCHAR, email VARCHAR, id_number VARCHAR, birth_date DATE, "
        "address_detail VARCHAR, sources VARCHAR[])"
    )
    con.executemany("INSERT INTO master.customers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", golden)
    con.execute(
        "CREATE TABLE staging.customers (record_key VARCHAR, source VARCHAR, province VARCHAR, "
        "mobile VARCHAR, id_number VARCHAR)"
    )
    con.executemany("INSERT INTO staging.customers VALUES (?, ?, ?, ?, ?)", staged)
    con.execute(
        "CREATE TABLE master.customer_xref (record_key VARCHAR, customer_id VARCHAR, "
        "valid_to TIMESTAMP)"
    )
    con.executemany("INSERT INTO master.customer_xref VALUES (?, ?, NULL)", xref)
    con.execute(
        "CREATE TABLE master.relationships (from_customer_id VARCHAR, to_customer_id VARCHAR, "
        "relationship_type VARCHAR)"
    )
    insert(
        con,
        "INSERT INTO master.relationships VALUES (?, ?, 'employment')",
        sorted({(cid(a), cid(b)) for a, b in relations if a != b}),
    )
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

    def holds(i: int, column: str, allowed: list[str]) -> bool:
        province, owner, records = people[i]
        if column == "source":
            return any(s in allowed for s, _ in records)
        golden = {"province": province, "owner": owner}[column]
        on_records = [p for _, p in records] if column == "province" else []
        return golden in allowed or any(p in allowed for p in on_records)

    return {
        cid(i)
        for i in range(len(people))
        if all(holds(i, column, allowed) for column, allowed in rows.items())
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
        shown = pq.read_table(folder / "relationships.parquet").to_pylist()
        for row in counts:  # the 360 counts only relationships the role sees
            mine = [
                r
                for r in shown
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

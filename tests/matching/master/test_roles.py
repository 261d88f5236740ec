"""Roles of golden customers: several at once, each with its evidence."""

from datetime import datetime

import duckdb
import pandas as pd
import pyarrow as pa

from matching.master.roles import build_roles, write_roles
from sources.activity_schema import ORDERS as ORDER_LINES
from sources.activity_schema import RECEIVABLES as OPEN_INVOICES
from sources.activity_staging import stage_activity
from sources.build_staging import STAGED_SCHEMA
from sources.config import ActivityFeed, OrderFeed, ReceivableFeed
from sources.ingest import raw_table
from warehouse.store import replace_table

ORDERS = OrderFeed(
    name="dealers_orders",
    customer_source="dealers",
    path="orders.csv",
    columns={
        "order_id": "单号",
        "source_record_id": "客户编号",
        "order_date": "日期",
        "amount": "金额",
    },
)

RECEIVABLES = ReceivableFeed(
    name="dealers_receivables",
    customer_source="dealers",
    path="ar.csv",
    columns={
        "invoice_id": "发票号",
        "source_record_id": "客户编号",
        "due_date": "到期日",
        "amount_open": "未付金额",
    },
)


def warehouse(records: list[dict], xref: dict[str, str]) -> duckdb.DuckDBPyConnection:
    """Staged records and their current customer IDs, in an in-memory warehouse."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA staging; CREATE SCHEMA master; CREATE SCHEMA raw")
    frame = pd.DataFrame([{c: r.get(c) for c in STAGED_SCHEMA.names} for r in records])
    con.register("s", pa.Table.from_pandas(frame, schema=STAGED_SCHEMA, preserve_index=False))
    con.execute("CREATE TABLE staging.customers AS FROM s")
    con.register("x", pd.DataFrame({"record_key": list(xref), "customer_id": list(xref.values())}))
    con.execute("CREATE TABLE master.customer_xref AS SELECT *, NULL::TIMESTAMP AS valid_to FROM x")
    return con


#: When the test's feeds were read.
INGESTED_AT = datetime(2026, 9, 30, 6)


def raw(con: duckdb.DuckDBPyConnection, feed: ActivityFeed, rows: list[dict]) -> None:
    """``raw.<feed>`` as ingestion writes it (lineage, content hash, the file's columns)."""
    frame = pa.Table.from_pandas(pd.DataFrame(rows, dtype=object), preserve_index=False)
    replace_table(con, "raw", feed.name, raw_table(frame, feed.name, "f.csv", INGESTED_AT))


def test_roles_from_orders_sources_and_dealer_codes():
    records = [
        {"record_key": "dealers:1", "source_kind": "dealer", "entity_type": "company"},
        {"record_key": "key_accounts:5", "source_kind": "key_account", "entity_type": "company"},
        {"record_key": "key_accounts:6", "source_kind": "key_account", "entity_type": "company",
         "own_dealer_code": "XM01"},
        {"record_key": "key_accounts:5:contact", "source_kind": "key_account", "entity_type": "person",
         "derived_from_record_key": "key_accounts:5"},
        {"record_key": "dealers:2", "source_kind": "dealer", "entity_type": "person"},
    ]  # fmt: skip
    xref = {"dealers:1": "CM1", "key_accounts:5": "CM1", "key_accounts:6": "CM2",
            "key_accounts:5:contact": "CM3", "dealers:2": "CM4"}  # fmt: skip
    con = warehouse(records, xref)
    raw(con, ORDERS, [
        {"单号": "o1", "客户编号": " 1 ", "日期": "2026-03-05", "金额": "100"},
        {"单号": "o2", "客户编号": "1", "日期": "2026-03-06", "金额": "100"},
    ])  # fmt: skip
    stage_activity(con, ORDER_LINES, [ORDERS])

    roles = build_roles(con)
    held = roles.groupby("customer_id")["role"].apply(list).to_dict()
    assert held == {
        "CM1": ["customer", "key_account"],
        "CM2": ["dealer", "key_account", "prospect"],
        "CM3": ["contact"],
        "CM4": ["prospect"],
    }
    evidence = roles.set_index(["customer_id", "role"])["evidence"]
    assert evidence["CM1", "customer"] == "2 order(s)"
    assert evidence["CM2", "dealer"] == "XM01"
    # the sync writes the same rows in SQL, in the same order, and counts them per role
    counts = write_roles(con)
    assert con.sql("FROM master.customer_roles").df().equals(roles)
    assert counts == {"key_account": 2, "prospect": 2, "contact": 1, "customer": 1, "dealer": 1}


def test_debtor_is_a_customer_with_an_open_amount_on_any_of_its_records():
    records = [
        {"record_key": "dealers:1", "source_kind": "dealer", "entity_type": "company"},
        {"record_key": "dealers:2", "source_kind": "dealer", "entity_type": "company"},
        {"record_key": "dealers:3", "source_kind": "dealer", "entity_type": "company"},
    ]
    xref = {"dealers:1": "CM1", "dealers:2": "CM1", "dealers:3": "CM2"}
    con = warehouse(records, xref)
    raw(con, RECEIVABLES, [
        {"发票号": "I1", "客户编号": "1", "到期日": "2026-10-01", "未付金额": "1,200.50"},
        {"发票号": "I2", "客户编号": "2", "到期日": "2026-11-01", "未付金额": "300"},
        {"发票号": "I3", "客户编号": "3", "到期日": "2026-10-01", "未付金额": "0.00"},
        {"发票号": "I4", "客户编号": "3", "到期日": "2026-10-01", "未付金额": "n/a"},
    ])  # fmt: skip
    stage_activity(con, OPEN_INVOICES, [RECEIVABLES])

    roles = build_roles(con)

    debtors = roles[roles["role"] == "debtor"].set_index("customer_id")["evidence"]
    assert debtors.to_dict() == {"CM1": "2 open invoice(s), 1500.50 open"}

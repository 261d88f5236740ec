"""Roles and marts read the same staged activity: what one counts, the other counts.

Amounts written ``¥1,200``, ``1,200.50`` or ``1.2万``, an order line sent twice, a customer
key spread over two columns and an order whose amount does not parse: the ``customer`` role
is held exactly by the customers ``marts.customer_value`` counts an order for, and
``debtor`` exactly by those it shows an open amount for.
"""

from datetime import datetime

import duckdb
import pandas as pd
import pyarrow as pa
from marts_tables import AS_OF, add_customers, warehouse

from matching.master.roles import build_roles
from sources.activity_schema import ORDERS, RECEIVABLES
from sources.activity_staging import stage_activity
from sources.build_staging import STAGED_SCHEMA
from sources.config import ActivityFeed, MartsConfig, OrderFeed, ReceivableFeed
from sources.ingest import raw_table
from warehouse.marts import build_activity, build_customer_value
from warehouse.store import replace_table

KEY = ["门店", "客户编号"]  # the dealers' customer key is shop and number together
ORDER_FEED = OrderFeed(
    name="dealer_orders", customer_source="dealers", path="orders.csv",
    columns={"order_id": "单号", "source_record_id": KEY, "order_date": "日期", "amount": "金额"},
)  # fmt: skip
INVOICE_FEED = ReceivableFeed(
    name="dealer_invoices", customer_source="dealers", path="ar.csv",
    columns={"invoice_id": "发票号", "source_record_id": KEY, "due_date": "到期日", "amount_open": "未付"},
)  # fmt: skip
#: customer → its record key (shop and number joined as customer staging joins them)
RECORDS = {"CM1": "dealers:厦门 D1", "CM2": "dealers:厦门 D2", "CM3": "dealers:福州 D1",
           "CM4": "dealers:福州 D2", "CM5": "dealers:福州 D3"}  # fmt: skip

#: When the test's feeds were read.
INGESTED_AT = datetime(2026, 9, 30, 6)


def raw(con: duckdb.DuckDBPyConnection, feed: ActivityFeed, rows: list[tuple]) -> None:
    """``raw.<feed>`` as ingestion writes it: lineage, a content hash and the file's columns."""
    columns = list(feed.columns.values())
    names = [c for ref in columns for c in ([ref] if isinstance(ref, str) else ref)]
    frame = pd.DataFrame(rows, columns=names, dtype=object)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    replace_table(con, "raw", feed.name, raw_table(table, feed.name, feed.path, INGESTED_AT))


def build(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stage the feeds once; the roles and the marts each read the staged rows."""
    add_customers(con, *({"customer_id": c} for c in RECORDS))
    staged = pd.DataFrame([{c: None for c in STAGED_SCHEMA.names} | {"record_key": k,
                           "source_kind": "dealer", "entity_type": "company"} for k in RECORDS.values()])  # fmt: skip
    con.register("s", pa.Table.from_pandas(staged, schema=STAGED_SCHEMA, preserve_index=False))
    con.execute("CREATE TABLE staging.customers AS FROM s")
    xref = pd.DataFrame({"record_key": list(RECORDS.values()), "customer_id": list(RECORDS)})
    con.register("x", xref)
    con.execute("CREATE TABLE master.customer_xref AS SELECT *, NULL::TIMESTAMP AS valid_to FROM x")
    for kind, feed in ((ORDERS, ORDER_FEED), (RECEIVABLES, INVOICE_FEED)):
        stage_activity(con, kind, [feed])
        build_activity(con, kind)
    build_customer_value(con, MartsConfig(), AS_OF)
    roles = build_roles(con)
    value = con.sql("FROM marts.customer_value").df().set_index("customer_id")
    return roles, value


def holders(roles: pd.DataFrame, role: str) -> set[str]:
    return set(roles.loc[roles["role"] == role, "customer_id"])


def test_customer_role_is_held_exactly_by_customers_with_an_order_in_customer_value():
    con = warehouse()
    raw(con, ORDER_FEED, [
        ("S1", " 厦门 ", " D1 ", "2026-09-01", "¥1,200"),   # CM1, key trimmed part by part
        ("S1", "厦门", "D1", "2026-09-01", "¥1,200"),       # the same line sent twice
        ("S2", "厦门", "D2", "2026年9月2日", "1,200.50"),   # CM2
        ("S3", "福州", "D1", "20260903", "1.2万"),          # CM3
        ("S4", "福州", "D2", "2026-09-04", "一千二"),       # CM4's only order: no amount
    ])  # fmt: skip
    raw(con, INVOICE_FEED, [("I1", "福州", "D3", "2026-12-01", "0")])  # CM5: nothing open

    roles, value = build(con)

    ordered = set(value.index[value["lifetime_orders"] > 0])
    assert holders(roles, "customer") == ordered == {"CM1", "CM2", "CM3"}
    assert [float(value.loc[c, "lifetime_revenue"]) for c in ("CM1", "CM2", "CM3")] == [
        1200.0, 1200.5, 12000.0]  # fmt: skip
    assert value.loc["CM1", "lifetime_orders"] == 1  # the repeat is quarantined, not counted
    evidence = roles.set_index(["customer_id", "role"])["evidence"]
    assert evidence["CM1", "customer"] == "1 order(s)"
    assert holders(roles, "prospect") == {"CM4", "CM5"}


def test_debtor_role_is_held_exactly_by_customers_with_an_open_amount_in_customer_value():
    con = warehouse()
    raw(con, ORDER_FEED, [])
    raw(con, INVOICE_FEED, [
        ("I1", "厦门", "D1", "2026-10-01", "¥1,200"),       # CM1: ¥ amounts parse
        ("I2", "厦门", "D2", "2026-10-01", "1,200.50"),     # CM2
        ("I3", "福州", "D1", "2026-10-01", "1.2万"),         # CM3
        ("I3", "福州", "D1", "2026-10-01", "1.2万"),         # sent twice: counted once
        ("I4", "福州", "D2", "2026-10-01", "n/a"),          # CM4: unreadable, quarantined
        ("I5", "福州", "D3", "2026-10-01", "0.00"),         # CM5: settled
    ])  # fmt: skip

    roles, value = build(con)

    owing = set(value.index[value["open_amount"] > 0])
    assert holders(roles, "debtor") == owing == {"CM1", "CM2", "CM3"}
    evidence = roles.set_index(["customer_id", "role"])["evidence"]
    assert evidence["CM3", "debtor"] == "1 open invoice(s), 12000.00 open"
    assert float(value.loc["CM3", "open_amount"]) == 12000.0

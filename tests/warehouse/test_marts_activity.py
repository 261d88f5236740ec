"""Orders, interactions and open invoices of every source attached to customers; nothing dropped."""

import json
from datetime import date, datetime

import duckdb
import pandas as pd
import pyarrow as pa
from marts_tables import warehouse

from sources.activity_schema import ActivityKind
from sources.activity_staging import stage_activity
from sources.config import ActivityFeed, InteractionFeed, OrderFeed
from sources.ingest import raw_table
from warehouse.marts import INTERACTIONS, ORDERS, build_activity, update_activity
from warehouse.store import replace_table

DEALER_ORDERS = OrderFeed(
    name="dealer_orders",
    customer_source="dealers",
    path="orders.csv",
    columns={"order_id": "单号", "source_record_id": "客户编号", "order_date": "日期",
             "product": "产品", "quantity": "数量", "amount": "金额"},
)  # fmt: skip
KA_ORDERS = OrderFeed(
    name="ka_orders",
    customer_source="key_accounts",
    path="ka.csv",
    columns={"order_id": "Order", "source_record_id": "Account", "order_date": "Date",
             "amount": "Amount"},
)  # fmt: skip
CALLS = InteractionFeed(
    name="dealer_calls",
    customer_source="dealers",
    path="calls.csv",
    columns={"interaction_id": "编号", "source_record_id": "客户编号", "interaction_date": "日期",
             "interaction_type": "类型", "satisfaction_score": "评分", "status": "状态"},
)  # fmt: skip

#: When the test's feeds were read.
INGESTED_AT = datetime(2026, 9, 30, 6)


def raw(con: duckdb.DuckDBPyConnection, feed: str, file: str, rows: list[dict]) -> None:
    """``raw.<feed>`` as ingestion writes it: lineage, a content hash and the file's columns."""
    frame = pa.Table.from_pandas(pd.DataFrame(rows, dtype=object), preserve_index=False)
    replace_table(con, "raw", feed, raw_table(frame, feed, file, INGESTED_AT))


def staged_and_attached(
    con: duckdb.DuckDBPyConnection, kind: ActivityKind, feeds: list[ActivityFeed]
) -> pd.DataFrame:
    """Stage the raw feeds (``staging.<kind>``), then attach them to customers (the mart)."""
    stage_activity(con, kind, feeds)
    return build_activity(con, kind)


def with_master(con: duckdb.DuckDBPyConnection, xref: dict[str, str]) -> None:
    frame = pd.DataFrame({"record_key": list(xref), "customer_id": list(xref.values())})
    con.register("__x", frame)
    con.execute(
        "CREATE TABLE master.customer_xref AS SELECT *, NULL::TIMESTAMP AS valid_to FROM __x"
    )
    con.execute(
        """INSERT INTO master.customer_xref VALUES ('dealers:OLD', 'CM9', now()::TIMESTAMP)"""
    )  # a record that left the sources: no longer current
    con.execute(
        """CREATE TABLE staging.quarantine AS SELECT * FROM (VALUES
           ('dealers', 'd.csv', 7, 'D7', 'unknown entity_type value ''待定''')
           ) t(source, source_file, source_row, source_record_id, reason)"""
    )


def test_orders_of_every_source_get_their_customer_and_parsed_values():
    con = warehouse()
    with_master(con, {"dealers:D1": "CM1", "dealers:D2": "CM2", "key_accounts:K1": "CM1"})
    raw(con, "dealer_orders", "orders.csv", [
        {"单号": "S1", "客户编号": " D1 ", "日期": "2026/3/5", "产品": "墨盒", "数量": "2", "金额": "1,234.50"},
        {"单号": "S2", "客户编号": "D2", "日期": "2026年3月6日", "产品": "纸", "数量": "几箱", "金额": "¥800"},
        {"单号": "S3", "客户编号": "D2", "日期": "20260307", "产品": "硒鼓", "数量": "1", "金额": "1.2万"},
    ])  # fmt: skip
    raw(
        con,
        "ka_orders",
        "ka.csv",
        [{"Order": "K-1", "Account": "K1", "Date": "2026-03-08", "Amount": "99"}],
    )

    reconciled = staged_and_attached(con, ORDERS, [DEALER_ORDERS, KA_ORDERS])

    orders = con.sql("FROM marts.orders ORDER BY order_key").df().set_index("order_id")
    assert orders["customer_id"].to_dict() == {"S1": "CM1", "S2": "CM2", "S3": "CM2", "K-1": "CM1"}
    assert [d.isoformat() for d in orders["order_date"].dt.date] == [
        "2026-03-05", "2026-03-06", "2026-03-07", "2026-03-08"]  # fmt: skip
    assert [float(a) for a in orders["amount"]] == [1234.5, 800.0, 12000.0, 99.0]
    assert orders.loc["S2", "quality_flags"] == "quantity_unparseable"  # kept, flagged
    assert orders.loc["K-1", "order_key"] == "ka_orders:K-1"
    assert reconciled.to_dict("records") == [
        {"feed": "dealer_orders", "received": 3, "kept": 3, "quarantined": 0},
        {"feed": "ka_orders", "received": 1, "kept": 1, "quarantined": 0},
    ]


def test_orders_that_cannot_be_attached_or_read_are_quarantined_with_file_row_and_field():
    con = warehouse()
    with_master(con, {"dealers:D1": "CM1"})
    raw(con, "dealer_orders", "orders.csv", [
        {"单号": "S1", "客户编号": "D1", "日期": "2026-03-05", "产品": "墨盒", "数量": "1", "金额": "100"},
        {"单号": "S2", "客户编号": "D404", "日期": "2026-03-05", "产品": "墨盒", "数量": "1", "金额": "100"},
        {"单号": "S3", "客户编号": "D7", "日期": "2026-03-05", "产品": "墨盒", "数量": "1", "金额": "100"},
        {"单号": "S4", "客户编号": "OLD", "日期": "2026-03-05", "产品": "墨盒", "数量": "1", "金额": "100"},
        {"单号": "S5", "客户编号": "D1", "日期": "2026-13-45", "产品": "墨盒", "数量": "1", "金额": "abc"},
        {"单号": None, "客户编号": None, "日期": "2026-03-05", "产品": "墨盒", "数量": "1", "金额": "5"},
        {"单号": "S1", "客户编号": "D1", "日期": "2026-03-05", "产品": "墨盒", "数量": "1", "金额": "100"},
    ])  # fmt: skip
    con.execute(
        """CREATE TABLE raw.dealer_orders__rejected AS SELECT 'dealer_orders' AS source,
           'orders.csv' AS source_file, 9::BIGINT AS source_row, 'expected 6 fields, saw 2' AS reason,
           'S9,D1' AS raw"""
    )

    reconciled = staged_and_attached(con, ORDERS, [DEALER_ORDERS])

    assert con.sql("SELECT order_id FROM marts.orders").fetchall() == [("S1",)]
    q = con.sql("FROM marts.orders_quarantine").df().set_index("source_row")
    assert q.loc[3, "reason"] == (
        "dealer_orders: orders.csv row 3: source_record_id: "
        "customer record dealers:D404 is not a current customer record"
    )
    assert q.loc[3, "field"] == "source_record_id" and q.loc[3, "order_id"] == "S2"
    assert "was quarantined in staging (unknown entity_type value '待定')" in q.loc[4, "reason"]
    assert "dealers:OLD is not a current customer record" in q.loc[5, "reason"]
    assert q.loc[6, "field"] == "order_date, amount"
    assert (
        "order_date: '2026-13-45' is not a date; amount: 'abc' is not an amount"
        in q.loc[6, "reason"]
    )
    assert "order_id: is empty" in q.loc[7, "reason"]
    assert "source_record_id: is empty: no customer record" in q.loc[7, "reason"]
    assert q.loc[8, "reason"].endswith("repeats row 2 of orders.csv exactly")
    assert (
        q.loc[9, "reason"]
        == "dealer_orders: orders.csv row 9: unreadable row (expected 6 fields, saw 2)"
    )
    assert json.loads(q.loc[3, "raw"]) == {"source_record_id": "D404", "order_id": "S2",
        "order_date": "2026-03-05", "product": "墨盒", "product_line": None, "quantity": "1",
        "amount": "100"}  # fmt: skip
    assert reconciled.to_dict("records") == [
        {"feed": "dealer_orders", "received": 8, "kept": 1, "quarantined": 7}
    ]


def test_an_order_key_names_one_row_of_the_orders_mart():
    """The marts count orders by counting rows: an order id repeated in its file, in another
    file of the feed or in another feed still gives one row per ``order_key``."""
    con = warehouse()
    with_master(con, {"dealers:D1": "CM1", "key_accounts:K1": "CM1"})
    line = {"客户编号": "D1", "日期": "2026-03-05", "产品": "墨盒", "数量": "1"}
    raw(con, "dealer_orders", "orders.csv", [
        {"单号": "S1", **line, "金额": "100"}, {"单号": "S1", **line, "金额": "50"},
        {"单号": "S2", **line, "金额": "70"},
    ])  # fmt: skip
    con.execute("""INSERT INTO raw.dealer_orders BY NAME
        SELECT * REPLACE ('orders2.csv' AS source_file) FROM raw.dealer_orders""")
    raw(
        con,
        "ka_orders",
        "ka.csv",
        [{"Order": "S1", "Account": "K1", "Date": "2026-03-08", "Amount": "9"}],
    )

    reconciled = staged_and_attached(con, ORDERS, [DEALER_ORDERS, KA_ORDERS])

    assert reconciled["quarantined"].tolist() == [4, 0]  # the repeats, of both files
    keys = con.sql("SELECT order_key FROM marts.orders ORDER BY ALL").fetchall()
    assert keys == [("dealer_orders:S1",), ("dealer_orders:S2",), ("ka_orders:S1",)]


def test_interactions_are_attached_and_types_read_case_blind():
    con = warehouse()
    with_master(con, {"dealers:D1": "CM1"})
    raw(con, "dealer_calls", "calls.csv", [
        {"编号": "I1", "客户编号": "D1", "日期": "2026-09-01", "类型": " Complaint ", "评分": None, "状态": "OPEN"},
        {"编号": "I2", "客户编号": "D1", "日期": "2026-09-02", "类型": "survey", "评分": "很好", "状态": None},
        {"编号": "I3", "客户编号": "D2", "日期": "2026-09-03", "类型": "call", "评分": None, "状态": None},
    ])  # fmt: skip

    reconciled = staged_and_attached(con, INTERACTIONS, [CALLS])

    rows = con.sql("FROM marts.interactions ORDER BY interaction_id").df().to_dict("records")
    assert [(r["interaction_type"], r["status"]) for r in rows] == [
        ("complaint", "open"),
        ("survey", None),
    ]
    assert rows[0]["interaction_date"].date() == date(2026, 9, 1)
    assert rows[1]["quality_flags"] == "satisfaction_score_unparseable"
    assert reconciled[["received", "kept", "quarantined"]].values.tolist() == [[3, 2, 1]]


def test_no_feed_gives_empty_marts_that_still_reconcile():
    con = warehouse()
    with_master(con, {"dealers:D1": "CM1"})
    con.execute("DROP TABLE marts.orders")
    reconciled = staged_and_attached(con, ORDERS, [DEALER_ORDERS])  # configured, never ingested
    assert reconciled.empty
    assert con.sql("SELECT count(*) FROM marts.orders").fetchall() == [(0,)]
    assert con.sql("SELECT count(*) FROM marts.orders_quarantine").fetchall() == [(0,)]


#: The first day's dealer orders of the update tests.
DAY_ONE = [
    {"单号": "S1", "客户编号": "D1", "日期": "2026-03-05", "产品": "墨盒", "数量": "2", "金额": "100"},
    {"单号": "S2", "客户编号": "D2", "日期": "2026-03-06", "产品": "纸", "数量": "1", "金额": "80"},
    {"单号": "S3", "客户编号": "D3", "日期": "2026-03-07", "产品": "硒鼓", "数量": "1", "金额": "50"},
    {"单号": "S4", "客户编号": "D404", "日期": "2026-03-07", "产品": "纸", "数量": "1", "金额": "5"},
    {"单号": "S6", "客户编号": "D5", "日期": "2026-03-07", "产品": "纸", "数量": "1", "金额": "9"},
]  # fmt: skip


def orders_of_day_one() -> duckdb.DuckDBPyConnection:
    """A warehouse with the first day's orders staged and attached."""
    con = warehouse()
    with_master(
        con, {"dealers:D1": "CM1", "dealers:D2": "CM2", "dealers:D3": "CM3", "dealers:D5": "CM5"}
    )
    raw(con, "dealer_orders", "orders.csv", DAY_ONE)
    staged_and_attached(con, ORDERS, [DEALER_ORDERS])
    return con


def a_day_of_order_changes(con: duckdb.DuckDBPyConnection, *more: dict) -> None:
    """The next day, staged: S2 removed (S3 and S4 move up a row), S3 corrected, S5 new, the
    rows ``more`` at the end; D2 and D5 merged into CM1, D404 now a current customer record
    and D1 no longer one (S1 quarantined)."""
    raw(con, "dealer_orders", "orders.csv", [
        DAY_ONE[0],
        {**DAY_ONE[2], "金额": "55"},
        DAY_ONE[3],
        {"单号": "S5", "客户编号": "D2", "日期": "2026-03-08", "产品": "纸", "数量": "3", "金额": "240"},
        DAY_ONE[4],  # the same row at the same place, its record now another customer's
        *more,
    ])  # fmt: skip
    con.execute(
        """UPDATE master.customer_xref SET customer_id = 'CM1'
           WHERE record_key IN ('dealers:D2', 'dealers:D5')"""
    )
    con.execute("INSERT INTO master.customer_xref VALUES ('dealers:D404', 'CM4', NULL)")
    con.execute(
        "UPDATE master.customer_xref SET valid_to = now()::TIMESTAMP WHERE record_key = 'dealers:D1'"
    )
    stage_activity(con, ORDERS, [DEALER_ORDERS])


def test_updating_the_orders_mart_with_a_day_of_changes_equals_building_it_whole():
    con = orders_of_day_one()
    a_day_of_order_changes(con)

    updated = update_activity(con, ORDERS)
    kept, quarantined = (
        sorted(con.sql(f"FROM marts.{t}").fetchall(), key=repr)
        for t in ("orders", "orders_quarantine")
    )
    whole = build_activity(con, ORDERS)

    assert kept == sorted(con.sql("FROM marts.orders").fetchall(), key=repr)
    assert quarantined == sorted(con.sql("FROM marts.orders_quarantine").fetchall(), key=repr)
    assert updated.to_dict("records") == whole.to_dict("records")
    assert dict(con.sql("SELECT order_id, customer_id FROM marts.orders").fetchall()) == {
        "S3": "CM3", "S4": "CM4", "S5": "CM1", "S6": "CM1"}  # fmt: skip
    assert "S1" in {
        r[0] for r in con.sql("SELECT order_id FROM marts.orders_quarantine").fetchall()
    }


def test_the_orders_summed_per_customer_by_an_update_are_those_of_a_whole_build():
    """``marts.orders__by_customer`` (each customer's rows and the sum of their hashes, the
    per-customer marts' fingerprint of its orders) after a day of moved, removed, corrected
    and new orders, one of them in an old month: as a whole build sums them, and no row for
    a customer left without orders."""
    con = orders_of_day_one()
    by_customer = "SELECT customer_id, rows, h FROM marts.orders__by_customer ORDER BY ALL"
    before = con.sql(by_customer).fetchall()
    a_day_of_order_changes(
        con,
        {
            "单号": "S7",
            "客户编号": "D3",
            "日期": "2024-11-02",
            "产品": "纸",
            "数量": "1",
            "金额": "12",
        },
    )

    update_activity(con, ORDERS)
    updated = con.sql(by_customer).fetchall()
    build_activity(con, ORDERS)

    assert updated == con.sql(by_customer).fetchall()
    assert [(c, n) for c, n, _ in updated] == [("CM1", 2), ("CM3", 2), ("CM4", 1)]
    assert [(c, n) for c, n, _ in before] == [("CM1", 1), ("CM2", 1), ("CM3", 1), ("CM5", 1)]
    assert dict((c, h) for c, _, h in updated)["CM3"] != dict((c, h) for c, _, h in before)["CM3"]

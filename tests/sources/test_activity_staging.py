"""Activity feeds staged once: parsed by the customer grammar, repeats and unreadable rows
quarantined with where they come from, every row accounted for."""

import json
from datetime import date, datetime

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from quality.reconciliation import check_quarantined_share, reconcile_activity
from sources import activity_staging
from sources.activity_schema import ORDERS, RECEIVABLES
from sources.activity_staging import stage_activity
from sources.config import ActivityFeed, OrderFeed, ReceivableFeed, SourceConfig
from sources.ingest import raw_table
from sources.mapping import map_source
from sources.standardise import parse_amounts, parse_dates
from warehouse.store import replace_table

DEALER_ORDERS = OrderFeed(
    name="dealer_orders",
    customer_source="dealers",
    path="orders.csv",
    columns={"order_id": "单号", "source_record_id": ["门店", "客户编号"], "order_date": "日期",
             "quantity": "数量", "amount": "金额"},
)  # fmt: skip
DEALER_INVOICES = ReceivableFeed(
    name="dealer_invoices",
    customer_source="dealers",
    path="ar.csv",
    columns={"invoice_id": "发票号", "source_record_id": ["门店", "客户编号"], "due_date": "到期日",
             "amount_open": "未付"},
)  # fmt: skip

#: When the test's feeds were read.
INGESTED_AT = datetime(2026, 9, 30, 6)


def raw(con: duckdb.DuckDBPyConnection, feed: ActivityFeed, rows: list[dict]) -> None:
    """``raw.<feed>`` as ingestion writes it: lineage, a content hash and the file's columns."""
    frame = pa.Table.from_pandas(pd.DataFrame(rows, dtype=object), preserve_index=False)
    replace_table(con, "raw", feed.name, raw_table(frame, feed.name, feed.path, INGESTED_AT))


def warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw; CREATE SCHEMA staging")
    return con


def order(order_id, amount, when="2026-03-05", shop="厦门", customer="D1", quantity="1") -> dict:
    return {"单号": order_id, "门店": shop, "客户编号": customer, "日期": when, "数量": quantity,
            "金额": amount}  # fmt: skip


def test_amounts_and_dates_are_read_by_the_grammar_of_customer_staging():
    texts = ["¥1,200", "1,200.50", "1.2万", "RMB 800", "(1,234)"]
    con = warehouse()
    raw(con, DEALER_ORDERS, [
        order(f"S{i}", amount, when)
        for i, (amount, when) in enumerate(zip(texts, ["2026/3/5", "2026年3月6日", "20260307",
                                                       "45376", "2026-03-09 10:11:12"], strict=True))
    ])  # fmt: skip

    stage_activity(con, ORDERS, [DEALER_ORDERS])

    staged = con.sql("FROM staging.orders ORDER BY source_row").df()
    assert [float(a) for a in staged["amount"]] == [1200.0, 1200.5, 12000.0, 800.0, -1234.0]
    assert [float(a) for a in staged["amount"]] == parse_amounts(pd.Series(texts)).tolist()
    assert [d.date() for d in staged["order_date"]] == [
        date(2026, 3, 5), date(2026, 3, 6), date(2026, 3, 7), date(2024, 3, 25), date(2026, 3, 9)]  # fmt: skip
    assert (
        staged["order_date"].tolist()
        == parse_dates(
            pd.Series(["2026/3/5", "2026年3月6日", "20260307", "45376", "2026-03-09 10:11:12"])
        ).tolist()
    )


def test_a_multi_column_customer_key_is_the_record_key_customer_staging_gives():
    con = warehouse()
    raw(con, DEALER_ORDERS, [order("S1", "100", shop=" 厦门 ", customer=" D1 ")])
    stage_activity(con, ORDERS, [DEALER_ORDERS])

    source = SourceConfig(name="dealers", kind="dealer", path="d.csv", entity_type="company",
                          columns={"source_record_id": ["门店", "客户编号"], "name": "名称"})  # fmt: skip
    customer = pa.table({
        "source": ["dealers"], "source_file": ["d.csv"], "source_row": [2], "ingested_at": [None],
        "record_hash": ["h"], "门店": [" 厦门 "], "客户编号": [" D1 "], "名称": ["甲公司"]})  # fmt: skip
    mapped = map_source(customer, source).records.to_pylist()[0]
    assert con.sql("SELECT record_key FROM staging.orders").fetchall() == [
        (f"dealers:{mapped['source_record_id']}",)
    ]
    assert mapped["source_record_id"] == "厦门 D1"


def test_a_repeated_order_line_is_quarantined_naming_the_row_it_repeats():
    con = warehouse()
    raw(con, DEALER_ORDERS, [
        order("S1", "100"),
        order("S2", "200"),
        order("S1", "100"),  # the same line sent twice
        order("S2", "250"),  # the same order number with other content
    ])  # fmt: skip

    per_feed = stage_activity(con, ORDERS, [DEALER_ORDERS])

    assert con.sql("SELECT order_id, source_row FROM staging.orders ORDER BY 2").fetchall() == [
        ("S1", 2),
        ("S2", 3),
    ]
    q = con.sql("FROM staging.orders_quarantine ORDER BY source_row").df()
    assert q[["feed", "source_file", "source_row", "field"]].values.tolist() == [
        ["dealer_orders", "orders.csv", 4, "order_id"],
        ["dealer_orders", "orders.csv", 5, "order_id"],
    ]
    assert q["reason"].tolist() == [
        "dealer_orders: orders.csv row 4: order_id: 'S1' repeats row 2 of orders.csv exactly",
        "dealer_orders: orders.csv row 5: order_id: 'S2' repeats row 3 of orders.csv",
    ]
    assert json.loads(q["raw"][1])["amount"] == "250"  # the row as sent
    assert per_feed.to_dict("records") == [{"feed": "dealer_orders", "staged": 2, "quarantined": 2}]


def test_every_row_received_is_staged_or_quarantined_and_the_share_is_bounded():
    con = warehouse()
    raw(con, DEALER_INVOICES, [
        {"发票号": "I1", "门店": "厦门", "客户编号": "D1", "到期日": "2026-10-01", "未付": "¥1,200"},
        {"发票号": "I2", "门店": "厦门", "客户编号": "D1", "到期日": "明天", "未付": "300"},
        {"发票号": "I3", "门店": None, "客户编号": None, "到期日": "2026-10-01", "未付": "n/a"},
    ])  # fmt: skip
    con.execute(
        """CREATE TABLE raw.dealer_invoices__rejected AS SELECT 'dealer_invoices' AS source,
           'ar.csv' AS source_file, 9::BIGINT AS source_row, 'expected 5 fields, saw 2' AS reason,
           'I9,D1' AS raw"""
    )

    stage_activity(con, RECEIVABLES, [DEALER_INVOICES])

    reasons = con.sql("SELECT reason FROM staging.receivables_quarantine ORDER BY source_row")
    assert [r for (r,) in reasons.fetchall()] == [
        "dealer_invoices: ar.csv row 3: due_date: '明天' is not a date",
        "dealer_invoices: ar.csv row 4: amount_open: 'n/a' is not an amount; "
        "source_record_id: is empty: no customer record",
        "dealer_invoices: ar.csv row 9: unreadable row (expected 5 fields, saw 2)",
    ]
    table = reconcile_activity(con, "receivables", ["dealer_invoices"])
    assert table.to_dict("records") == [{"feed": "dealer_invoices", "received": 4, "staged": 1,
                                         "quarantined": 3, "difference": 0}]  # fmt: skip
    assert not check_quarantined_share(table, 0.01).passed
    assert check_quarantined_share(table, 0.75).passed
    assert "dealer_invoices (3 of 4, 75.0%)" in check_quarantined_share(table, 0.5).description
    one_bad_row = table.assign(received=85, staged=84, quarantined=1)  # 1.2% of a small feed
    assert check_quarantined_share(one_bad_row, 0.01).passed


def test_feeds_never_ingested_give_empty_typed_tables():
    con = warehouse()
    assert stage_activity(con, ORDERS, [DEALER_ORDERS]).empty
    types = dict(con.sql("SELECT column_name, data_type FROM information_schema.columns "
                         "WHERE table_name = 'orders'").fetchall())  # fmt: skip
    assert (types["order_date"], types["amount"], types["quantity"]) == (
        "DATE", "DECIMAL(18,2)", "DOUBLE")  # fmt: skip


def staged_rows(con: duckdb.DuckDBPyConnection, kind) -> dict[str, list[tuple]]:
    """Both staged tables of ``kind``, row for row, in the order a full staging writes them."""
    return {
        table: con.execute(
            f"FROM staging.{table} ORDER BY feed, source_file, source_row"
        ).fetchall()
        for table in (kind.table, kind.quarantine_table)
    }


def test_restaging_what_changed_gives_what_staging_from_scratch_gives():
    day_one = [
        order("S1", "100"),
        order("S2", "200"),
        order("S1", "100"),  # a repeat of S1: quarantined while S1 is sent
        order("S3", "n/a"),  # not an amount
        order(None, "50"),  # no order number
        order("S4", "400"),
        order("S5", "500"),
        order("S6", "600"),
    ]
    day_two = [
        # S1's first line is gone: its repeat, further down, is the one staged now
        order("S2", "200"),
        order("S1", "100"),
        order("S3", "300"),  # corrected
        order(None, "50"),
        order("S4", "450"),  # changed in place
        order("S5", "500"),  # unchanged, one row higher
        order("S6", "600"),
        order("S7", "700"),  # new
        order("S5", "500"),  # a repeat of an unchanged order
    ]
    con = warehouse()
    raw(con, DEALER_ORDERS, day_one)
    stage_activity(con, ORDERS, [DEALER_ORDERS])
    raw(con, DEALER_ORDERS, day_two)
    per_feed = stage_activity(con, ORDERS, [DEALER_ORDERS], incremental=True)

    scratch = warehouse()
    raw(scratch, DEALER_ORDERS, day_two)
    assert per_feed.equals(stage_activity(scratch, ORDERS, [DEALER_ORDERS]))
    assert staged_rows(con, ORDERS) == staged_rows(scratch, ORDERS)
    assert con.sql("SELECT order_id, source_row FROM staging.orders ORDER BY 2").fetchall() == [
        ("S2", 2), ("S1", 3), ("S3", 4), ("S4", 6), ("S5", 7), ("S6", 8), ("S7", 9)]  # fmt: skip


def test_restaging_keeps_the_rows_of_unchanged_orders_as_they_were():
    con = warehouse()
    raw(con, DEALER_ORDERS, [order("S1", "100"), order("S2", "200")])
    stage_activity(con, ORDERS, [DEALER_ORDERS])
    con.execute("UPDATE staging.orders SET product = 'kept' WHERE order_id = 'S1'")  # a marker
    raw(con, DEALER_ORDERS, [order("S1", "100"), order("S2", "250"), order("S3", "300")])
    stage_activity(con, ORDERS, [DEALER_ORDERS], incremental=True)

    assert con.sql("SELECT order_id, product, amount FROM staging.orders ORDER BY 1").fetchall() == [
        ("S1", "kept", 100), ("S2", None, 250), ("S3", None, 300)]  # fmt: skip


@pytest.mark.parametrize("rows_per_block", [2, 3, 5])
def test_restaging_by_blocks_of_rows_gives_what_staging_from_scratch_gives(
    monkeypatch, rows_per_block
):
    """A day's rows compared in blocks of a few row numbers: the rows of a changed key are
    staged again wherever they lie, a quarantined row in an unchanged block is judged again,
    a row moved to another block is seen as moved."""
    monkeypatch.setattr(activity_staging, "ROWS_PER_BLOCK", rows_per_block)
    day_one = [order(f"S{i}", str(100 + i)) for i in range(1, 25)]
    day_one[3] = order("S2", "102")  # row 5: an exact repeat of S2, quarantined
    day_one[9] = order("S10", "n/a")  # row 11: not an amount
    day_one[15] = order(None, "50")  # row 17: no order number
    day_two = list(day_one)
    day_two[20] = order("S21", "999")  # changed in place, far from the others
    day_two[12] = order("S13", "113", when="2026-03-06")
    day_two.append(order("S8", "108"))  # a repeat of an order staged in an unchanged block
    day_two.append(order("S30", "130"))  # new
    day_two.append(order("S2", "777"))  # another repeat of a quarantined repeat's key
    con = warehouse()
    raw(con, DEALER_ORDERS, day_one)
    stage_activity(con, ORDERS, [DEALER_ORDERS])
    for day in (day_two, day_two[:6] + day_two[7:], day_two[:6] + day_two[7:]):  # then a row gone
        raw(con, DEALER_ORDERS, day)
        per_feed = stage_activity(con, ORDERS, [DEALER_ORDERS], incremental=True)
        scratch = warehouse()
        raw(scratch, DEALER_ORDERS, day)
        assert per_feed.equals(stage_activity(scratch, ORDERS, [DEALER_ORDERS]))
        assert staged_rows(con, ORDERS) == staged_rows(scratch, ORDERS)

"""Prospects per acquisition channel, source and month of first contact, and what became of them."""

from datetime import date

from marts_tables import AS_OF, add_customers, add_orders, warehouse

from warehouse.marts import build_lead_funnel


def _records(con, *rows):
    """Current source records as (record_key, customer_id, channel, created_at)."""
    con.execute(
        """CREATE TABLE staging.customers (record_key VARCHAR, source VARCHAR, acquisition_channel VARCHAR,
                                           created_at DATE, ingested_at TIMESTAMP)"""
    )
    con.execute(
        "CREATE TABLE master.customer_xref (record_key VARCHAR, customer_id VARCHAR, valid_to TIMESTAMP)"
    )
    for key, customer, channel, created in rows:
        con.execute(
            "INSERT INTO staging.customers VALUES (?, ?, ?, ?, TIMESTAMP '2026-09-01')",
            [key, key.split(":")[0], channel, created],
        )
        con.execute("INSERT INTO master.customer_xref VALUES (?, ?, NULL)", [key, customer])
    con.execute(
        """CREATE TABLE marts.customer_lifecycle AS
           SELECT customer_id, min(order_date) AS first_order_date FROM master.customers
           LEFT JOIN marts.orders USING (customer_id) GROUP BY customer_id"""
    )


def funnel(con) -> dict:
    build_lead_funnel(con, AS_OF)
    frame = con.sql("FROM marts.lead_funnel").df()
    return {
        (r["acquisition_channel"], r["source"], r["first_contact_month"].date()): r
        for r in frame.to_dict("records")
    }


def test_first_contact_conversion_days_and_first_year_spend():
    con = warehouse()
    add_customers(con, *({"customer_id": c} for c in ("X", "Y", "Z", "W")))
    add_orders(con, ("X", date(2025, 2, 9), 100), ("X", date(2025, 12, 1), 50),
               ("X", date(2026, 3, 1), 1000),  # after X's first year
               ("Z", date(2026, 6, 1), 70))  # Z's first year is not over  # fmt: skip
    add_orders(con, ("W", date(2024, 5, 1), 10))  # ordered before any source recorded W
    _records(con,
             ("regional:1", "X", "展会", date(2025, 1, 10)),  # X's first record
             ("dealers:1", "X", "官网", date(2025, 3, 1)),
             ("regional:2", "Y", "展会", date(2025, 1, 20)),  # never ordered
             ("regional:3", "Z", "展会", date(2025, 1, 5)),
             ("dealers:2", "W", None, date(2024, 6, 1)))  # fmt: skip
    rows = funnel(con)
    assert set(rows) == {
        ("展会", "regional", date(2025, 1, 1)),
        (None, "dealers", date(2024, 5, 1)),
    }
    fair = rows[("展会", "regional", date(2025, 1, 1))]
    assert (fair["prospects"], fair["became_customers"], fair["still_prospects"]) == (3, 2, 1)
    assert fair["conversion_rate"] == 2 / 3
    x_days, z_days = 30, (date(2026, 6, 1) - date(2025, 1, 5)).days  # 512
    assert fair["avg_days_to_convert"] == (x_days + z_days) / 2
    assert (fair["first_year_customers"], float(fair["first_year_revenue"])) == (1, 150.0)
    assert float(fair["avg_first_year_revenue"]) == 150.0
    w = rows[(None, "dealers", date(2024, 5, 1))]  # first contact is the order, converted on day 0
    assert (w["prospects"], w["became_customers"], w["avg_days_to_convert"]) == (1, 1, 0)
    assert (w["first_year_customers"], float(w["first_year_revenue"])) == (1, 10.0)


def test_a_record_naming_its_channel_wins_a_tie():
    con = warehouse()
    add_customers(con, {"customer_id": "T"})
    _records(
        con,
        ("dealers:1", "T", None, date(2026, 1, 2)),
        ("regional:1", "T", "地推", date(2026, 1, 2)),
    )
    assert set(funnel(con)) == {("地推", "regional", date(2026, 1, 1))}


def test_the_first_record_is_the_earliest_day_then_the_least_key_and_a_record_without_a_day_last():
    con = warehouse()
    add_customers(con, *({"customer_id": c} for c in ("T", "U", "V")))
    _records(
        con,
        ("regional:2", "T", "地推", date(2026, 1, 2)),
        ("regional:1", "T", "展会", date(2026, 1, 2)),  # the same day, both name a channel
        ("dealers:9", "U", "官网", None),  # no day at all (below): after any record with one
        ("dealers:5", "U", "展会", date(2026, 2, 3)),
        ("dealers:7", "V", "电话", None),  # no creation day: the day the sync first saw it
    )
    con.execute("UPDATE staging.customers SET ingested_at = NULL WHERE record_key = 'dealers:9'")
    assert set(funnel(con)) == {
        ("展会", "regional", date(2026, 1, 1)),
        ("展会", "dealers", date(2026, 2, 1)),
        ("电话", "dealers", date(2026, 9, 1)),
    }


def test_days_before_1970_come_first_and_a_key_that_starts_another_comes_before_it():
    """The order of first contact is compared as one text per record (day, channel flag,
    key): a day before 1970 still sorts before a later one, and of keys on one day where one
    is the start of the others, the shortest is the least."""
    con = warehouse()
    add_customers(con, *({"customer_id": c} for c in ("T", "U")))
    _records(
        con,
        ("dealers:1", "T", "官网", date(1970, 1, 2)),
        ("regional:5", "T", "展会", date(1969, 12, 31)),  # before 1970: T's first record
        ("regional:10", "U", "地推", date(2026, 1, 2)),
        ("regional:1x", "U", "电话", date(2026, 1, 2)),
        ("regional:1", "U", "展会", date(2026, 1, 2)),  # the start of the two keys above
    )
    assert set(funnel(con)) == {
        ("展会", "regional", date(1969, 12, 1)),
        ("展会", "regional", date(2026, 1, 1)),
    }

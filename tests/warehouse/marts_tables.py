"""Tiny warehouse tables for the marts tests, made in code: a few customers, orders, calls."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb

from warehouse.store import LAYERS

AS_OF = date(2026, 9, 30)

_CUSTOMER_COLUMNS = {
    "customer_id": "VARCHAR", "entity_type": "VARCHAR", "record_count": "BIGINT",
    "sources": "VARCHAR[]", "first_seen": "TIMESTAMP", "last_updated": "TIMESTAMP",
    "name": "VARCHAR", "name_pinyin": "VARCHAR", "uscc": "VARCHAR", "phone": "VARCHAR",
    "mobile": "VARCHAR", "email": "VARCHAR", "address_detail": "VARCHAR", "province": "VARCHAR",
    "city": "VARCHAR", "district": "VARCHAR", "industry": "VARCHAR", "customer_category": "VARCHAR",
    "owner": "VARCHAR", "credit_limit": "DOUBLE", "dealer_code": "VARCHAR",
}  # fmt: skip


def days_ago(n: int) -> date:
    return AS_OF - timedelta(days=n)


def warehouse() -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse with the layer schemas and empty master and marts inputs."""
    con = duckdb.connect()
    for layer in LAYERS:
        con.execute(f"CREATE SCHEMA {layer}")
    columns = ", ".join(f"{c} {t}" for c, t in _CUSTOMER_COLUMNS.items())
    con.execute(f"CREATE TABLE master.customers ({columns})")
    con.execute(
        """CREATE TABLE marts.orders (order_key VARCHAR, customer_id VARCHAR, order_id VARCHAR,
               order_date DATE, product VARCHAR, product_line VARCHAR, quantity DOUBLE,
               amount DECIMAL(18, 2))"""
    )
    con.execute(
        """CREATE TABLE marts.interactions (customer_id VARCHAR, interaction_date DATE,
               interaction_type VARCHAR, satisfaction_score DOUBLE, status VARCHAR, closed_date DATE,
               note VARCHAR)"""
    )
    con.execute(
        """CREATE TABLE marts.receivables (customer_id VARCHAR, invoice_id VARCHAR, due_date DATE,
               amount_open DECIMAL(18, 2))"""
    )
    return con


def add_customers(con: duckdb.DuckDBPyConnection, *rows: dict) -> None:
    """Golden customers; unnamed columns stay empty (entity_type defaults to company)."""
    for row in rows:
        row = {"entity_type": "company", "name": row["customer_id"], **row}
        con.execute(
            f"INSERT INTO master.customers ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        )


def add_orders(con: duckdb.DuckDBPyConnection, *rows: tuple) -> None:
    """Orders as (customer_id, order_date, amount[, product]); each its own order."""
    start = con.execute("SELECT count(*) FROM marts.orders").fetchall()[0][0]
    for i, (customer_id, day, amount, *product) in enumerate(rows, start=start + 1):
        con.execute(
            """INSERT INTO marts.orders (order_key, customer_id, order_id, order_date, product, quantity, amount)
               VALUES (?, ?, ?, ?, ?, 1, ?)""",
            [f"o:{i}", customer_id, str(i), day, product[0] if product else "纸", amount],
        )


def add_interactions(con: duckdb.DuckDBPyConnection, *rows: tuple) -> None:
    """Interactions as (customer_id, date, type[, status[, note]])."""
    for customer_id, day, kind, *rest in rows:
        status, note = (rest + [None, None])[:2]
        con.execute(
            """INSERT INTO marts.interactions (customer_id, interaction_date, interaction_type, status, note)
               VALUES (?, ?, ?, ?, ?)""",
            [customer_id, day, kind, status, note],
        )


def add_receivables(con: duckdb.DuckDBPyConnection, *rows: tuple) -> None:
    """Open invoices as (customer_id, due_date, amount_open)."""
    for i, (customer_id, due, amount) in enumerate(rows):
        con.execute(
            "INSERT INTO marts.receivables VALUES (?, ?, ?, ?)", [customer_id, f"I{i}", due, amount]
        )


def table(con: duckdb.DuckDBPyConnection, name: str, key: str = "customer_id") -> dict:
    """``marts.<name>`` as {key: row dict}."""
    frame = con.sql(f"FROM marts.{name}").df()
    return {r[key]: r for r in frame.to_dict("records")}

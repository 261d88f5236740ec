"""Marts benchmark: every mart built on a synthetic warehouse of N source records.

The master layer is synthesised in DuckDB (two records per golden customer), with raw
order, interaction and receivable feeds as the exports send them (text, 1% of orders on
an unknown record, a few unparseable amounts). Each mart is then built with the marts
code the pipeline runs, and timed.

    .venv/bin/python benchmarks/bench_marts.py --records 1000000
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

import duckdb

from sources.activity_staging import stage_activity
from sources.config import PipelineConfig
from sources.demo.config import demo_marts
from warehouse import marts
from warehouse.store import LAYERS

log = logging.getLogger(__name__)
AS_OF = date(2026, 9, 30)
PRODUCTS = (
    "墨盒 HP 803 黑色", "墨盒 Canon PG-845", "硒鼓 HP CF228A", "硒鼓 Brother TN-2325",
    "彩色激光打印机 HP M255dw", "数码复印机 Canon iR2625", "A4复印纸 70g 5包", "上门维修服务",
)  # fmt: skip


def synthesise(con: duckdb.DuckDBPyConnection, records: int) -> None:
    """Master tables and raw feeds for ``records`` source records (orders: two per record)."""
    customers = records // 2
    for layer in LAYERS:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {layer}")
    con.execute(f"""
        CREATE TABLE master.customer_xref AS
        SELECT 'dealers:R' || i AS record_key, 'CM' || lpad((i // 2)::VARCHAR, 8, '0') AS customer_id,
               NULL::TIMESTAMP AS valid_to FROM range({records}) t(i);
        CREATE TABLE master.customers AS
        SELECT 'CM' || lpad(i::VARCHAR, 8, '0') AS customer_id,
               CASE WHEN i % 3 = 0 THEN 'person' ELSE 'company' END AS entity_type, 2 AS record_count,
               ['dealers'] AS sources, TIMESTAMP '2020-01-01' + INTERVAL (i % 2000) DAY AS first_seen,
               TIMESTAMP '2026-01-01' AS last_updated, '客户' || i AS name, NULL AS name_pinyin, NULL AS uscc,
               '+86592' || (5000000 + i % 1000000) AS phone,
               CASE WHEN i % 2 = 0 THEN '+86138' || lpad((i % 100000000)::VARCHAR, 8, '0') END AS mobile,
               NULL AS email, NULL AS address_detail, '省' || (i % 31) AS province, '市' || (i % 300) AS city,
               NULL AS district, NULL AS industry, NULL AS customer_category, NULL AS owner,
               CASE WHEN i % 10 = 0 THEN 50000.0 * (1 + i % 5) END AS credit_limit, NULL AS dealer_code
        FROM range({customers}) t(i);
        CREATE TABLE staging.customers AS
        SELECT 'dealers:R' || i AS record_key, 'dealers' AS source,
               ['展会', '官网', '老客户介绍', '电话营销', NULL][(1 + hash(i * 23) % 5)::BIGINT] AS acquisition_channel,
               DATE '2020-01-01' + (hash(i * 29) % 2400)::INT AS created_at, now()::TIMESTAMP AS ingested_at
        FROM range({records}) t(i);
        CREATE TABLE master.customer_ids AS
        SELECT customer_id, entity_type, 'active' AS status, NULL::VARCHAR AS merged_into FROM master.customers;
        CREATE TABLE master.customer_roles AS
        SELECT customer_id, 'customer' AS role FROM master.customers;
        CREATE TABLE master.relationships AS
        SELECT customer_id AS from_customer_id,
               'CM' || lpad(((substr(customer_id, 3)::INT + 1) % {customers})::VARCHAR, 8, '0') AS to_customer_id,
               'employment' AS relationship_type, ['x'] AS evidence FROM master.customers
        WHERE entity_type = 'company' AND random() < 0.3;
        CREATE TABLE raw.bench_orders AS
        SELECT 'bench_orders' AS source, 'orders.csv' AS source_file, i + 2 AS source_row,
               now()::TIMESTAMP AS ingested_at, md5(i::VARCHAR) AS record_hash,
               'SO' || i AS order_id,
               CASE WHEN i % 100 = 0 THEN 'NOPE' || i ELSE 'R' || (hash(i) % {records}) END AS customer_record_id,
               strftime(DATE '{AS_OF}' - (hash(i * 7) % 1095)::INT, '%Y-%m-%d') AS order_date,
               {list(PRODUCTS)}[(1 + hash(i * 13) % {len(PRODUCTS)})::BIGINT] AS product,
               ['耗材', '设备', '纸张', '服务'][(1 + hash(i * 13) % 4)::BIGINT] AS product_line, '1' AS quantity,
               CASE WHEN i % 5000 = 0 THEN 'n/a' ELSE (10 + hash(i * 3) % 5000)::VARCHAR || '.00' END AS amount
        FROM range({2 * records}) t(i);
        CREATE TABLE raw.bench_interactions AS
        SELECT 'bench_interactions' AS source, 'interactions.csv' AS source_file, i + 2 AS source_row,
               now()::TIMESTAMP AS ingested_at, md5(i::VARCHAR) AS record_hash, 'I' || i AS interaction_id,
               'R' || (hash(i * 5) % {records}) AS customer_record_id,
               strftime(DATE '{AS_OF}' - (hash(i * 11) % 720)::INT, '%Y-%m-%d') AS interaction_date,
               ['call', 'visit', 'complaint', 'survey'][(1 + hash(i) % 4)::BIGINT] AS interaction_type,
               (1 + hash(i) % 5)::VARCHAR AS satisfaction_score,
               CASE WHEN hash(i * 17) % 3 = 0 THEN 'open' ELSE 'closed' END AS status,
               strftime(DATE '{AS_OF}' - (hash(i * 11) % 720)::INT + (hash(i) % 40)::INT, '%Y-%m-%d') AS closed_date,
               '回访' AS note
        FROM range({records}) t(i);
        CREATE TABLE raw.bench_receivables AS
        SELECT 'bench_receivables' AS source, 'ar.csv' AS source_file, i + 2 AS source_row,
               now()::TIMESTAMP AS ingested_at, md5(i::VARCHAR) AS record_hash, 'INV' || i AS invoice_no,
               'R' || (hash(i * 19) % {records}) AS customer_record_id,
               strftime(DATE '{AS_OF}' - (hash(i) % 200)::INT, '%Y-%m-%d') AS invoice_date,
               strftime(DATE '{AS_OF}' - (hash(i) % 200)::INT + 30, '%Y-%m-%d') AS due_date,
               (hash(i) % 9000)::VARCHAR AS open_amount
        FROM range({records // 3}) t(i);
    """)


def bench_config() -> PipelineConfig:
    columns = {"source_record_id": "customer_record_id"}
    return PipelineConfig.model_validate(
        {
            "sources": [{"name": "dealers", "kind": "dealer", "path": "x", "entity_type": "company",
                         "columns": {"source_record_id": "id", "name": "name"}}],
            "orders": [{"name": "bench_orders", "customer_source": "dealers", "path": "x",
                        "columns": {**columns, **{f: f for f in ("order_id", "order_date", "product",
                                                                  "product_line", "quantity", "amount")}}}],
            "interactions": [{"name": "bench_interactions", "customer_source": "dealers", "path": "x",
                              "columns": {**columns, **{f: f for f in ("interaction_id", "interaction_date",
                                          "interaction_type", "satisfaction_score", "status", "closed_date",
                                          "note")}}}],
            "receivables": [{"name": "bench_receivables", "customer_source": "dealers", "path": "x",
                             "columns": {**columns, "invoice_id": "invoice_no", "invoice_date": "invoice_date",
                                         "due_date": "due_date", "amount_open": "open_amount"}}],
            "marts": demo_marts(),
        }
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    config = bench_config()
    with tempfile.TemporaryDirectory() as folder:
        con = duckdb.connect(str(Path(folder) / "bench.duckdb"))
        started = time.perf_counter()
        synthesise(con, args.records)
        log.info("synthesised %d records in %.1f s", args.records, time.perf_counter() - started)
        steps = [
            *((k.table, lambda k=k: (stage_activity(con, k, k.feeds(config)), marts.build_activity(con, k)))
              for k in marts.KINDS),
            ("customer_value", lambda: marts.build_customer_value(con, config.marts, AS_OF)),
            ("customer_lifecycle", lambda: marts.build_lifecycle(
                con, config.marts, AS_OF, "bench", datetime(2026, 9, 30))),
            ("next_order", lambda: marts.build_next_order(con, config.marts.next_order, AS_OF)),
            ("customer_satisfaction", lambda: marts.build_customer_satisfaction(con, config.marts, AS_OF)),
            ("followup_today", lambda: marts.build_followup_today(con, config.marts, AS_OF)),
            ("sales_by_region_product_month", lambda: marts.build_sales_by_region_product_month(con)),
            ("customer_growth", lambda: marts.build_customer_growth(con, config.marts, AS_OF)),
            ("sales_forecast", lambda: (marts.build_sales_forecast(con, config.marts.forecast, AS_OF),
                                        marts.backtest(con, config.marts.forecast, AS_OF))),
            ("lead_funnel", lambda: marts.build_lead_funnel(con, AS_OF)),
            ("customer_360", lambda: marts.build_customer_360(con, config.marts)),
        ]  # fmt: skip
        total = 0.0
        for name, step in steps:
            started = time.perf_counter()
            step()
            took = time.perf_counter() - started
            total += took
            rows = con.execute(f"SELECT count(*) FROM marts.{name}").fetchall()[0][0]
            log.info("%-32s %10d rows %7.1f s", f"marts.{name}", rows, took)
        log.info("all marts: %.1f s", total)
        con.close()


if __name__ == "__main__":
    main()

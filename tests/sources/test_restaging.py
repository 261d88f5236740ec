"""Staging again with the last staged records gives exactly what staging from scratch gives."""

import shutil
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from sources.build_staging import (
    ORDER_TABLE,
    build_staging,
    restage_changed,
    restage_in_warehouse,
    write_staging,
)
from sources.config import PipelineConfig, load_config
from sources.demo import generate_demo
from sources.demo.delta import apply_delta
from sources.ingest import ingest_feed
from sources.raw_files import files_table, files_table_name, read_in_file_order
from warehouse.store import replace_table

INGESTED = datetime(2026, 10, 2, 6, 0)


def raw(config: PipelineConfig) -> tuple[dict[str, pa.Table], dict[str, pa.Table]]:
    tables, rejected = {}, {}
    for source in config.sources:
        batch = ingest_feed(source, config, ingested_at=INGESTED)
        tables[source.name], rejected[source.name] = batch.table, batch.rejected_table()
    return tables, rejected


def restaged(
    tables: dict[str, pa.Table],
    rejected: dict[str, pa.Table],
    config: PipelineConfig,
    today: date,
    previous: pa.Table,
) -> tuple[pa.Table, pa.Table, dict[str, int]]:
    """What a sync's staging makes of ``tables`` in a warehouse whose last staging is
    ``previous``: the staged records (in staging order), the quarantine and the counts."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA staging")
    replace_table(con, "staging", "customers", previous)
    counts = restage_in_warehouse(con, tables, rejected, config, today=today)
    customers = con.sql(
        f"SELECT c.* FROM staging.customers c JOIN {ORDER_TABLE} o USING (record_key) "
        "ORDER BY o.position"
    ).to_arrow_table()
    quarantine = con.sql("FROM staging.quarantine").to_arrow_table()
    con.close()
    return customers, quarantine, counts


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("restaging")
    generate_demo(folder, customers=120, seed=4)
    return folder


def test_restaging_after_a_delta_equals_staging_from_scratch(demo, tmp_path):
    config = load_config(demo / "customer_master.yaml")
    # yesterday's staging ran on a day some records' dates were still ahead of
    before = build_staging(*raw(config), config, today=date(2025, 6, 1)).customers
    flagged = sum("_in_future" in (f or "") for f in before.column("quality_flags").to_pylist())
    assert flagged > 0

    shutil.copytree(demo, tmp_path / "demo")
    summary = apply_delta(tmp_path / "demo", share=0.1, seed=1)
    assert summary.edited and summary.removed and summary.new_records
    config = load_config(tmp_path / "demo" / "customer_master.yaml")
    today = date(2026, 10, 2)
    tables, rejected = raw(config)
    scratch = build_staging(tables, rejected, config, today=today)
    customers, quarantine, counts = restaged(tables, rejected, config, today, before)
    assert counts == scratch.counts()
    assert customers.schema == scratch.customers.schema
    assert customers.num_rows == scratch.customers.num_rows
    assert customers.equals(scratch.customers)
    assert quarantine.equals(scratch.quarantine)
    # a full staging writes its rows in staging order, and says so
    con = duckdb.connect()
    con.execute("CREATE SCHEMA staging")
    write_staging(con, scratch, config)
    order = con.sql(f"SELECT record_key FROM {ORDER_TABLE} ORDER BY position").fetchall()
    assert order == [(k,) for k in scratch.customers.column("record_key").to_pylist()]


def test_restaging_unchanged_files_writes_nothing_again(demo):
    """Records whose rows did not change keep their rows where they lie in the table."""
    config = load_config(demo / "customer_master.yaml")
    tables, rejected = raw(config)
    today = date(2026, 10, 2)
    first = build_staging(tables, rejected, config, today=today).customers
    con = duckdb.connect()
    con.execute("CREATE SCHEMA staging")
    replace_table(con, "staging", "customers", first)
    restage_in_warehouse(con, tables, rejected, config, today=today)
    again = con.sql("SELECT *, rowid AS r FROM staging.customers ORDER BY r").to_arrow_table()
    assert again.drop_columns(["r"]).equals(first)
    assert again.column("r").to_pylist() == list(range(first.num_rows))


def test_restaging_unchanged_rows_takes_todays_lineage(demo):
    """A row that moved in its file (a row above it was removed) keeps its values and takes
    its new row number."""
    config = load_config(demo / "customer_master.yaml")
    tables, rejected = raw(config)
    first = build_staging(tables, rejected, config, today=date(2026, 10, 2)).customers
    dealers = tables["dealers"]
    shifted = dealers.slice(1).set_column(
        dealers.schema.get_field_index("source_row"),
        "source_row",
        pa.compute.subtract(dealers.column("source_row").slice(1), 1),
    )
    tables["dealers"] = shifted
    scratch = build_staging(tables, rejected, config, today=date(2026, 10, 2))
    customers, _, _ = restaged(tables, rejected, config, date(2026, 10, 2), first)
    assert customers.equals(scratch.customers)


def _warehouse_raw(con: duckdb.DuckDBPyConnection, config: PipelineConfig) -> None:
    """The raw tables of ``config``'s sources as the raw step writes them."""
    for source in config.sources:
        batch = ingest_feed(source, config, ingested_at=INGESTED)
        replace_table(con, "raw", source.name, batch.table)
        replace_table(con, "raw", f"{source.name}__rejected", batch.rejected_table())
        replace_table(con, "raw", files_table_name(source.name), files_table(batch))


def _claim_a_later_key(con: duckdb.DuckDBPyConnection) -> str:
    """Give a row of the dealers' first file the key of a row of their last file (which did
    not change): that row is now the repeat, quarantined, though its file is the same."""
    first, last = con.execute(
        "SELECT min(source_file), max(source_file) FROM raw.dealers"
    ).fetchall()[0]
    key = con.execute(
        "SELECT 客户编号 FROM raw.dealers WHERE source_file = ? ORDER BY source_row LIMIT 1",
        [last],
    ).fetchall()[0][0]
    con.execute(
        """UPDATE raw.dealers SET 客户编号 = ?, record_hash = 'changed' || record_hash
           WHERE source_file = ? AND source_row = 2""",
        [key, first],
    )
    return key


def test_restaging_only_the_changed_files_equals_staging_from_scratch(demo, tmp_path):
    config = load_config(demo / "customer_master.yaml")
    con = duckdb.connect()
    for schema in ("raw", "staging"):
        con.execute(f"CREATE SCHEMA {schema}")
    _warehouse_raw(con, config)
    # yesterday's staging, on a day some records' dates were still ahead
    yesterday = build_staging(*_read_raw(con, config), config, date(2025, 6, 1))
    write_staging(con, yesterday, config)
    assert restage_changed(con, config, date(2025, 6, 1)) is not None  # nothing changed

    shutil.copytree(demo, tmp_path / "demo")
    apply_delta(tmp_path / "demo", share=0.1, seed=1)
    config = load_config(tmp_path / "demo" / "customer_master.yaml")
    _warehouse_raw(con, config)
    key = _claim_a_later_key(con)
    today = date(2026, 10, 2)
    scratch = build_staging(*_read_raw(con, config), config, today=today)
    counts = restage_changed(con, config, today)
    assert counts == scratch.counts()
    customers = con.sql(
        f"SELECT c.* FROM staging.customers c JOIN {ORDER_TABLE} o USING (record_key) "
        "ORDER BY o.position"
    ).to_arrow_table()
    assert customers.equals(scratch.customers)
    assert con.sql("FROM staging.quarantine").to_arrow_table().equals(scratch.quarantine)
    reasons = scratch.quarantine.filter(
        pa.compute.equal(scratch.quarantine["source_record_id"], key)
    )
    assert reasons.num_rows == 1  # the unchanged file's row, a repeat now


def _read_raw(con: duckdb.DuckDBPyConnection, config: PipelineConfig):
    tables = {s.name: read_in_file_order(con, s.name) for s in config.sources}
    rejected = {
        s.name: con.sql(f"FROM raw.{s.name}__rejected").to_arrow_table() for s in config.sources
    }
    return tables, rejected

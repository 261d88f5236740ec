"""Whether a warehouse table exists: tables, views and temporary tables the connection can
name, or those of another attached database when it is named."""

import duckdb

from warehouse.store import table_exists


def test_a_table_exists_whether_the_binder_or_the_catalog_finds_it(tmp_path):
    con = duckdb.connect()
    con.execute("CREATE SCHEMA staging")
    con.execute("CREATE TABLE staging.customers (record_key VARCHAR)")
    con.execute("CREATE VIEW staging.current AS SELECT 1 AS one")
    con.execute("CREATE TEMP TABLE __scope (record_key VARCHAR)")
    assert table_exists(con, "staging", "customers")
    assert table_exists(con, "staging", "current")  # a view counts
    assert table_exists(con, "main", "__scope")  # so does a temporary table
    assert not table_exists(con, "staging", "quarantine")
    assert not table_exists(con, "marts", "customers")  # no such schema
    con.execute(f"ATTACH '{tmp_path / 'other.duckdb'}' AS other")
    con.execute("CREATE TABLE other.main.published (x INT)")
    assert table_exists(con, "main", "published", database="other")
    assert not table_exists(con, "main", "customers", database="other")
    # a table of another attached database, not named: found in the catalog
    assert table_exists(con, "main", "published")
    con.begin()
    assert not table_exists(con, "staging", "quarantine")
    con.execute("SELECT 1")  # a name the binder did not know leaves the transaction usable
    con.rollback()

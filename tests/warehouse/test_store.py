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


def test_asking_leaves_no_unfinished_result_behind():
    """A caller that left a result unfetched can ask, then query again (the raw key check
    reads the files table right after asking whether it exists)."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw")
    con.execute("CREATE TABLE raw.dealers AS SELECT range AS source_row FROM range(10)")
    con.execute("SELECT * FROM raw.dealers").fetchone()  # nine rows left unfetched
    assert table_exists(con, "raw", "dealers")
    assert con.sql("SELECT count(*) FROM raw.dealers").fetchall() == [(10,)]
    con.execute("SELECT * FROM raw.dealers")
    assert not table_exists(con, "raw", "dealers__files")
    assert con.sql("SELECT count(*) FROM raw.dealers").fetchall() == [(10,)]

"""A sync compares what a master table was built from with the records now, once."""

import duckdb

from matching.master.built_from import diff_snapshots

COLUMNS = "record_key VARCHAR, customer_id VARCHAR, first_seen_at TIMESTAMP, values_hash UBIGINT"


def snapshots(last, now):
    con = duckdb.connect()
    con.execute("CREATE SCHEMA master")
    con.execute(f"CREATE TABLE master.inputs ({COLUMNS})")
    con.execute(f"CREATE TEMP TABLE __now ({COLUMNS})")
    for table, rows in (("master.inputs", last), ("__now", now)):
        if rows:
            con.executemany(f"INSERT INTO {table} VALUES (?, ?, NULL, ?)", rows)
    return con


def test_one_comparison_gives_the_touched_customers_the_changed_records_and_what_to_keep():
    last = [("a", "C1", 1), ("b", "C1", 2), ("c", "C2", 3), ("d", "C3", 4), ("e", "C4", 5)]
    now = [
        ("a", "C1", 1),  # unchanged
        ("b", "C1", 9),  # its values changed
        ("c", "C5", 3),  # moved to another customer, values as they were
        # d removed
        ("e", "C4", 5),  # unchanged
        ("f", "C6", 6),  # new
    ]
    con = snapshots(last, now)
    diff = diff_snapshots(con, "__now", "master.inputs")
    assert diff is not None
    assert diff.touched == {"C1", "C2", "C5", "C3", "C6"}
    assert diff.changed == {"b", "d", "f"}  # c only moved
    diff.keep(con)
    kept = con.execute("FROM master.inputs ORDER BY record_key").fetchall()
    assert [(k, c, h) for k, c, _, h in kept] == sorted(now)
    tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert tables == {"inputs"}  # the snapshot taken now and the diff dropped


def test_without_a_kept_snapshot_there_is_nothing_to_compare():
    con = snapshots([], [("a", "C1", 1)])
    assert diff_snapshots(con, "__now", "master.missing") is None


def test_the_relationships_inputs_read_from_the_golden_snapshot_of_now_are_those_taken_anew():
    from matching.master.built_from import (
        BUILT_FROM,
        CUSTOMER_VALUES,
        customer_values_of,
        keep_snapshot,
        take_snapshot,
    )

    con = duckdb.connect()
    con.execute("CREATE SCHEMA master")
    con.execute("CREATE SCHEMA staging")
    con.execute(
        """CREATE TABLE master.customer_xref AS FROM (VALUES
            ('a', 'C1', 'person', TIMESTAMP '2026-12-01', TIMESTAMP '2026-12-02'),
            ('a', 'C2', 'person', TIMESTAMP '2026-12-02', NULL),
            ('b', 'C2', 'person', TIMESTAMP '2026-12-02', NULL))
            t(record_key, customer_id, entity_type, valid_from, valid_to)"""
    )
    con.execute(
        """CREATE TABLE staging.customers AS FROM (VALUES
            ('a', '王芳', 'f.csv', 1, TIMESTAMP '2026-12-02'),
            ('b', '王芳', 'f.csv', 2, TIMESTAMP '2026-12-02'))
            t(record_key, name, source_file, source_row, ingested_at)"""
    )
    take_snapshot(con, "__built_from", BUILT_FROM)
    keep_snapshot(con, "__built_from", "master.golden_inputs")
    read = con.execute(f"{customer_values_of('master.golden_inputs')} ORDER BY ALL").fetchall()
    anew = con.execute(f"{CUSTOMER_VALUES} ORDER BY ALL").fetchall()
    assert read == anew and len(read) == 2
    assert read[0][:3] == ("a", "C2", None)

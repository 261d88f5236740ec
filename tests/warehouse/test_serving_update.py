"""Updating the serving index's customer tables from the previous index: the same rows as
writing them whole from the warehouse, whatever changed between the two syncs."""

from pathlib import Path

import duckdb
import pytest

from warehouse.serving import REORDER_SHARE, SERVING_TABLES, update_tables, write_tables


def warehouse(customers: dict[str, str], records: dict[str, str]) -> duckdb.DuckDBPyConnection:
    """A warehouse with every table the index reads: ``customers`` id → name, ``records``
    record key → customer id."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA master; CREATE SCHEMA marts; CREATE SCHEMA staging")
    con.execute("CREATE SCHEMA matching")
    golden = [(c, n) for c, n in customers.items()]
    for name, query in SERVING_TABLES.items():
        table = query.split()[1]
        if name == "records":
            continue
        if name == "relationships":
            con.execute(f"CREATE TABLE {table} (from_customer_id VARCHAR, to_customer_id VARCHAR)")
            con.executemany(f"INSERT INTO {table} VALUES (?, ?)", [(c, "CM9") for c in customers])
        elif name == "review_queue":
            con.execute(f"CREATE TABLE {table} (record_key_l VARCHAR, match_probability DOUBLE)")
            con.executemany(f"INSERT INTO {table} VALUES (?, 0.5)", [(k,) for k in records])
        else:
            con.execute(f"CREATE TABLE {table} (customer_id VARCHAR, name VARCHAR)")
            con.executemany(f"INSERT INTO {table} VALUES (?, ?)", golden)
    con.execute("CREATE TABLE staging.customers (record_key VARCHAR, name VARCHAR)")
    con.executemany("INSERT INTO staging.customers VALUES (?, ?)", [(k, f"n{k}") for k in records])
    con.execute(
        "CREATE TABLE master.customer_xref "
        "(record_key VARCHAR, customer_id VARCHAR, valid_to TIMESTAMP)"
    )
    con.executemany("INSERT INTO master.customer_xref VALUES (?, ?, NULL)", list(records.items()))
    return con


def tables(folder: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(folder / "tables.duckdb"), read_only=True)
    try:
        return {
            name: sorted(con.execute(f"FROM {name}").fetchall(), key=repr)
            for name in SERVING_TABLES
        }
    finally:
        con.close()


def folder(tmp_path: Path, name: str) -> Path:
    (tmp_path / name).mkdir()
    return tmp_path / name


DAY_1 = (
    {f"CM{i}": f"name {i}" for i in range(40)},
    {f"a:{i}": f"CM{i % 40}" for i in range(80)},
)


def test_an_update_gives_the_rows_of_a_whole_write(tmp_path):
    first = folder(tmp_path, "first")
    write_tables(warehouse(*DAY_1), first)
    customers, records = dict(DAY_1[0]), dict(DAY_1[1])
    customers["CM3"] = "renamed"  # an edited golden record
    del customers["CM5"]  # a customer gone
    customers["CM40"] = "new"  # a new one
    records["a:80"] = "CM40"  # with a new record
    records["a:1"] = "CM2"  # a record moving to another customer
    del records["a:7"]  # a removed record
    con = warehouse(customers, records)
    con.execute(
        "UPDATE matching.review_queue SET match_probability = 0.9 WHERE record_key_l = 'a:9'"
    )
    con.execute("INSERT INTO master.relationships VALUES (NULL, 'CM1')")  # a key that is NULL
    updated, whole = folder(tmp_path, "updated"), folder(tmp_path, "whole")
    rows, unordered = update_tables(con, updated, first, {})
    assert rows == write_tables(con, whole)
    assert tables(updated) == tables(whole)
    assert 0 < unordered["customers"] < len(customers)
    assert tables(first) != tables(whole)  # the previous index is left as it was
    # a second update on unchanged tables changes nothing and appends nothing
    again = folder(tmp_path, "again")
    assert update_tables(con, again, updated, unordered) == (rows, unordered)
    assert tables(again) == tables(whole)


def test_a_table_whose_columns_changed_is_written_whole(tmp_path):
    first = folder(tmp_path, "first")
    write_tables(warehouse(*DAY_1), first)
    con = warehouse(*DAY_1)
    con.execute("ALTER TABLE master.customers ADD COLUMN segment VARCHAR DEFAULT 'a'")
    updated, whole = folder(tmp_path, "updated"), folder(tmp_path, "whole")
    _, unordered = update_tables(con, updated, first, {})
    write_tables(con, whole)
    assert tables(updated) == tables(whole)
    assert unordered["customers"] == 0


def test_a_table_the_previous_index_had_and_this_one_has_not_is_dropped(tmp_path):
    first = folder(tmp_path, "first")
    write_tables(warehouse(*DAY_1), first)
    con = duckdb.connect(str(first / "tables.duckdb"))
    con.execute("CREATE TABLE retired AS SELECT 1 AS x")
    con.close()
    updated = folder(tmp_path, "updated")
    update_tables(warehouse(*DAY_1), updated, first, {})
    con = duckdb.connect(str(updated / "tables.duckdb"), read_only=True)
    names = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert names == set(SERVING_TABLES)


@pytest.mark.parametrize("before", [0, 100])
def test_a_table_is_written_again_in_order_once_too_many_rows_were_appended(tmp_path, before):
    first = folder(tmp_path, "first")
    write_tables(warehouse(*DAY_1), first)
    customers = dict(DAY_1[0], CM3="renamed")
    updated = folder(tmp_path, "updated")
    _, unordered = update_tables(
        warehouse(customers, DAY_1[1]), updated, first, {"customers": before}
    )
    appended_once = 1
    assert appended_once <= REORDER_SHARE * len(customers) < 100
    assert unordered["customers"] == (appended_once if before == 0 else 0)
    con = duckdb.connect(str(updated / "tables.duckdb"), read_only=True)
    ids = [r[0] for r in con.execute("SELECT customer_id FROM customers").fetchall()]
    assert (ids == sorted(ids)) == (before == 100)

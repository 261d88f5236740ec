"""Publishing the serving index: whole folders made current by one rename, a failure leaves
the current one, old folders pruned but the newest kept."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from matching.master.build import GOLDEN_TOUCHED
from matching.master.customer_ids import CUSTOMER_IDS_TOUCHED
from matching.master.relationships import RELATIONSHIPS_TOUCHED
from warehouse.files import link_or_copy
from warehouse.serving import (
    SERVING_INPUTS,
    SERVING_TABLES,
    publishing,
    read_pointer,
    read_table,
    restart_touched_log,
    write_tables,
)

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def folders(tmp_path: Path, *names: str) -> list[Path]:
    """New empty folders ``names`` under ``tmp_path``: one per day's index."""
    made = [tmp_path / name for name in names]
    for folder in made:
        folder.mkdir()
    return made


def publish(serving_dir: Path, run_id: str, at: datetime, keep: int = 2) -> Path:
    with publishing(serving_dir, run_id, at, keep=keep) as (folder, contents):
        (folder / "data.txt").write_text(run_id, encoding="utf-8")
        contents["note"] = run_id
    pointer = read_pointer(serving_dir)
    assert pointer is not None
    return pointer.folder


def test_nothing_published_reads_as_none(tmp_path):
    assert read_pointer(tmp_path) is None


def test_the_pointer_names_a_complete_folder_with_its_contents(tmp_path):
    folder = publish(tmp_path, "run-1", T0)
    pointer = read_pointer(tmp_path)
    assert pointer is not None and pointer.run_id == "run-1"
    assert (folder / "data.txt").read_text(encoding="utf-8") == "run-1"
    assert pointer.contents["note"] == "run-1" and pointer.contents["run_id"] == "run-1"
    assert not list(tmp_path.glob(".*"))  # no hidden folder left behind


def test_a_failure_midway_leaves_the_current_index_and_no_leftovers(tmp_path):
    publish(tmp_path, "run-1", T0)
    with (
        pytest.raises(RuntimeError),
        publishing(tmp_path, "run-2", T0 + timedelta(days=1)) as (
            folder,
            _,
        ),
    ):
        (folder / "data.txt").write_text("half", encoding="utf-8")
        raise RuntimeError("the sync died here")
    pointer = read_pointer(tmp_path)
    assert pointer is not None and pointer.run_id == "run-1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["20261201T060000-run-1", "CURRENT.json"]


def test_old_indexes_are_pruned_keeping_the_newest(tmp_path):
    for day in range(4):
        publish(tmp_path, f"run-{day}", T0 + timedelta(days=day), keep=2)
    folders = sorted(p.name for p in tmp_path.iterdir() if p.is_dir())
    assert folders == ["20261203T060000-run-2", "20261204T060000-run-3"]
    pointer = read_pointer(tmp_path)
    assert pointer is not None and pointer.run_id == "run-3"


def test_pruning_an_old_index_leaves_the_files_newer_ones_share_with_it(tmp_path):
    """A delta day's index hard-links its check index's base from the index it replaces
    (``warehouse.files.link_or_copy``): pruning the folder the base was first written in
    leaves the newer folders' names of it whole, and the index served reads them."""
    with publishing(tmp_path, "run-0", T0, keep=2) as (folder, _):
        (folder / "base.arrow").write_bytes(b"the base of day 0")
    for day in range(1, 4):
        current = read_pointer(tmp_path)
        assert current is not None
        with publishing(tmp_path, f"run-{day}", T0 + timedelta(days=day), keep=2) as (folder, _):
            link_or_copy(current.folder / "base.arrow", folder / "base.arrow")
            (folder / "delta.arrow").write_text(f"day {day}", encoding="utf-8")
    folders = sorted(p.name for p in tmp_path.iterdir() if p.is_dir())
    assert folders == ["20261203T060000-run-2", "20261204T060000-run-3"]  # day 0 pruned
    pointer = read_pointer(tmp_path)
    assert pointer is not None
    assert (pointer.folder / "base.arrow").read_bytes() == b"the base of day 0"
    assert (pointer.folder / "base.arrow").stat().st_nlink == 2  # it and day 2's name
    assert (pointer.folder / "delta.arrow").read_text(encoding="utf-8") == "day 3"


def test_a_file_that_cannot_be_linked_is_copied(tmp_path, monkeypatch):
    """Another file system (or one without hard links): the file is copied instead."""
    source = tmp_path / "base.arrow"
    source.write_bytes(b"rows")

    def cross_device(src, dst):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr("warehouse.files.os.link", cross_device)
    link_or_copy(source, tmp_path / "copy.arrow")
    assert (tmp_path / "copy.arrow").read_bytes() == b"rows"
    assert not (tmp_path / "copy.arrow").samefile(source)


def test_every_serving_table_is_written_from_the_warehouse(tmp_path):
    con = duckdb.connect()
    con.execute(
        "CREATE SCHEMA master; CREATE SCHEMA marts; CREATE SCHEMA staging; CREATE SCHEMA matching"
    )
    for name, query in SERVING_TABLES.items():
        if name != "records":
            con.execute(f"CREATE TABLE {query.split()[1]} AS SELECT 'CM00000001' AS customer_id")
    con.execute("CREATE TABLE staging.customers AS SELECT 'a:1' AS record_key, 'x' AS name")
    con.execute(
        "CREATE TABLE master.customer_xref AS SELECT 'a:1' AS record_key, "
        "'CM00000001' AS customer_id, NULL::TIMESTAMP AS valid_to"
    )
    rows = write_tables(con, tmp_path)
    assert set(rows) == set(SERVING_TABLES) and all(n == 1 for n in rows.values())
    assert read_table(tmp_path, "records")["customer_id"].tolist() == ["CM00000001"]


def test_every_table_the_index_reads_decides_whether_it_is_published_again():
    read = {
        t
        for q in SERVING_TABLES.values()
        for t in re.findall(r"\b(?:master|marts|matching|staging)\.\w+", q)
    }
    read |= {"staging.customers", "master.customer_xref"}  # the current records
    assert read <= set(SERVING_INPUTS)
    assert {"matching.prepared_records", "matching.models"} <= set(SERVING_INPUTS)


def small_warehouse() -> duckdb.DuckDBPyConnection:
    """Every table a serving index reads, two customers and three records."""
    con = duckdb.connect()
    con.execute(
        "CREATE SCHEMA master; CREATE SCHEMA marts; CREATE SCHEMA staging; CREATE SCHEMA matching"
    )
    for name, query in SERVING_TABLES.items():
        if name not in ("records", "relationships", "review_queue"):
            con.execute(
                f"CREATE TABLE {query.split()[1]} AS SELECT * FROM (VALUES "
                "('CM1', 'Acme', 1), ('CM2', 'Bolt', 2)) t(customer_id, name, n)"
            )
    con.execute(
        "CREATE TABLE master.relationships AS SELECT 'CM1' AS from_customer_id, "
        "'CM2' AS to_customer_id, 'owned_by' AS kind"
    )
    con.execute(
        "CREATE TABLE matching.review_queue AS SELECT 'a:1' AS record_key_l, 'a:2' AS record_key_r"
    )
    con.execute(
        "CREATE TABLE staging.customers AS SELECT * FROM (VALUES "
        "('a:1', 'Acme', 1, TIMESTAMP '2026-12-01 06:00'), "
        "('a:2', 'Acme Ltd', 2, TIMESTAMP '2026-12-01 06:00'), "
        "('b:1', 'Bolt', 1, TIMESTAMP '2026-12-01 06:00')) t(record_key, name, source_row, ingested_at)"
    )
    con.execute(
        "CREATE TABLE master.customer_xref AS SELECT * FROM (VALUES "
        "('a:1', 'CM1', NULL::TIMESTAMP), ('a:2', 'CM1', NULL), ('b:1', 'CM2', NULL)) "
        "t(record_key, customer_id, valid_to)"
    )
    return con


def served(folder: Path) -> dict[str, list[tuple]]:
    """Every serving table's rows as a reader of the index sees them, in a stable order."""
    return {
        name: sorted(read_table(folder, name).itertuples(index=False, name=None), key=repr)
        for name in SERVING_TABLES
    }


def test_an_index_updated_over_the_previous_one_equals_one_written_whole(tmp_path):
    con = small_warehouse()
    day1, day2, whole = folders(tmp_path, "day1", "day2", "whole")
    write_tables(con, day1)
    with duckdb.connect(str(day1 / "tables.duckdb")) as old:  # a table of an older layout
        old.execute("CREATE TABLE records AS SELECT 1 AS n")
    # a record edited, one removed (the row below it moves up), a new customer
    con.execute("UPDATE staging.customers SET name = 'Acme Co' WHERE record_key = 'a:1'")
    con.execute("DELETE FROM staging.customers WHERE record_key = 'a:2'")
    con.execute("UPDATE staging.customers SET source_row = 1, ingested_at = now()")
    con.execute("INSERT INTO staging.customers VALUES ('c:1', 'Cord', 3, now())")
    con.execute("INSERT INTO master.customer_xref VALUES ('c:1', 'CM3', NULL)")
    con.execute("UPDATE master.customers SET name = 'Acme Co' WHERE customer_id = 'CM1'")
    con.execute("INSERT INTO master.customers VALUES ('CM3', 'Cord', 3)")
    con.execute("DELETE FROM marts.customer_value WHERE customer_id = 'CM2'")
    rows = write_tables(con, day2, previous=day1, rewrite_share=1.0)
    assert rows == write_tables(con, whole)
    assert served(day2) == served(whole)
    assert served(day2)["records"] == [
        ("a:1", "Acme Co", 1, *served(whole)["records"][0][3:]),
        ("b:1", "Bolt", 1, *served(whole)["records"][1][3:]),
        ("c:1", "Cord", 3, *served(whole)["records"][2][3:]),
    ]
    # only the rows of the customers that changed were written again, at the table's end
    out = duckdb.connect(str(day2 / "tables.duckdb"), read_only=True)
    appended = dict(out.execute("FROM _appended").fetchall())
    assert "records" not in {t for (t,) in out.execute("SHOW TABLES").fetchall()}
    assert appended["customers"] == 2  # CM1 edited, CM3 new
    assert appended["customer_value"] == 0  # CM2's rows only deleted
    assert appended["relationships"] == 0 and appended["review_queue"] == 0


def test_rows_without_a_customer_are_rewritten_when_they_change_and_kept_otherwise(tmp_path):
    con = small_warehouse()
    con.execute("INSERT INTO marts.customer_lifecycle VALUES (NULL, 'unassigned', 7)")
    con.execute("INSERT INTO marts.followup_today VALUES (NULL, 'unassigned', 8)")
    day1, day2, whole = folders(tmp_path, "day1", "day2", "whole")
    write_tables(con, day1)
    con.execute("UPDATE marts.customer_lifecycle SET n = 9 WHERE customer_id IS NULL")
    con.execute("UPDATE marts.followup_today SET n = 3 WHERE customer_id = 'CM2'")
    write_tables(con, day2, previous=day1, rewrite_share=1.0)
    write_tables(con, whole)
    assert served(day2) == served(whole)
    assert (None, "unassigned", 9) in served(day2)["customer_lifecycle"]
    assert (None, "unassigned", 8) in served(day2)["followup_today"]
    out = duckdb.connect(str(day2 / "tables.duckdb"), read_only=True)
    appended = dict(out.execute("FROM _appended").fetchall())
    assert appended["customer_lifecycle"] == 1 and appended["followup_today"] == 1


def test_a_table_whose_changed_customers_hold_many_rows_is_written_whole_again(tmp_path):
    con = small_warehouse()
    day1, day2 = tmp_path / "day1", tmp_path / "day2"
    day1.mkdir()
    day2.mkdir()
    write_tables(con, day1)
    con.execute("UPDATE master.customers SET n = n + 1")  # every customer's row changed
    con.execute("ALTER TABLE marts.customer_value ADD COLUMN segment VARCHAR")  # a new column
    write_tables(con, day2, previous=day1, rewrite_share=0.6)
    out = duckdb.connect(str(day2 / "tables.duckdb"), read_only=True)
    appended = dict(out.execute("FROM _appended").fetchall())
    assert appended["customers"] == 0 and appended["customer_value"] == 0  # written whole
    assert [r[2] for r in served(day2)["customers"]] == [2, 3]
    assert "segment" in read_table(day2, "customer_value").columns


def test_revenue_shares_moving_for_every_customer_rewrite_only_the_changed_ones(tmp_path):
    """An order of one customer moves every customer's ``revenue_share``: those are kept
    beside ``customer_value`` and written whole, its other rows only where they changed."""
    con = small_warehouse()
    con.execute(
        "CREATE OR REPLACE TABLE marts.customer_value AS SELECT customer_id, revenue::DOUBLE "
        "AS revenue, revenue_share::DOUBLE AS revenue_share, cumulative_share::DOUBLE AS "
        "cumulative_share FROM (VALUES "
        "('CM1', 100.0, 0.5, 0.5), ('CM2', 100.0, 0.5, 1.0), ('CM4', 0.0, 0.0, 1.0)) "
        "t(customer_id, revenue, revenue_share, cumulative_share)"
    )
    day1, day2, whole = folders(tmp_path, "day1", "day2", "whole")
    write_tables(con, day1)
    con.execute(
        "CREATE OR REPLACE TABLE marts.customer_value AS SELECT customer_id, revenue::DOUBLE "
        "AS revenue, revenue_share::DOUBLE AS revenue_share, cumulative_share::DOUBLE AS "
        "cumulative_share FROM (VALUES "
        "('CM1', 300.0, 0.75, 0.75), ('CM2', 100.0, 0.25, 1.0), ('CM4', 0.0, 0.0, 1.0)) "
        "t(customer_id, revenue, revenue_share, cumulative_share)"
    )
    write_tables(con, day2, previous=day1, rewrite_share=0.5)
    write_tables(con, whole)
    assert served(day2) == served(whole)
    assert sorted(read_table(day2, "customer_value").itertuples(index=False, name=None)) == [
        ("CM1", 300.0, 0.75, 0.75),
        ("CM2", 100.0, 0.25, 1.0),
        ("CM4", 0.0, 0.0, 1.0),
    ]
    out = duckdb.connect(str(day2 / "tables.duckdb"), read_only=True)
    assert dict(out.execute("FROM _appended").fetchall())["customer_value"] == 1  # CM1 only


def log_touched(con: duckdb.DuckDBPyConnection, *customers: str) -> None:
    """What the golden step logs on a day: the customers it built again
    (``matching.master.build.GOLDEN_TOUCHED``; its own test: test_golden_touched.py)."""
    con.executemany(f"INSERT INTO {GOLDEN_TOUCHED} VALUES (?)", [[c] for c in customers])


def golden_warehouse() -> duckdb.DuckDBPyConnection:
    """``small_warehouse`` with what the golden step reads (files, first entries) and its
    log of touched customers, empty as the serving step leaves it once an index is
    published."""
    con = small_warehouse()
    con.execute("ALTER TABLE staging.customers ADD COLUMN source_file VARCHAR DEFAULT 'a.csv'")
    con.execute(
        "ALTER TABLE master.customer_xref ADD COLUMN valid_from TIMESTAMP "
        "DEFAULT TIMESTAMP '2026-12-01 06:00'"
    )
    con.execute("ALTER TABLE master.customer_xref ADD COLUMN entity_type VARCHAR DEFAULT 'company'")
    restart_touched_log(con)
    return con


def test_a_day_rewrites_only_the_customers_the_golden_step_touched_and_ends_as_whole(tmp_path):
    con = golden_warehouse()
    day1, day2, day3, whole = folders(tmp_path, "day1", "day2", "day3", "whole")
    write_tables(con, day1)
    # an edit and a removal (CM1), a new customer (CM3); Bolt's record sent again in
    # another file, every row moved and read again: CM2 is not touched
    con.execute("UPDATE staging.customers SET name = 'Acme Co' WHERE record_key = 'a:1'")
    con.execute("DELETE FROM staging.customers WHERE record_key = 'a:2'")
    con.execute("UPDATE master.customer_xref SET valid_to = now() WHERE record_key = 'a:2'")
    con.execute("UPDATE staging.customers SET source_row = 1, ingested_at = now()")
    con.execute("UPDATE staging.customers SET source_file = 'b2.csv' WHERE record_key = 'b:1'")
    con.execute("INSERT INTO staging.customers VALUES ('c:1', 'Cord', 3, now(), 'c.csv')")
    con.execute(
        "INSERT INTO master.customer_xref (record_key, customer_id, valid_from) "
        "VALUES ('c:1', 'CM3', now())"
    )
    con.execute("UPDATE master.customers SET name = 'Acme Co' WHERE customer_id = 'CM1'")
    con.execute("INSERT INTO master.customers VALUES ('CM3', 'Cord', 3)")
    con.execute("INSERT INTO master.attribute_lineage VALUES ('CM3', 'Cord', 3)")
    con.execute("DELETE FROM marts.customer_value WHERE customer_id = 'CM2'")
    log_touched(con, "CM1", "CM3", "CM1")  # a customer logged twice is rewritten once

    rows = write_tables(con, day2, previous=day1, rewrite_share=1.0)
    assert rows == write_tables(con, whole)
    assert served(day2) == served(whole)
    out = duckdb.connect(str(day2 / "tables.duckdb"), read_only=True)
    appended = dict(out.execute("FROM _appended").fetchall())
    assert appended["records"] == 2  # a:1 (CM1's one record left) and c:1 (CM3)
    assert appended["customers"] == 2 and appended["attribute_lineage"] == 2
    assert appended["customer_value"] == 0  # CM2's row only deleted (found by hashing)
    out.close()
    files = read_table(day2, "records").sort_values("record_key")["source_file"]
    assert files.tolist() == ["a.csv", "b2.csv", "c.csv"]
    # the log is the caller's to start again, once the index is published
    assert sorted(con.execute(f"FROM {GOLDEN_TOUCHED}").fetchall()) == [
        ("CM1",),
        ("CM1",),
        ("CM3",),
    ]
    restart_touched_log(con)

    # a day with no change rewrites nothing
    write_tables(con, day3, previous=day2, rewrite_share=1.0)
    assert served(day3) == served(whole)
    with duckdb.connect(str(day3 / "tables.duckdb"), read_only=True) as out:
        assert dict(out.execute("FROM _appended").fetchall()) == appended


def move_record(con: duckdb.DuckDBPyConnection, record_key: str, to: str) -> None:
    """``record_key`` leaves its customer for ``to``, as the xref keeps it (history kept)."""
    con.execute(
        "UPDATE master.customer_xref SET valid_to = now() "
        "WHERE record_key = ? AND valid_to IS NULL",
        [record_key],
    )
    con.execute(
        "INSERT INTO master.customer_xref (record_key, customer_id, valid_from) "
        "VALUES (?, ?, now())",
        [record_key, to],
    )


def test_a_merge_and_a_split_update_the_index_to_the_one_written_whole(tmp_path):
    con = golden_warehouse()
    day1, merged, merged_whole, split, split_whole = folders(
        tmp_path, "day1", "merged", "merged_whole", "split", "split_whole"
    )
    write_tables(con, day1)
    # Bolt's record joins Acme: CM2 retired, its golden row and mart rows gone, CM1's moved
    move_record(con, "b:1", "CM1")
    con.execute("DELETE FROM master.customers WHERE customer_id = 'CM2'")
    con.execute("DELETE FROM master.attribute_lineage WHERE customer_id = 'CM2'")
    con.execute("UPDATE master.customers SET n = 3 WHERE customer_id = 'CM1'")
    con.execute("UPDATE master.customer_ids SET customer_id = 'CM1' WHERE customer_id = 'CM2'")
    con.execute(f"INSERT INTO {CUSTOMER_IDS_TOUCHED} VALUES ('CM1'), ('CM2')")  # the ID step's
    con.execute("DELETE FROM marts.customer_value WHERE customer_id = 'CM2'")
    log_touched(con, "CM1", "CM2")
    write_tables(con, merged, previous=day1, rewrite_share=1.0)
    restart_touched_log(con)
    write_tables(con, merged_whole)
    assert served(merged) == served(merged_whole)
    assert {r[0]: r[-1] for r in served(merged)["records"]} == {
        "a:1": "CM1",
        "a:2": "CM1",
        "b:1": "CM1",
    }
    with duckdb.connect(str(merged / "tables.duckdb"), read_only=True) as out:
        appended = dict(out.execute("FROM _appended").fetchall())
    assert appended["records"] == 3  # CM1's three records; CM2 has none left
    assert appended["customers"] == 1  # CM1 (CM2's row only deleted)
    assert appended["customer_ids"] == 2  # CM1's two rows, from the ID step's log

    # then a split: Acme Ltd's record leaves CM1 for a new customer, CM4
    move_record(con, "a:2", "CM4")
    con.execute("INSERT INTO master.customers VALUES ('CM4', 'Acme Ltd', 4)")
    con.execute("INSERT INTO master.attribute_lineage VALUES ('CM4', 'Acme Ltd', 4)")
    con.execute("UPDATE master.customers SET n = 1 WHERE customer_id = 'CM1'")
    log_touched(con, "CM1", "CM4")
    write_tables(con, split, previous=merged, rewrite_share=1.0)
    write_tables(con, split_whole)
    assert served(split) == served(split_whole)
    assert {r[0]: r[-1] for r in served(split)["records"]} == {
        "a:1": "CM1",
        "a:2": "CM4",
        "b:1": "CM1",
    }


def test_days_whose_index_was_not_published_are_all_rewritten_on_the_next(tmp_path):
    """The serving step skipped or failed on a day: its golden changes stay logged, and the
    next day's index, over the last published one, takes both days' changes."""
    con = golden_warehouse()
    day1, day3, whole = folders(tmp_path, "day1", "day3", "whole")
    write_tables(con, day1)
    # day 2: Acme renamed; its index never published (the log is not started again)
    con.execute("UPDATE staging.customers SET name = 'Acme Co' WHERE record_key = 'a:1'")
    con.execute("UPDATE master.customers SET name = 'Acme Co' WHERE customer_id = 'CM1'")
    log_touched(con, "CM1")
    # day 3: Bolt renamed
    con.execute("UPDATE staging.customers SET name = 'Bolt Co' WHERE record_key = 'b:1'")
    con.execute("UPDATE master.customers SET name = 'Bolt Co' WHERE customer_id = 'CM2'")
    log_touched(con, "CM2")
    write_tables(con, day3, previous=day1, rewrite_share=1.0)
    write_tables(con, whole)
    assert served(day3) == served(whole)
    assert {r[1] for r in served(day3)["customers"]} == {"Acme Co", "Bolt Co"}
    with duckdb.connect(str(day3 / "tables.duckdb"), read_only=True) as out:
        appended = dict(out.execute("FROM _appended").fetchall())
    assert appended["customers"] == 2 and appended["records"] == 3


def test_the_golden_tables_follow_the_log_and_without_it_are_compared_whole(tmp_path):
    """The customers, lineage and records of a customer are rewritten when the golden step
    logged it, not found by comparing rows; with no log kept (a whole golden build since the
    index was published), every table is compared by hashing and ends as one written whole."""
    con = golden_warehouse()
    day1, logged, unlogged, whole = folders(tmp_path, "day1", "logged", "unlogged", "whole")
    write_tables(con, day1)
    log_touched(con, "CM2")  # touched, though its rows came out the same
    write_tables(con, logged, previous=day1, rewrite_share=1.0)
    with duckdb.connect(str(logged / "tables.duckdb"), read_only=True) as out:
        appended = dict(out.execute("FROM _appended").fetchall())
    assert appended["customers"] == 1 and appended["records"] == 1
    assert appended["customer_ids"] == 0  # the ID step's own log names nobody

    con.execute(f"DROP TABLE {GOLDEN_TOUCHED}")
    con.execute("UPDATE master.customers SET name = 'Acme Co' WHERE customer_id = 'CM1'")
    write_tables(con, unlogged, previous=day1, rewrite_share=1.0)
    write_tables(con, whole)
    assert served(unlogged) == served(whole)
    with duckdb.connect(str(unlogged / "tables.duckdb"), read_only=True) as out:
        appended = dict(out.execute("FROM _appended").fetchall())
    assert appended["customers"] == 1 and appended["records"] == 0  # found by hashing


def log_relationships(con: duckdb.DuckDBPyConnection, *customers: str) -> None:
    """What the relationships step logs on a day: the customers whose rows it deleted or
    wrote (``RELATIONSHIPS_TOUCHED``; its own test: test_relationships_touched.py)."""
    con.executemany(f"INSERT INTO {RELATIONSHIPS_TOUCHED} VALUES (?)", [[c] for c in customers])


def test_relationships_follow_their_log_over_unpublished_days_and_without_it_are_hashed(
    tmp_path,
):
    """The relationships of the customers the relationships step logged are rewritten, not
    found by hashing the table; days whose index was not published (the step skipped or
    failed) stay logged and are all taken by the next; with no log kept (a whole build of
    the relationships since), the table is compared by hashing. Each ends as written whole."""
    con = golden_warehouse()
    con.execute(
        "INSERT INTO master.relationships VALUES ('CM2', 'CM1', 'served_by_dealer'), "
        "('CM1', 'CM3', 'employment')"
    )
    day1, day3, logged, unlogged, whole = folders(
        tmp_path, "day1", "day3", "logged", "unlogged", "whole"
    )
    write_tables(con, day1)
    # day 2 (its index not published): CM1's holding ends
    con.execute("DELETE FROM master.relationships WHERE from_customer_id = 'CM1'")
    log_relationships(con, "CM1")
    # day 3: CM2 gains a relationship
    con.execute("INSERT INTO master.relationships VALUES ('CM2', 'CM3', 'referral')")
    log_relationships(con, "CM2")
    write_tables(con, day3, previous=day1, rewrite_share=1.0)
    write_tables(con, whole)
    assert served(day3) == served(whole)
    with duckdb.connect(str(day3 / "tables.duckdb"), read_only=True) as out:
        appended = dict(out.execute("FROM _appended").fetchall())
    assert appended["relationships"] == 2  # CM2's two rows; CM1 has none left
    assert {r[:2] for r in served(day3)["relationships"]} == {("CM2", "CM1"), ("CM2", "CM3")}
    restart_touched_log(con)
    assert con.execute(f"SELECT count(*) FROM {RELATIONSHIPS_TOUCHED}").fetchall() == [(0,)]

    # a change nobody logged is not looked for while the log is kept (the writer's word is
    # taken), and is found by hashing once the log is gone
    con.execute("UPDATE master.relationships SET kind = 'holding' WHERE to_customer_id = 'CM3'")
    write_tables(con, logged, previous=day3, rewrite_share=1.0)
    with duckdb.connect(str(logged / "tables.duckdb"), read_only=True) as out:
        assert dict(out.execute("FROM _appended").fetchall())["relationships"] == 2
    assert ("CM2", "CM3", "referral") in served(logged)["relationships"]
    con.execute(f"DROP TABLE {RELATIONSHIPS_TOUCHED}")
    write_tables(con, unlogged, previous=day3, rewrite_share=1.0)
    write_tables(con, whole)
    assert served(unlogged) == served(whole)
    assert ("CM2", "CM3", "holding") in served(unlogged)["relationships"]
    with duckdb.connect(str(unlogged / "tables.duckdb"), read_only=True) as out:
        # CM2's two rows found by hashing: with the two appended before, more than the
        # table holds, so it was written whole
        assert dict(out.execute("FROM _appended").fetchall())["relationships"] == 0

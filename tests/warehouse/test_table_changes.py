"""A writer's statements carry its table's fingerprint (``TableChanges``): after DELETE, INSERT
and UPDATE the sum it carried is the one a whole read gives; whatever it cannot vouch for
(no sum before, a whole rebuild, new columns, a write that went around it) it gives up."""

import duckdb
import pytest

from warehouse.step_inputs import (
    TABLES_TABLE,
    TableChanges,
    keep_table_fingerprint,
    kept_table_fingerprint,
    kept_table_sums,
    table_fingerprint,
    table_sum,
)

TABLE = "staging.orders"


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA staging")
    con.execute(
        f"""CREATE TABLE {TABLE} (order_id VARCHAR, amount DECIMAL(18, 2), placed DATE,
                tags VARCHAR[], seen TIMESTAMP)"""
    )
    con.execute(
        f"""INSERT INTO {TABLE} SELECT 'o' || i, i * 1.25, DATE '2026-01-01' + i::INTEGER,
                ['t' || (i % 3)], TIMESTAMP '2026-01-01 08:00:00' + INTERVAL (i) MINUTE
            FROM range(200) r(i)"""
    )
    yield con
    con.close()


def changes_from_now(con) -> TableChanges:
    return TableChanges({TABLE: table_sum(con, "staging", "orders")})


def test_deletes_inserts_and_updates_carry_the_fingerprint_a_whole_read_gives(con):
    changes = changes_from_now(con)
    changes.execute(con, TABLE, f"DELETE FROM {TABLE} WHERE amount > 200")
    changes.execute(
        con,
        TABLE,
        f"INSERT INTO {TABLE} (order_id, amount, placed) VALUES (?, ?, ?)",
        ["new", "12.50", "2026-12-05"],
    )
    changes.execute(
        con,
        TABLE,
        f"UPDATE {TABLE} o SET tags = ['moved'] WHERE amount < 10",
        rewrites=f"SELECT * FROM {TABLE} o WHERE amount < 10",
    )
    changes.execute(con, TABLE, f"INSERT INTO {TABLE} BY NAME SELECT 'o1' AS order_id")  # a repeat
    after = changes.after(con)
    assert after[TABLE] == table_sum(con, "staging", "orders")
    assert after[TABLE].fingerprint() == table_fingerprint(con, "staging", "orders")


def test_an_update_without_its_rewritten_rows_or_another_statement_is_refused(con):
    changes = changes_from_now(con)
    with pytest.raises(ValueError):
        changes.execute(con, TABLE, f"UPDATE {TABLE} SET tags = []")
    with pytest.raises(ValueError):
        changes.execute(con, TABLE, f"CREATE OR REPLACE TABLE {TABLE} AS FROM {TABLE}")


def test_an_update_whose_rewritten_rows_are_not_those_it_rewrote_gives_up(con):
    changes = changes_from_now(con)
    changes.execute(
        con,
        TABLE,
        f"UPDATE {TABLE} SET tags = [] WHERE amount < 10",
        rewrites=f"SELECT * FROM {TABLE} WHERE amount < 5",  # fewer rows than it rewrites
    )
    assert changes.after(con) == {}


def test_a_table_without_a_sum_before_or_rebuilt_whole_is_not_known_after(con):
    unknown = TableChanges()  # no fingerprint kept of it: its readers hash it
    unknown.execute(con, TABLE, f"DELETE FROM {TABLE} WHERE amount > 200")
    assert unknown.after(con) == {}
    rebuilt = changes_from_now(con)
    rebuilt.execute(con, TABLE, f"DELETE FROM {TABLE} WHERE amount > 100")
    con.execute(f"CREATE OR REPLACE TABLE {TABLE} AS FROM {TABLE} ORDER BY order_id")
    rebuilt.rebuilt(TABLE)
    assert rebuilt.after(con) == {}


def test_a_table_the_step_did_not_write_through_it_is_not_vouched_for(con):
    untouched = changes_from_now(con)
    con.execute(f"DELETE FROM {TABLE} WHERE amount > 200")  # around the account
    assert untouched.after(con) == {}


def test_a_write_that_went_around_it_or_changed_the_columns_gives_up(con):
    around = changes_from_now(con)
    around.execute(con, TABLE, f"DELETE FROM {TABLE} WHERE amount > 200")
    con.execute(f"DELETE FROM {TABLE} WHERE amount < 2")  # not carried: the count tells
    assert around.after(con) == {}
    widened = changes_from_now(con)
    widened.execute(con, TABLE, f"DELETE FROM {TABLE} WHERE amount > 150")
    con.execute(f"ALTER TABLE {TABLE} ADD COLUMN note VARCHAR")
    assert widened.after(con) == {}


def test_fingerprints_kept_by_an_earlier_release_have_no_sum_to_start_from(con):
    con.execute(
        f"CREATE TABLE {TABLES_TABLE} (table_name VARCHAR, fingerprint VARCHAR, run_id VARCHAR)"
    )
    con.execute(f"INSERT INTO {TABLES_TABLE} VALUES (?, 'f', 'r0')", [TABLE])
    assert kept_table_sums(con, [TABLE]) == {}  # its writer's readers hash it
    summed = table_sum(con, "staging", "orders")
    keep_table_fingerprint(con, TABLE, summed, "r1")
    assert kept_table_sums(con, [TABLE]) == {TABLE: summed}
    assert kept_table_fingerprint(con, TABLE, "r1") == summed.fingerprint()


def test_rows_a_writer_hashed_itself_carry_the_fingerprint_a_whole_read_gives(con):
    """A writer that hashed the rows it removes and writes (every column in the table's
    order and types, as the activity marts' update does) moves the sum by them: no rows
    returned."""
    changes = changes_from_now(con)
    row_hash = "hash(order_id, amount, placed, tags, seen)::HUGEINT"
    gone = f"FROM {TABLE} WHERE amount > 200"
    new = """SELECT 'n' || i, (i * 0.5)::DECIMAL(18, 2), DATE '2025-06-01', ['new'], NULL::TIMESTAMP
              FROM range(7) r(i)"""
    went_rows, went_sum = con.execute(f"SELECT count(*), sum({row_hash}) {gone}").fetchall()[0]
    came_rows, came_sum = con.execute(
        f"SELECT count(*), sum({row_hash}) FROM ({new}) t(order_id, amount, placed, tags, seen)"
    ).fetchall()[0]
    con.execute(f"DELETE {gone}")
    con.execute(f"INSERT INTO {TABLE} {new}")
    changes.add(TABLE, came_rows - went_rows, int(came_sum) - int(went_sum))
    assert went_rows and came_rows
    assert changes.after(con) == {TABLE: table_sum(con, "staging", "orders")}

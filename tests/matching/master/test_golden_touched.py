"""The golden step logs the customers it builds again for the serving index
(``matching.master.build.GOLDEN_TOUCHED``): added to while kept, dropped by a whole build."""

import duckdb
import pyarrow as pa

from matching.master.build import GOLDEN_TOUCHED, build_golden_records
from sources.build_staging import STAGED_SCHEMA
from warehouse.store import table_exists

TRUST = {"a": 1, "b": 2}


def warehouse() -> duckdb.DuckDBPyConnection:
    """Three staged records of two customers, Acme (two records) and Bolt."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA staging; CREATE SCHEMA master")
    given = {
        "record_key": ["a:1", "a:2", "b:1"],
        "source": ["a", "a", "b"],
        "source_record_id": ["1", "2", "1"],
        "name": ["Acme", "Acme Ltd", "Bolt"],
    }
    staged = pa.table(
        {
            f.name: pa.array(given[f.name], f.type) if f.name in given else pa.nulls(3, f.type)
            for f in STAGED_SCHEMA
        }
    )
    con.register("__staged", staged)
    con.execute("CREATE TABLE staging.customers AS FROM __staged")
    con.unregister("__staged")
    con.execute(
        """CREATE TABLE master.customer_xref AS SELECT * FROM (VALUES
           ('a:1', 'CM1', 'company', TIMESTAMP '2026-12-01', NULL::TIMESTAMP),
           ('a:2', 'CM1', 'company', TIMESTAMP '2026-12-01', NULL),
           ('b:1', 'CM2', 'company', TIMESTAMP '2026-12-01', NULL))
           t(record_key, customer_id, entity_type, valid_from, valid_to)"""
    )
    return con


def logged(con: duckdb.DuckDBPyConnection) -> list[str]:
    return sorted(c for (c,) in con.execute(f"SELECT customer_id FROM {GOLDEN_TOUCHED}").fetchall())


def test_incremental_builds_add_the_customers_they_touch_until_the_log_is_started_again():
    con = warehouse()
    build_golden_records(con, TRUST, {})
    con.execute(f"CREATE TABLE {GOLDEN_TOUCHED} (customer_id VARCHAR)")  # an index published
    con.execute("UPDATE staging.customers SET name = 'Bolt Co' WHERE record_key = 'b:1'")
    counts = build_golden_records(con, TRUST, {}, incremental=True)
    assert counts["customers_rebuilt"] == 1 and logged(con) == ["CM2"]
    # the next day, its index not published: Acme Ltd's record leaves Acme for a customer
    # of its own; both days' customers stay logged
    con.execute(
        "UPDATE master.customer_xref SET valid_to = TIMESTAMP '2026-12-02' WHERE record_key = 'a:2'"
    )
    con.execute(
        "INSERT INTO master.customer_xref VALUES "
        "('a:2', 'CM3', 'company', TIMESTAMP '2026-12-02', NULL)"
    )
    build_golden_records(con, TRUST, {}, incremental=True)
    assert logged(con) == ["CM1", "CM2", "CM3"]
    # a day that touched no customer adds none
    build_golden_records(con, TRUST, {}, incremental=True)
    assert logged(con) == ["CM1", "CM2", "CM3"]


def test_a_whole_build_drops_the_log_and_an_incremental_one_starts_none():
    con = warehouse()
    build_golden_records(con, TRUST, {})
    con.execute(f"CREATE TABLE {GOLDEN_TOUCHED} (customer_id VARCHAR)")
    build_golden_records(con, TRUST, {})  # every customer built again: no log
    assert not table_exists(con, *GOLDEN_TOUCHED.split("."))
    con.execute("UPDATE staging.customers SET name = 'Bolt Co' WHERE record_key = 'b:1'")
    assert build_golden_records(con, TRUST, {}, incremental=True)["customers_rebuilt"] == 1
    assert not table_exists(con, *GOLDEN_TOUCHED.split("."))  # only the serving step starts it

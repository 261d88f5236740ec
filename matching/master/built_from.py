"""What a master table was last built from, so that a sync builds again only what changed.

A master table built from the current records (golden records, relationships) keeps a
snapshot of its inputs beside it: per current source record, its customer, when it first
entered the master, and a fingerprint of its staged values (where it stood in its file
excepted: a row that only moved in its file is unchanged). The next build takes the same
snapshot of the records now and compares the two: the records new, removed or changed,
and the customers a record joined or left or whose records changed.
"""

from __future__ import annotations

import duckdb

from warehouse.store import table_exists
from warehouse.views import CURRENT_XREF

#: The current xref with the time each record first entered the master.
CURRENT_XREF_SEEN = """SELECT record_key, customer_id, entity_type, first_seen_at FROM (
        SELECT *, min(valid_from) OVER (PARTITION BY record_key) AS first_seen_at
        FROM master.customer_xref)
    WHERE valid_to IS NULL"""
#: A fingerprint of a staged record's values (``s``), where it stood in its file excepted.
_VALUES_HASH = "hash(*COLUMNS(s.* EXCLUDE (source_file, source_row, ingested_at)))"
#: Per current source record: its customer, when it first entered the master, and a
#: fingerprint of its staged values.
BUILT_FROM = f"""
    SELECT x.record_key, x.customer_id, x.first_seen_at, {_VALUES_HASH} AS values_hash
    FROM ({CURRENT_XREF_SEEN}) x JOIN staging.customers s USING (record_key)"""

#: Per current source record: its customer and the fingerprint of its values, for what
#: depends on which records a customer has and their values but not on when they came
#: (``first_seen_at`` null: not compared).
CUSTOMER_VALUES = f"""
    SELECT x.record_key, x.customer_id, NULL::TIMESTAMP AS first_seen_at, {_VALUES_HASH} AS values_hash
    FROM {CURRENT_XREF} x JOIN staging.customers s USING (record_key)"""


def take_snapshot(con: duckdb.DuckDBPyConnection, name: str, inputs: str = BUILT_FROM) -> None:
    """The inputs of this build (``BUILT_FROM`` or ``CUSTOMER_VALUES``) as temp table
    ``name``."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {inputs}")


def keep_snapshot(con: duckdb.DuckDBPyConnection, name: str, table: str) -> None:
    """Keep temp table ``name`` as ``table``, what the build just done was built from."""
    con.execute(f"CREATE OR REPLACE TABLE {table} AS FROM {name}")
    con.execute(f"DROP TABLE {name}")


def touched_customers(con: duckdb.DuckDBPyConnection, now: str, last: str) -> set[str] | None:
    """Customers a record joined or left, or whose records changed, between ``last`` (the
    kept snapshot, ``schema.table``, or ``database.schema.table`` in an attached file) and
    ``now``; None: no snapshot kept."""
    *database, schema, table = last.split(".")
    if not table_exists(con, schema, table, database=database[0] if database else None):
        return None
    rows = con.execute(
        f"""SELECT coalesce(n.customer_id, b.customer_id), b.customer_id
            FROM {now} n FULL JOIN {last} b USING (record_key)
            WHERE n.record_key IS NULL OR b.record_key IS NULL
               OR n.customer_id <> b.customer_id
               OR n.first_seen_at IS DISTINCT FROM b.first_seen_at
               OR n.values_hash <> b.values_hash"""
    ).fetchall()
    return {c for row in rows for c in row if c is not None}


def changed_records(con: duckdb.DuckDBPyConnection, now: str, last: str) -> set[str] | None:
    """Records new, removed or with other staged values between ``last`` and ``now`` (a
    record that only moved to another customer is unchanged); None: no snapshot kept."""
    if not table_exists(con, *last.split(".")):
        return None
    rows = con.execute(
        f"""SELECT record_key FROM {now} n FULL JOIN {last} b USING (record_key)
            WHERE n.record_key IS NULL OR b.record_key IS NULL
               OR n.values_hash <> b.values_hash"""
    ).fetchall()
    return {row[0] for row in rows}


def keep_snapshot_changes(con: duckdb.DuckDBPyConnection, name: str, table: str) -> None:
    """:func:`keep_snapshot` by changes: only the rows of ``table`` that differ from temp
    table ``name`` (records gone, new or with another customer, first entry or values) are
    deleted and inserted; on a 1% day about 1% of the rows instead of all of them."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE __snapshot_changes AS
            SELECT * FROM {name} EXCEPT ALL SELECT * FROM {table}"""
    )
    con.execute(
        f"""DELETE FROM {table} WHERE record_key NOT IN (SELECT record_key FROM {name})
               OR record_key IN (SELECT record_key FROM __snapshot_changes)"""
    )
    con.execute(f"INSERT INTO {table} SELECT * FROM __snapshot_changes")
    con.execute("DROP TABLE __snapshot_changes")
    con.execute(f"DROP TABLE {name}")

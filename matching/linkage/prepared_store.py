"""One sync's prepared records, kept in the warehouse for every step that matches.

Training, prediction, the serving index and the resolution of mentioned names all read
the same thing: the staged records as the matcher sees them (``features.prepare_records``).
Preparing a million records takes about a minute, and each of those steps used to do it
again. The sync now prepares them once, right after staging, into
``matching.prepared_records`` (one row per staged record, both entity types, the columns of
``features.PREPARED_COLUMNS``), and writes what was suppressed as junk beside it into
``matching.suppressed_values`` (``entity_type``, ``column``, ``value``, ``records``,
``reason``): the values a steward may ask about when two records that share a phone were
not compared.

A step reads the records back in staging order (:func:`load_prepared`), so it sees exactly
what preparing the staged records would have given it.

A sync prepares only what changed (:func:`update_prepared`). Beside the two tables it keeps
``matching.prepared_uncapped``: each record as its own values prepare it
(``features.prepare_uncapped``), with a fingerprint of the staged fields it was prepared
from. A sync prepares the records that are new or whose fields changed, drops those that
are gone, and then caps shared values over all records in DuckDB (``caps``), the same step
that caps records prepared in memory: a value that today's new records push over its limit
is nulled in records that did not change, and one that fell back under it returns. Only
the rows of records prepared again or holding such a value are rewritten (appended: the
table's own order is staging order after a full preparation only). Measured at 100k
records on a loaded 2-core machine, a 1% delta (1,356 of 137,452 records prepared again)
took 3-5 s where preparing everything took 32-46 s.

The records whose prepared rows an incremental preparation deleted or wrote are logged
(``REWRITTEN``) in the same transaction, for the duplicate check's index: it fingerprints
only those again (``matching.check_update``) and empties the log once its index is
published. A whole preparation drops the log (every row is written again): the index
then compares every record, as it does when the log is missing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matching.linkage.caps import cap_shared_values
from matching.linkage.features import (
    MATCHING_COLUMNS,
    PREPARED_SCHEMA,
    PreparedRecords,
    prepare_records,
    prepare_uncapped,
    staged_frame,
)
from matching.linkage.junk import SHARED, SUPPRESSED_COLUMNS, JunkRules
from sources.build_staging import staging_positions
from sources.schema import ENTITY_TYPES
from warehouse.step_inputs import TableChanges
from warehouse.store import quote, replace_table, table_exists

#: The prepared records of the last sync, both entity types.
PREPARED_RECORDS = "matching.prepared_records"
#: The values preparation suppressed, per entity type.
SUPPRESSED_VALUES = "matching.suppressed_values"
#: Each staged record as its own values prepare it, before the caps, and what it was
#: prepared from (``fields_hash``).
UNCAPPED = "matching.prepared_uncapped"
#: The records whose rows of ``matching.prepared_records`` an incremental preparation
#: deleted or wrote since the serving index last used the log (``record_key``; a record may
#: be listed more than once). Absent when that is not known, after a whole preparation:
#: the index then compares every record's prepared row and starts the log again
#: (:func:`restart_rewritten_log`).
REWRITTEN = "matching.prepared_rewritten"


def prepare_by_type(staged: pd.DataFrame, junk: JunkRules) -> dict[str, PreparedRecords]:
    """The prepared records of each entity type that has at least one staged record."""
    present = set(staged["entity_type"].dropna().unique())
    return {
        entity_type: prepare_records(staged, entity_type, junk)
        for entity_type in ENTITY_TYPES
        if entity_type in present
    }


def update_prepared(
    con: duckdb.DuckDBPyConnection,
    junk: JunkRules,
    *,
    incremental: bool,
    changes: TableChanges | None = None,
) -> dict[str, int]:
    """Prepare ``staging.customers`` into ``matching.prepared_records`` and
    ``matching.suppressed_values``; return the records prepared per entity type.

    Args:
        junk: the limits of the caps.
        incremental: prepare only the records that are new or whose matching fields
            changed since the last preparation, keeping the others' uncapped rows; without
            it, or when there is no last preparation, every record is prepared.
        changes: where the fingerprint of ``matching.prepared_records`` is carried through
            an incremental preparation's writes (``warehouse.step_inputs``; a whole
            preparation is not; no step reads ``matching.prepared_uncapped`` as an input).
    Returns:
        The records prepared in this call, per entity type (all of them on a full
        preparation).
    """
    columns = _matching_columns(con)
    positions = staging_positions(con)
    kept = (UNCAPPED, PREPARED_RECORDS, SUPPRESSED_VALUES)
    changes = changes or TableChanges()
    if not incremental or not all(table_exists(con, *t.split(".")) for t in kept):
        # a whole preparation stopped midway leaves none of them: the next one is whole too
        for table in (*kept, REWRITTEN):
            con.execute(f"DROP TABLE IF EXISTS {table}")
            changes.rebuilt(table)
        prepared = _prepare_staged(con, _fields_hash(columns))
        queries = cap_shared_values(con, UNCAPPED, junk, positions)
        con.execute(f"CREATE OR REPLACE TABLE {PREPARED_RECORDS} AS {queries.records()}")
        con.execute(f"CREATE OR REPLACE TABLE {SUPPRESSED_VALUES} AS {queries.suppressed}")
        return prepared
    # in one transaction: the three tables always describe one preparation, so the records
    # in matching.prepared_records are exactly those in matching.prepared_uncapped
    con.begin()
    try:
        prepared = _prepare_changed(con, columns, junk, positions, changes)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return prepared


def _prepare_changed(
    con: duckdb.DuckDBPyConnection,
    columns: str,
    junk: JunkRules,
    positions: str,
    changes: TableChanges,
) -> dict[str, int]:
    """The incremental part of :func:`update_prepared`: prepare the records new or whose
    matching ``columns`` changed, cap over all, rewrite the prepared rows that changed
    (their writes carried in ``changes``)."""
    # today's fingerprints, taken once: hashing the matching fields of every staged record
    # is the step's largest read. The records to prepare again are read with theirs, not
    # hashed a second time (selecting them from a query that hashes every record did)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE __fields_now AS SELECT record_key, fields_hash "
        f"FROM ({_fields_hash(columns)})"
    )
    # gone or changed: the fingerprint of the fields it was prepared from is not today's
    deleted = con.execute(
        f"""DELETE FROM {UNCAPPED} u WHERE NOT EXISTS (SELECT 1 FROM __fields_now f
            WHERE f.record_key = u.record_key AND f.fields_hash = u.fields_hash)
            RETURNING record_key"""
    ).fetchall()
    gone = pa.table({"record_key": pa.array([key for (key,) in deleted], pa.string())})
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE __prepared_again AS
            SELECT {columns}, f.fields_hash
            FROM staging.customers s
            JOIN (FROM __fields_now ANTI JOIN {UNCAPPED} USING (record_key)) f
              USING (record_key)
            ORDER BY s.rowid"""
    )
    con.execute("DROP TABLE __fields_now")
    prepared = _prepare_staged(con, "SELECT * FROM __prepared_again")
    queries = cap_shared_values(con, UNCAPPED, junk, positions)
    # rewritten: the records prepared again and those holding a value that crossed its
    # limit today (up or down); the others' prepared rows are as they were
    before = f"SELECT * FROM {SUPPRESSED_VALUES} WHERE reason = {SHARED!r}"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE __rewritten AS
            SELECT record_key FROM __prepared_again
            UNION SELECT record_key FROM ({queries.crossing(before)})"""
    )
    # and deleted: those rewritten and those no longer prepared (the rows deleted above:
    # the prepared rows are those of the uncapped ones, so no anti-join of the two tables)
    con.register("__unprepared", gone)
    try:
        changes.execute(
            con,
            PREPARED_RECORDS,
            f"""DELETE FROM {PREPARED_RECORDS} WHERE record_key IN
                (SELECT record_key FROM __rewritten UNION ALL SELECT record_key FROM __unprepared)""",
        )
    finally:
        con.unregister("__unprepared")
    changes.execute(
        con,
        PREPARED_RECORDS,
        f"INSERT INTO {PREPARED_RECORDS} "
        f"{queries.records(only='SELECT record_key FROM __rewritten')}",
    )
    if table_exists(con, *REWRITTEN.split(".")):
        con.register("__unprepared", gone)
        try:
            con.execute(
                f"""INSERT INTO {REWRITTEN} SELECT record_key FROM __rewritten
                    UNION ALL SELECT record_key FROM __unprepared"""
            )
        finally:
            con.unregister("__unprepared")
    con.execute(f"CREATE OR REPLACE TABLE {SUPPRESSED_VALUES} AS {queries.suppressed}")
    for table in ("__prepared_again", "__rewritten"):
        con.execute(f"DROP TABLE {table}")
    return prepared


def _matching_columns(con: duckdb.DuckDBPyConnection) -> str:
    """The matching columns ``staging.customers`` has, quoted, comma-separated."""
    present = {d[0] for d in con.sql("SELECT * FROM staging.customers LIMIT 0").description}
    return ", ".join(quote(c) for c in MATCHING_COLUMNS if c in present)


def _fields_hash(columns: str) -> str:
    """SQL of the staged records' matching ``columns`` and their fingerprint (``fields_hash``)."""
    return f"SELECT {columns}, hash({columns}) AS fields_hash FROM staging.customers"


def _prepare_staged(con: duckdb.DuckDBPyConnection, staged: str) -> dict[str, int]:
    """Prepare the staged records of query ``staged`` (matching columns and ``fields_hash``)
    each on its own and add them to the uncapped table; return how many per entity type."""
    records = con.sql(staged).to_arrow_table()
    counts: dict[str, int] = {}
    for entity_type in ENTITY_TYPES:
        # split in Arrow: pandas copied every column's rows to select one entity type
        of_type = records.filter(pc.equal(records["entity_type"], entity_type))
        if not of_type.num_rows:
            continue
        table = prepare_uncapped(staged_frame(of_type), entity_type)
        table = table.append_column("fields_hash", of_type["fields_hash"].cast(pa.uint64()))
        con.register("__prepared", table)
        try:
            if table_exists(con, "matching", "prepared_uncapped"):
                con.execute(f"INSERT INTO {UNCAPPED} SELECT * FROM __prepared")
            else:
                con.execute(f"CREATE TABLE {UNCAPPED} AS SELECT * FROM __prepared")
        finally:
            con.unregister("__prepared")
        counts[entity_type] = table.num_rows
    return counts


def restart_rewritten_log(con: duckdb.DuckDBPyConnection) -> None:
    """The log of rewritten prepared records (``REWRITTEN``) empty, for the next
    incremental preparation to fill: called once an index of the current prepared records
    is published."""
    con.execute(f"CREATE OR REPLACE TABLE {REWRITTEN} (record_key VARCHAR)")


def save_prepared(
    con: duckdb.DuckDBPyConnection, prepared: Mapping[str, PreparedRecords]
) -> dict[str, int]:
    """Replace ``matching.prepared_records`` and ``matching.suppressed_values`` (and drop
    the log of rewritten records: every row is written again); return the records written
    per entity type."""
    con.execute(f"DROP TABLE IF EXISTS {REWRITTEN}")
    tables = [p.table for p in prepared.values()]
    replace_table(
        con,
        "matching",
        "prepared_records",
        pa.concat_tables(tables) if tables else PREPARED_SCHEMA.empty_table(),
    )
    suppressed = [
        pa.Table.from_pandas(
            p.suppressed.assign(entity_type=entity_type)[list(_SUPPRESSED_SCHEMA.names)],
            schema=_SUPPRESSED_SCHEMA,
            preserve_index=False,
        )
        for entity_type, p in prepared.items()
    ]
    replace_table(
        con,
        "matching",
        "suppressed_values",
        pa.concat_tables(suppressed) if suppressed else _SUPPRESSED_SCHEMA.empty_table(),
    )
    return {entity_type: p.table.num_rows for entity_type, p in prepared.items()}


def load_prepared(
    con: duckdb.DuckDBPyConnection,
    entity_type: str,
    only: Collection[str] | None = None,
    *,
    staging_order: bool = True,
) -> PreparedRecords | None:
    """The prepared records of ``entity_type`` the sync kept, in staging order (``only``:
    just these record keys); None when the warehouse has none (staged by a version that
    did not keep them).

    ``staging_order=False``: in the order they are stored, for a reader whose result does
    not depend on the order of the records (names scored against them: each pair scores
    alone and the pairs come back sorted by key). Putting them in staging order joins every
    record with its staging position and sorts them: half of the loading at 100k records.
    """
    if not table_exists(con, "matching", "prepared_records"):
        return None
    table = con.sql(
        f"SELECT * FROM {PREPARED_RECORDS} WHERE entity_type = ?", params=[entity_type]
    ).to_arrow_table()
    if staging_order and table_exists(con, "staging", "customers"):
        table = _in_staging_order(con, table)
    suppressed = con.sql(
        f"SELECT {', '.join(map(quote, SUPPRESSED_COLUMNS))} FROM {SUPPRESSED_VALUES} "
        "WHERE entity_type = ?",
        params=[entity_type],
    ).df()
    kept = PreparedRecords(table.select(PREPARED_SCHEMA.names).cast(PREPARED_SCHEMA), suppressed)
    # in Arrow: a join in DuckDB would not keep staging order
    return kept if only is None else kept.of_records(only)


def _in_staging_order(con: duckdb.DuckDBPyConnection, table: pa.Table) -> pa.Table:
    """``table``'s rows in staging order (``sources.build_staging.ORDER_TABLE``; an incremental
    sync appends the records it prepared again; a full one writes them in order, and
    nothing moves)."""
    ordinal = pa.array(range(table.num_rows), pa.int64())
    con.register("__read", table.select(["record_key"]).append_column("ordinal", ordinal))
    try:
        position = con.sql(
            f"""SELECT s.position FROM __read r
               LEFT JOIN {staging_positions(con)} s
               USING (record_key) ORDER BY r.ordinal"""
        ).to_arrow_table()["position"]
    finally:
        con.unregister("__read")
    if position.null_count == 0 and (
        len(position) < 2 or pc.all(pc.greater(position[1:], position[:-1])).as_py()
    ):
        return table
    return table.take(pc.sort_indices(position))  # records not staged (none) last


_SUPPRESSED_SCHEMA = pa.schema(
    [("entity_type", pa.string())]
    + [(c, pa.int64() if c == "records" else pa.string()) for c in SUPPRESSED_COLUMNS]
)

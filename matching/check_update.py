"""The duplicate check's index of a delta day, carried over from the last serving index.

Built whole, a check index reads every prepared record of the warehouse, puts them in
staging order, hashes every record's blocking keys and counts term frequencies: at 100k
records 1.2 s of CPU on a 1% day, of which reading and ordering the prepared records 0.57 s
and the keys' hashes 0.17 s; ten times that at a million. On a day that changed 1% of the
records, nearly all of that work gives what the last index already holds.

So each saved index keeps, beside its rows, a fingerprint of each row
(``check_<type>_state.arrow``): DuckDB's 64-bit hash of the record's prepared row and of its
customer and golden-side name (``record_fingerprints``). The next sync fingerprints the
warehouse's records the same way in DuckDB, without reading them into the process, and
then (``update_check_index``):

* takes the rows of records whose prepared row is unchanged from the last index, and reads
  from the warehouse only those of new and changed records;
* takes each row's customer and name from the last index where they are unchanged;
* puts the rows in staging order, as a whole build does;
* takes each unchanged row's blocking-key hashes from the last index's blocking indexes and
  hashes only the others' keys;
* counts the term frequencies over all rows again (a new record moves every share).

Hashing every record's prepared row was most of that fingerprinting (about 0.8 s of CPU of
a 1% day's check files at 100k records). The preparation logs the records whose prepared
rows it deleted or wrote (``prepared_store.REWRITTEN``, in its own transaction), and the
serving step starts the log again once its index is published: so a record the log does
not list has the prepared row it had in the current index, and keeps that row's saved
fingerprint (``unchanged_rows``); only the listed records' and those not in the index are
read and hashed. The customer and name of every record are still hashed (two columns).
Without the log (a whole preparation drops it, and an index step that did not publish
leaves it growing) every prepared row is hashed, as before.

The result is the index a whole build gives, row for row (tests/matching/test_check_update.py
and the incremental sync's test compare them). Two different rows sharing a 64-bit
fingerprint would keep the last index's row: odds about one in 10¹⁹ per changed record.
Where the last index cannot be carried over (none, written by another version, another
model or other blocking rules, records without a staging position), the caller builds the
index whole.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from matching.check_index import (
    CheckIndex,
    has_check_index,
    index_of_table,
    key_hashes,
    load_check_index,
    tf_columns,
)
from matching.linkage.blocking import PREDICTION_BLOCKING_KEYS
from matching.linkage.features import PREPARED_SCHEMA
from matching.linkage.prepared_store import PREPARED_RECORDS, REWRITTEN
from sources.build_staging import staging_positions
from warehouse.store import quote, table_exists
from warehouse.views import CURRENT_RECORDS

log = logging.getLogger(__name__)

#: The temporary table of the records an update indexes, with what it knows of each.
PLAN = "__check_update_plan"
_PREVIOUS = "__check_update_previous"
_KNOWN = "__check_update_known"


def state_path(folder: Path, entity_type: str) -> Path:
    """The file of per-row fingerprints saved beside ``entity_type``'s check index."""
    return folder / f"check_{entity_type}_state.arrow"


def _fingerprints_query(con: duckdb.DuckDBPyConnection, known: str | None = None) -> str:
    """SQL (parameter: the entity type) of each master record of one entity type: its
    ``record_key``, staging ``position``, the fingerprint of its prepared row (``prepared``,
    null when it has none) and of its customer and name (``master``).

    ``known``: a table of records (``record_key``) and the fingerprint of their prepared row
    when the log of rewritten prepared records (``prepared_store.REWRITTEN``) was last
    started; the records it holds that the log does not list keep that fingerprint (their
    prepared row is the same), only the others' prepared rows are read and hashed."""
    columns = ", ".join(f"p.{quote(c)}" for c in PREPARED_SCHEMA.names)
    master = f"""(SELECT record_key, customer_id, name FROM {CURRENT_RECORDS}
                  WHERE entity_type = $1)"""
    positions = staging_positions(con)
    if known is None:
        return f"""SELECT m.record_key, s.position,
                hash({columns}) AS prepared, p.record_key IS NOT NULL AS has_prepared,
                hash(m.customer_id, m.name) AS master
            FROM {master} m
            LEFT JOIN (FROM {PREPARED_RECORDS} WHERE entity_type = $1) p USING (record_key)
            LEFT JOIN {positions} s USING (record_key)"""
    return f"""WITH m AS {master},
        k AS (SELECT record_key, prepared FROM {known}
              ANTI JOIN {REWRITTEN} USING (record_key)),
        again AS (FROM m ANTI JOIN k USING (record_key)),
        f AS (
            SELECT m.record_key, k.prepared, true AS has_prepared,
                   hash(m.customer_id, m.name) AS master
            FROM m JOIN k USING (record_key)
            UNION ALL
            SELECT m.record_key, hash({columns}) AS prepared,
                   p.record_key IS NOT NULL AS has_prepared, hash(m.customer_id, m.name) AS master
            FROM again m
            LEFT JOIN (FROM {PREPARED_RECORDS} WHERE entity_type = $1
                       AND record_key IN (SELECT record_key FROM again)) p USING (record_key))
        SELECT f.record_key, s.position, f.prepared, f.has_prepared, f.master
        FROM f LEFT JOIN {positions} s USING (record_key)"""


def record_fingerprints(con: duckdb.DuckDBPyConnection, index: CheckIndex) -> pa.Table | None:
    """The fingerprints (``prepared``, ``master``) of each row of ``index``, built whole from
    the warehouse on ``con``, in its row order; None when the warehouse keeps no prepared
    records (the index was prepared from the staged records)."""
    if not table_exists(con, *PREPARED_RECORDS.split(".")):
        return None
    found = con.sql(_fingerprints_query(con), params=[index.entity_type]).to_arrow_table()
    at = pc.index_in(index.table.column("record_key"), value_set=found.column("record_key"))
    if at.null_count:
        return None
    return pa.table(
        {
            "prepared": pc.take(found.column("prepared"), at),
            "master": pc.take(found.column("master"), at),
        }
    )


def save_fingerprints(fingerprints: pa.Table, path: Path) -> None:
    """Save an index's row fingerprints beside it, at ``path`` (``state_path``, or
    ``delta_state_path`` for a delta part's), as one uncompressed Arrow batch."""
    table = fingerprints.combine_chunks()
    with (
        pa.OSFile(str(path), "wb") as sink,
        pa.ipc.new_file(sink, table.schema) as writer,
    ):
        writer.write_table(table, max_chunksize=max(table.num_rows, 1))


def delta_state_path(folder: Path, entity_type: str) -> Path:
    """The fingerprints of the rows of ``entity_type``'s delta part (``check_delta``)."""
    return folder / f"check_{entity_type}_delta_state.arrow"


def load_fingerprints(folder: Path, index: CheckIndex) -> pa.Table | None:
    """The fingerprints saved beside ``index`` (loaded from ``folder``), one row per row of
    its ``table`` (a delta part's after its base's); None when it has none saved."""
    paths = [state_path(folder, index.entity_type)]
    if index.rank is not None:
        paths.append(delta_state_path(folder, index.entity_type))
    if not all(p.is_file() for p in paths):
        return None
    parts = []
    for path in paths:
        with pa.memory_map(str(path), "r") as source:
            parts.append(pa.ipc.open_file(source).read_all())
    state = pa.concat_tables(parts)
    return state if state.num_rows == index.table.num_rows else None


def carried_index(
    previous: Path, entity_type: str, model: dict[str, Any], base_only: bool = False
) -> CheckIndex | None:
    """The index saved in ``previous`` (``base_only``: its base part) when an update can
    start from it: saved with its fingerprints, for the same model, blocking rules and
    prepared columns."""
    if not (has_check_index(previous, entity_type) and state_path(previous, entity_type).is_file()):
        return None
    model_path = previous / f"model_{entity_type}.json"
    if not model_path.is_file() or json.loads(model_path.read_text(encoding="utf-8")) != model:
        return None
    index = load_check_index(previous, entity_type, base_only=base_only)
    rules = [b.columns for b in index.blocks]
    columns = PREPARED_SCHEMA.names + [f"tf_{c}" for c in tf_columns(model)]
    if rules != list(PREDICTION_BLOCKING_KEYS[entity_type]) or index.table.column_names != columns:
        return None
    if not index.table.select(PREPARED_SCHEMA.names).schema.equals(PREPARED_SCHEMA):
        return None
    return index


def unchanged_rows(
    con: duckdb.DuckDBPyConnection, index: CheckIndex, state: pa.Table
) -> pa.Table | None:
    """The record (``record_key``) and prepared fingerprint (``prepared``) of each live row
    of ``index`` (``state``: its rows' fingerprints), when the warehouse on ``con`` keeps
    the log of the prepared rows rewritten since (``prepared_store.REWRITTEN``, started
    again once ``index`` was published): a record it does not list has that prepared row
    still. None without the log: every record's prepared row is fingerprinted again."""
    if not table_exists(con, *REWRITTEN.split(".")):
        return None
    live = None if index.rank is None else pa.array(np.flatnonzero(index.rank >= 0))
    rows = pa.table(
        {"record_key": index.table.column("record_key"), "prepared": state.column("prepared")}
    )
    return rows if live is None else rows.take(live)


def plan_update(
    con: duckdb.DuckDBPyConnection,
    old: CheckIndex,
    state: pa.Table,
    rows: np.ndarray,
    known: pa.Table | None = None,
) -> None:
    """Temp table ``PLAN``: each master record of ``old``'s entity type in the warehouse
    on ``con``, with its staging ``position``, its fingerprints and whether its prepared row
    (``same_row``) and its customer and name (``same_master``) are those of its row
    (``old_row``) among ``rows`` of ``old`` (``state``: the fingerprints of ``old``'s rows).
    ``known``: see ``unchanged_rows`` (the prepared rows of the records it holds and the log
    does not list are not read)."""
    taken = pa.array(rows, type=pa.int64())
    con.register(
        _PREVIOUS,
        pa.table(
            {
                "record_key": old.table.column("record_key").take(taken),
                "old_row": taken,
                "prepared": state.column("prepared").take(taken),
                "master": state.column("master").take(taken),
            }
        ),
    )
    if known is not None:
        con.register(_KNOWN, known)
    try:
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {PLAN} AS
            SELECT c.record_key, c.position, c.prepared, c.master, c.has_prepared,
                   o.old_row, coalesce(o.prepared = c.prepared, false) AS same_row,
                   coalesce(o.master = c.master, false) AS same_master
            FROM ({_fingerprints_query(con, None if known is None else _KNOWN)}) c
            LEFT JOIN {_PREVIOUS} o USING (record_key)""",
            [old.entity_type],
        )
    finally:
        con.unregister(_PREVIOUS)
        if known is not None:
            con.unregister(_KNOWN)


def update_check_index(
    con: duckdb.DuckDBPyConnection,
    previous: Path,
    entity_type: str,
    model: dict[str, Any],
    logged: bool = False,
) -> tuple[CheckIndex, pa.Table] | None:
    """``entity_type``'s check index of the warehouse on ``con``, carried over from the one
    saved in ``previous`` (the serving index this sync replaces; of one part or two), with
    its row fingerprints; None when it cannot be carried over (the caller builds it whole).
    An entity type with fewer than two master records has no index, as when built whole:
    also None. ``logged``: ``previous`` is the index published when the log of rewritten
    prepared records was last started (``unchanged_rows``), which is used when kept."""
    with carried_plan(con, previous, entity_type, model, logged) as old:
        return None if old is None else updated_from_plan(con, old, model)


@contextmanager
def carried_plan(
    con: duckdb.DuckDBPyConnection,
    previous: Path,
    entity_type: str,
    model: dict[str, Any],
    logged: bool = False,
) -> Iterator[CheckIndex | None]:
    """``with carried_plan(...) as old:`` the index saved in ``previous`` that an update
    starts from, and temp table ``PLAN`` of the warehouse's records against its live rows
    (``plan_update``) for the block; None (and no plan) when it cannot be carried over.
    One plan serves a delta part (``check_delta``) and, when that passes its share, the
    index written whole: built once, not once for each (a profile of a 1M-record 1% day:
    3.3 of the check files' 5.5 thread-seconds were the plan; at 100k, a day past the share
    0.83-0.96 s of the check files' CPU instead of 1.12-1.18 s)."""
    old = None
    if table_exists(con, *PREPARED_RECORDS.split(".")):
        old = carried_index(previous, entity_type, model)
    state = None if old is None else load_fingerprints(previous, old)
    if old is None or state is None:
        yield None
        return
    live = np.arange(old.table.num_rows) if old.rank is None else np.flatnonzero(old.rank >= 0)
    known = unchanged_rows(con, old, state) if logged else None
    plan_update(con, old, state, live, known)
    try:
        yield old
    finally:
        con.execute(f"DROP TABLE IF EXISTS {PLAN}")


def read_plan(con: duckdb.DuckDBPyConnection) -> pa.Table | None:
    """``PLAN``'s rows in staging order; None when an index cannot be carried over from it:
    fewer than two records (no index, as when built whole), or records without a staging
    position or a prepared row (a whole build's order, or rows, for them is not staging
    order's)."""
    plan = con.sql(
        f"""SELECT position, old_row, same_row, same_master, prepared, master, has_prepared
            FROM {PLAN} ORDER BY position"""
    ).to_arrow_table()
    if plan.num_rows < 2:
        return None
    if plan.column("position").null_count or not pc.all(plan.column("has_prepared")).as_py():
        return None
    return plan


def updated_from_plan(
    con: duckdb.DuckDBPyConnection, old: CheckIndex, model: dict[str, Any]
) -> tuple[CheckIndex, pa.Table] | None:
    """The index of the records of ``PLAN`` (``carried_plan``), written whole from ``old``
    and the changed records' rows, with its row fingerprints."""
    plan = read_plan(con)
    if plan is None:
        return None
    same_row = plan.column("same_row").to_numpy(zero_copy_only=False).astype(bool)
    same_master = plan.column("same_master").to_numpy(zero_copy_only=False).astype(bool)
    old_row = plan.column("old_row").fill_null(-1).to_numpy().astype(np.int64)
    changed = con.sql(
        f"""SELECT {", ".join(f"p.{quote(c)}" for c in PREPARED_SCHEMA.names)}
            FROM {PLAN} c JOIN {PREPARED_RECORDS} p USING (record_key)
            WHERE NOT c.same_row AND p.entity_type = $1 ORDER BY c.position""",
        params=[old.entity_type],
    ).to_arrow_table()
    changed = changed.cast(PREPARED_SCHEMA)
    who = con.sql(
        f"""SELECT m.customer_id, m.name FROM {PLAN} c JOIN {CURRENT_RECORDS} m
            USING (record_key) WHERE NOT c.same_master ORDER BY c.position"""
    ).to_arrow_table()
    if changed.num_rows != (~same_row).sum() or who.num_rows != (~same_master).sum():
        return None  # a record twice in the warehouse's tables: left to a whole build
    kept = old.table.num_rows
    table = pa.concat_tables([old.table.select(PREPARED_SCHEMA.names), changed]).take(
        _from_old_or_new(same_row, old_row, kept)
    )
    at = _from_old_or_new(same_master, old_row, kept)
    customer_ids = _concat(old.customer_ids, who.column("customer_id")).take(at)
    names = _concat(old.names, who.column("name")).take(at)
    index = index_of_table(
        old.entity_type,
        table,
        customer_ids,
        names,
        model,
        block_hashes=_carried_hashes(old, table, same_row, old_row),
    )
    log.info(
        "check index %s carried over: %d of %d rows read again, %d customers or names changed",
        old.entity_type,
        changed.num_rows,
        table.num_rows,
        int((~same_master).sum()),
    )
    fingerprints = pa.table({"prepared": plan.column("prepared"), "master": plan.column("master")})
    return index, fingerprints


def _from_old_or_new(same: np.ndarray, old_row: np.ndarray, kept: int) -> pa.Array:
    """Per new row, its row in the last index's rows followed by the rows read again: the
    old row where ``same``, else the next row read again."""
    again = kept + np.cumsum(~same) - 1
    return pa.array(np.where(same, old_row, again))


def _concat(old: pa.Array | pa.ChunkedArray, new: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``old`` then ``new`` as one text array."""
    parts = [old, new.cast(pa.string())]
    chunks = [
        c for part in parts for c in (part.chunks if isinstance(part, pa.ChunkedArray) else [part])
    ]
    return pa.concat_arrays(chunks)


def _carried_hashes(
    old: CheckIndex, table: pa.Table, same_row: np.ndarray, old_row: np.ndarray
) -> Callable[[tuple[str, ...]], np.ma.MaskedArray]:
    """Each new row's key hash per blocking rule: an unchanged row's from the last index's
    blocking index of the rule, the others' hashed (``key_hashes``, as a whole build)."""
    by_rule = {b.columns: b for b in old.blocks}
    again = np.flatnonzero(~same_row)
    from_old = np.flatnonzero(same_row)
    read_again = table.take(pa.array(again))

    def hashes(columns: tuple[str, ...]) -> np.ma.MaskedArray:
        block = by_rule[columns]
        per_row = np.zeros(old.table.num_rows, dtype=np.uint64)
        present = np.zeros(old.table.num_rows, dtype=bool)
        for part in (block, block.delta):  # an index of two parts: the delta's rows too
            if part is not None:
                per_row[part.rows] = part.hashes
                present[part.rows] = True
        data = np.zeros(table.num_rows, dtype=np.uint64)
        mask = np.ones(table.num_rows, dtype=bool)
        data[from_old] = per_row[old_row[from_old]]
        mask[from_old] = ~present[old_row[from_old]]
        fresh = key_hashes(read_again, columns)
        assert fresh is not None
        data[again] = fresh.data
        mask[again] = np.ma.getmaskarray(fresh)
        return np.ma.MaskedArray(data, mask=mask)

    return hashes

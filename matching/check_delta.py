"""The duplicate check's index of a delta day as a base part and a delta part.

Carried over whole (``check_update``), a delta day's index is still written whole: every
row of the records file (about 0.8 GB at a million records), every blocking index sorted
again, every row's term frequencies. Most of it is the last index's bytes in a new file.

So a day's index is kept as two parts (``CheckIndex.rank``):

* the **base**: the records and blocking indexes of the last index written whole, and
  their fingerprints; the new serving folder hard-links these files (no byte written);
* the **delta**: the rows of the records that are new or whose prepared row, customer or
  name changed since the base, with their blocking indexes; which base rows are retired
  (gone or replaced by a delta row); and each row's place in staging order;
* the term frequencies, counted again over all current rows (a new record moves every
  share), and written whole as with an index of one part.

The service loads both parts as they are (memory-mapped, nothing merged). A check finds a
rule's candidates in the base and the delta, drops retired rows and puts the rest in
staging order, and looks up the candidates' current term frequencies: the same candidates,
in the same order, with the same values, as an index built whole
(``CheckIndex.merged`` is that index; tests/matching/test_check_delta.py compares both).

Each day's delta is made against the base, not the last delta: it holds everything that
changed since the base was written. Once the delta's rows and the retired base rows
together pass ``DELTA_SHARE`` of the master's records, the index is written whole again
(``check_update``), and so on a full sync (no index carried over).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from matching.check_index import (
    BlockIndex,
    CheckIndex,
    TermFrequencies,
    key_hashes,
    term_frequencies,
    tf_columns,
)
from matching.check_update import (
    PLAN,
    carried_plan,
    delta_state_path,
    read_plan,
    save_fingerprints,
    state_path,
    updated_from_plan,
)
from matching.linkage.features import PREPARED_SCHEMA
from matching.linkage.prepared_store import PREPARED_RECORDS
from warehouse.files import link_or_copy
from warehouse.store import quote
from warehouse.views import CURRENT_RECORDS

log = logging.getLogger(__name__)

#: The most the delta part may hold, as a share of the master's records: its rows plus the
#: base rows it retires. Beyond it the index is written whole. A delta costs each sync
#: what changed since the base (its rows read and their keys hashed) and each check a
#: second lookup per rule; a whole index costs a sync every row written (about 1 s of CPU
#: per 100k records). At 1% of the records changed a day, a base lasts about five days
#: (a changed record is a delta row and a retired base row).
DELTA_SHARE = 0.1


def delta_check_index(
    con: duckdb.DuckDBPyConnection,
    previous: Path,
    entity_type: str,
    model: dict[str, Any],
    share: float = DELTA_SHARE,
    logged: bool = False,
) -> tuple[CheckIndex, pa.Table] | None:
    """``entity_type``'s check index of the warehouse on ``con`` as the base of the index
    saved in ``previous`` and a delta part, with the fingerprints of the delta's rows; None
    when there is no base to keep (none, another model or layout) or the delta would pass
    ``share`` of the records (the caller writes the index whole). ``logged``: as for
    ``check_update.update_check_index`` (the records the log does not list keep the prepared
    row of their live row in ``previous``, of its base or its delta part)."""
    with carried_plan(con, previous, entity_type, model, logged) as last:
        return None if last is None else delta_from_plan(con, last, previous, model, share)


def carry_check_index(
    con: duckdb.DuckDBPyConnection,
    previous: Path,
    entity_type: str,
    model: dict[str, Any],
    share: float | None = DELTA_SHARE,
    logged: bool = False,
) -> tuple[CheckIndex, pa.Table] | None:
    """``entity_type``'s check index carried over from the one saved in ``previous``: as
    a delta part over its base (``delta_check_index``) while that stays within ``share``
    (None: never), else written whole (``check_update.update_check_index``), both from one
    plan of the records; None when it cannot be carried over (the caller builds it)."""
    with carried_plan(con, previous, entity_type, model, logged) as last:
        if last is None:
            return None
        delta = None if share is None else delta_from_plan(con, last, previous, model, share)
        return delta or updated_from_plan(con, last, model)


def delta_from_plan(
    con: duckdb.DuckDBPyConnection,
    last: CheckIndex,
    previous: Path,
    model: dict[str, Any],
    share: float,
) -> tuple[CheckIndex, pa.Table] | None:
    """The index of the records of ``PLAN`` (``check_update.carried_plan``, made against
    the live rows of ``last``, loaded from ``previous``) as ``last``'s base and a delta
    part: a record keeps its base row when its live row is that row, unchanged; every other
    record's row is read into the delta part (a record whose row changed since the base is
    read again, even once it changed back)."""
    return _delta(con, base_part(last), previous, model, share)


def base_part(index: CheckIndex) -> CheckIndex:
    """The base part of ``index`` as ``load_check_index(..., base_only=True)`` loads it
    (its rows, customers, names and blocking indexes, no term frequencies), without
    loading the files again: ``index`` itself when it is of one part. The index of a delta
    day with the log of rewritten prepared records needs both: the whole last index for the
    records the log does not list, its base to build the delta on (loaded twice before:
    its files read and its blocking indexes sliced twice)."""
    if index.rank is None:
        return index
    rows = index.base_rows
    return CheckIndex(
        index.entity_type,
        index.table.slice(0, rows),
        index.customer_ids.slice(0, rows),
        index.names.slice(0, rows),
        {},
        [BlockIndex(b.columns, b.hashes, b.rows) for b in index.blocks],
    )


def _delta(
    con: duckdb.DuckDBPyConnection,
    base: CheckIndex,
    previous: Path,
    model: dict[str, Any],
    share: float,
) -> tuple[CheckIndex, pa.Table] | None:
    """The index of the records of ``PLAN`` over ``base``: its unchanged rows kept, the
    others read from the warehouse into the delta part."""
    plan = read_plan(con)
    if plan is None:
        return None
    base_rows = base.table.num_rows
    same = pc.and_(plan.column("same_row"), plan.column("same_master"))
    old_row = plan.column("old_row").fill_null(-1).to_numpy().astype(np.int64)
    # a live row of the delta part is not the base's: its record is read again
    kept = same.to_numpy(zero_copy_only=False).astype(bool) & (old_row < base_rows)
    fresh = int((~kept).sum())
    retired = base_rows - int(kept.sum())
    if fresh + retired > share * plan.num_rows:
        log.info(
            "check index %s written whole: %d new or changed and %d retired rows of %d "
            "pass the delta's share (%.0f%%)",
            base.entity_type,
            fresh,
            retired,
            plan.num_rows,
            share * 100,
        )
        return None
    if np.bincount(old_row[kept], minlength=base_rows).max(initial=0) > 1:
        # a record twice in the warehouse's tables: left to a whole build. Counted per base
        # row, not by np.unique (a hash of every kept row: 0.03 s of CPU per entity type at
        # 100k records against 0.0002 s)
        return None
    changed = con.sql(
        f"""SELECT {", ".join(f"p.{quote(c)}" for c in PREPARED_SCHEMA.names)}
            FROM {PLAN} c JOIN {PREPARED_RECORDS} p USING (record_key)
            WHERE NOT (c.same_row AND c.same_master AND c.old_row < $2) AND p.entity_type = $1
            ORDER BY c.position""",
        params=[base.entity_type, base_rows],
    ).to_arrow_table()
    who = con.sql(
        f"""SELECT m.customer_id, m.name FROM {PLAN} c JOIN {CURRENT_RECORDS} m
            USING (record_key) WHERE NOT (c.same_row AND c.same_master AND c.old_row < $1)
            ORDER BY c.position""",
        params=[base_rows],
    ).to_arrow_table()
    if changed.num_rows != fresh or who.num_rows != fresh:
        return None
    rank = np.full(base_rows + fresh, -1, dtype=np.int64)
    places = np.arange(plan.num_rows, dtype=np.int64)
    rank[old_row[kept]] = places[kept]
    rank[base_rows:] = places[~kept]
    changed = changed.cast(PREPARED_SCHEMA)
    tf = _term_frequencies(con, base, changed, rank[:base_rows] >= 0, tf_columns(model))
    for column, frequencies in tf.items():
        changed = changed.append_column(f"tf_{column}", frequencies.shares_of(changed[column]))
    changed = changed.cast(base.table.schema)
    index = CheckIndex(
        base.entity_type,
        pa.concat_tables([base.table, changed]),
        _appended(base.customer_ids, who.column("customer_id")),
        _appended(base.names, who.column("name")),
        tf,
        [
            BlockIndex(b.columns, b.hashes, b.rows, delta=_block(changed, b.columns, base_rows))
            for b in base.blocks
        ],
        rank=rank,
        base_rows=base_rows,
        base_folder=previous,
    )
    log.info(
        "check index %s carried over: %d of %d rows read again into its delta part, "
        "%d base rows retired",
        base.entity_type,
        fresh,
        plan.num_rows,
        retired,
    )
    fingerprints = pa.table(
        {"prepared": plan.column("prepared"), "master": plan.column("master")}
    ).filter(pa.array(~kept))
    return index, fingerprints


def save_delta_fingerprints(index: CheckIndex, fingerprints: pa.Table, folder: Path) -> None:
    """The fingerprints of ``index``'s rows into ``folder``: its base's, hard-linked from
    the folder its base was loaded from, and its delta's (``fingerprints``)."""
    assert index.base_folder is not None
    link_or_copy(
        state_path(index.base_folder, index.entity_type), state_path(folder, index.entity_type)
    )
    save_fingerprints(fingerprints, delta_state_path(folder, index.entity_type))


def _term_frequencies(
    con: duckdb.DuckDBPyConnection,
    base: CheckIndex,
    changed: pa.Table,
    live: np.ndarray,
    columns: list[str],
) -> dict[str, TermFrequencies]:
    """Each column's term frequencies over the base's live rows and the delta's: those of
    the index built whole (the same statement over the same values), counted on ``con``."""
    counted = pa.concat_tables(
        [base.table.select(columns).filter(pa.array(live)), changed.select(columns)]
    )
    return term_frequencies(counted, columns, con)


def _block(rows: pa.Table, columns: tuple[str, ...], first_row: int) -> BlockIndex:
    """The blocking index of ``rows`` for one rule, its rows numbered from ``first_row``."""
    if rows.num_rows == 0:
        return BlockIndex(columns, np.empty(0, np.uint64), np.empty(0, np.int64))
    hashes = key_hashes(rows, columns)
    assert hashes is not None
    found = np.flatnonzero(~np.ma.getmaskarray(hashes))
    order = np.argsort(hashes.data[found], kind="stable")
    return BlockIndex(
        columns, hashes.data[found][order], (found[order] + first_row).astype(np.int64)
    )


def _appended(base: pa.Array | pa.ChunkedArray, new: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
    """``base`` then ``new`` as one text column, nothing copied."""
    chunks = [
        c
        for part in (base, new.cast(pa.string()))
        for c in (part.chunks if isinstance(part, pa.ChunkedArray) else [part])
    ]
    return pa.chunked_array(chunks, type=pa.string())

"""The duplicate check's index of one entity type's master: built once, saved, loaded fast.

A check needs, per entity type, the master's records prepared as the matcher prepares
them, their term frequencies and one blocking index per prediction blocking rule.
Preparing a million records takes minutes (standardised names, pinyin, keys, junk
limits); loading what a sync already prepared takes seconds. So the pipeline builds a
``CheckIndex`` after every sync and saves it beside the exports, and the HTTP service
loads it (``custmaster check`` still builds one from the warehouse).

A blocking index is two sorted arrays, not a dict: the 64-bit hash of every record's key
and the record's row, ordered by hash (rows ascending within a hash). A lookup is a
binary search; loading is reading two columns. A Python dict of a million keys took
about 3 s to build here; the arrays load in milliseconds. Two different keys sharing a
64-bit hash (odds about 3 in 10⁸ at a million keys) only add a candidate that the model
then scores; no candidate is ever lost.

The records and the blocking indexes are saved as uncompressed Arrow IPC files and loaded
memory-mapped: loading reads no data and converts nothing, the operating system pages in
what a check touches (Parquet took seconds per million records to decode, and a list of
customer IDs as Python strings another second). The files are larger than Parquet would
be (about 0.45 GB a million records); the page cache shares them between processes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from splink.internals.input_column import InputColumn
from splink.internals.term_frequencies import term_frequencies_for_single_column_sql

from matching.linkage.blocking import PREDICTION_BLOCKING_KEYS
from matching.linkage.features import PreparedRecords, as_prepared, prepare_records
from matching.linkage.junk import JunkRules
from warehouse.files import link_or_copy

logger = logging.getLogger(__name__)

_KEY_SEPARATOR = "\x1f"
_FILES = {"records": "arrow", "blocks": "arrow", "tf": "arrow", "index": "json"}
#: The files of an index's delta part beside its base's (``CheckIndex.rank``), with
#: ``check_<entity_type>_delta.json`` (the base's rows).
_DELTA_FILES = ("delta_records", "delta_blocks", "delta_rank")


@dataclass(frozen=True)
class BlockIndex:
    """One blocking rule's index: record rows by the hash of their key, sorted by hash;
    in an index of two parts (``CheckIndex.rank``), ``delta`` indexes the delta part's rows
    (numbered after the base's)."""

    columns: tuple[str, ...]
    hashes: np.ndarray  # uint64, sorted
    rows: np.ndarray  # int64, the record row of each hash
    delta: BlockIndex | None = None

    def lookup(self, key_hash: np.uint64) -> np.ndarray:
        start = np.searchsorted(self.hashes, key_hash, side="left")
        end = np.searchsorted(self.hashes, key_hash, side="right")
        if self.delta is None:
            return self.rows[start:end]
        return np.concatenate([self.rows[start:end], self.delta.lookup(key_hash)])


class TermFrequencies(Mapping[str, float]):
    """One column's term frequencies (value → share of the master's records), as two arrays
    sorted by value: a lookup is a binary search. Loading them turns the values into Python
    strings in one C loop; a dict of a few hundred thousand names took seconds to build from
    JSON at start-up.
    """

    def __init__(
        self, values: np.ndarray, frequencies: np.ndarray, text: pa.Array | None = None
    ) -> None:
        self.terms = values  # object array of str, sorted
        self.shares = frequencies  # float64
        self._text = text  # the terms as an Arrow array, when they were read as one

    @property
    def text(self) -> pa.Array:
        """The terms as an Arrow text array (made once from ``terms`` when not read as one:
        0.11 s of CPU for half a million names)."""
        if self._text is None:
            self._text = pa.array(self.terms, type=pa.string())
        return self._text

    @classmethod
    def from_dict(cls, frequencies: dict[Any, float]) -> TermFrequencies:
        values = np.array(list(frequencies), dtype=object)
        order = np.argsort(values, kind="stable") if len(values) else np.array([], dtype=int)
        shares = np.fromiter(frequencies.values(), dtype=np.float64, count=len(values))
        return cls(values[order], shares[order])

    @classmethod
    def from_arrow(
        cls, values: pa.Array | pa.ChunkedArray, shares: pa.Array | pa.ChunkedArray
    ) -> TermFrequencies:
        """The frequencies of distinct text ``values`` (``shares``: each one's), sorted by
        Arrow: UTF-8's byte order is the code point order Python sorts ``str`` in, so the
        terms come out as ``from_dict`` orders them, without a Python object per value
        until the last step (at a million records a name column holds about half a
        million values, sorted there by Python's comparisons one pair at a time). No
        values (a column without any) are no terms, whatever their type."""
        text_type = pa.types.is_string(values.type) or pa.types.is_large_string(values.type)
        if len(values) and not text_type:
            raise TypeError(f"term frequencies of {values.type} values, not of text")
        order = pc.sort_indices(values)
        text = pc.take(values, order).cast(pa.string())
        if isinstance(text, pa.ChunkedArray):
            text = text.combine_chunks()
        terms = np.asarray(text.to_numpy(zero_copy_only=False), dtype=object)
        return cls(terms, np.asarray(pc.take(shares, order).to_numpy(), dtype=np.float64), text)

    def __getitem__(self, value: Any) -> float:
        if isinstance(value, str) and len(self.terms):
            at = int(np.searchsorted(self.terms, value))
            if at < len(self.terms) and self.terms[at] == value:
                return float(self.shares[at])
        raise KeyError(value)

    def __iter__(self) -> Iterator[str]:
        return iter(self.terms.tolist())

    def __len__(self) -> int:
        return len(self.terms)

    def shares_of(self, values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
        """Each value's share (null where it has none), found by Arrow's hash lookup: the
        ``tf_<column>`` column of an index (``index_of_table``)."""
        at = pc.index_in(pc.cast(values, pa.string()), value_set=self.text)
        return pc.take(pa.array(self.shares, type=pa.float64()), at)

    def shares_of_few(self, values: pa.Array | pa.ChunkedArray) -> pa.Array:
        """``shares_of`` for a check's few candidates, by one binary search over the terms
        for all of them: Arrow's lookup hashes every term first, and a search per value
        in Python cost a check 5 ms more at 100k records."""
        text = pc.cast(values, pa.string())
        given = np.asarray(text.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        shares = np.zeros(len(text), dtype=np.float64)
        found = np.zeros(len(text), dtype=bool)
        if len(self.terms) and given.any():
            probe = np.asarray(text.drop_null().to_numpy(zero_copy_only=False), dtype=object)
            at = np.minimum(np.searchsorted(self.terms, probe), len(self.terms) - 1)
            hit = np.asarray(self.terms[at] == probe, dtype=bool)
            rows = np.flatnonzero(given)
            shares[rows[hit]] = self.shares[at[hit]]
            found[rows[hit]] = True
        return pa.array(shares, type=pa.float64(), mask=~found)


@dataclass(frozen=True)
class CheckIndex:
    """What a duplicate check needs of one entity type's master.

    Attributes:
        entity_type: company or person.
        table: the prepared records as Splink scores them, with a ``tf_<column>`` column per
            term-frequency-adjusted comparison column.
        customer_ids, names: the customer and golden-side name of each row of ``table``
            (Arrow arrays: read by ``take`` for a check's few candidates).
        tf: column → its term frequencies (for scoring new input).
        blocks: one index per prediction blocking rule, in the rules' order.
        rank: None for an index of one part, whose rows are in staging order. For one of
            a base part and a delta part (``matching.check_delta``): per row of ``table``
            (the base's rows, then the delta's) its place in staging order, -1 for a base
            row the delta retired or replaced. Its ``tf_<column>`` values are those of the
            day the base was written: the current ones are looked up in ``tf``.
        base_rows: with ``rank``, the rows of the base part.
        base_folder: with ``rank``, the folder whose base files the index was built on.
    """

    entity_type: str
    table: pa.Table
    customer_ids: pa.Array | pa.ChunkedArray
    names: pa.Array | pa.ChunkedArray
    tf: dict[str, TermFrequencies]
    blocks: list[BlockIndex]
    rank: np.ndarray | None = None
    base_rows: int = 0
    base_folder: Path | None = None
    _allowed: dict[frozenset[str], np.ndarray] = field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def records(self) -> int:
        """The master records the index answers from (a delta's retired rows left out)."""
        if self.rank is None:
            return self.table.num_rows
        return int((self.rank >= 0).sum())

    @cached_property
    def _parts(self) -> tuple[pa.Table, ...]:
        """``table`` with each row's customer and name: one table, or of an index of two
        parts, the base's and the delta's (read apart: Arrow's ``take`` on a column of
        two chunks first joins them, a copy of the whole column, 2.5 ms a check at 100k
        records)."""
        table = self.table.append_column("__customer_id", _chunked(self.customer_ids))
        table = table.append_column("__name", _chunked(self.names))
        if self.rank is None:
            return (table,)
        return table.slice(0, self.base_rows), table.slice(self.base_rows)

    def take(self, taken: pa.Array) -> tuple[pa.Table, pa.ChunkedArray, pa.ChunkedArray]:
        """The rows ``taken`` of ``table``, with their current term frequencies, and their
        customer IDs and names."""
        if self.rank is None:
            found = self._parts[0].take(taken)
        else:
            base, delta = self._parts
            rows = np.asarray(taken.to_numpy(zero_copy_only=False), dtype=np.int64)
            in_base = rows < self.base_rows
            if in_base.all():  # most checks: a day's delta holds few of the records
                found = base.take(taken)
            else:
                found = self._take_apart(base, delta, rows, in_base)
            for column, frequencies in self.tf.items():
                at = found.schema.get_field_index(f"tf_{column}")
                found = found.set_column(
                    at, f"tf_{column}", frequencies.shares_of_few(found.column(column))
                )
        ids, names = found.column("__customer_id"), found.column("__name")
        return found.drop_columns(["__customer_id", "__name"]), ids, names

    def _take_apart(
        self, base: pa.Table, delta: pa.Table, rows: np.ndarray, in_base: np.ndarray
    ) -> pa.Table:
        """``rows`` of the base's and the delta's rows, each taken from its part, in the
        order given."""
        joined = pa.concat_tables(
            [
                base.take(pa.array(rows[in_base], type=pa.int64())),
                delta.take(pa.array(rows[~in_base] - self.base_rows, type=pa.int64())),
            ]
        )
        placed = np.concatenate([np.flatnonzero(in_base), np.flatnonzero(~in_base)])
        return joined.take(pa.array(np.argsort(placed, kind="stable"), type=pa.int64()))

    def merged(self) -> CheckIndex:
        """The index of one part with the same records, rows, term frequencies and
        blocking indexes as one built whole from the same master (an index of one part
        as it is)."""
        if self.rank is None:
            return self
        live = np.flatnonzero(self.rank >= 0)
        order = live[np.argsort(self.rank[live], kind="stable")]
        new_row = np.full(len(self.rank), -1, dtype=np.int64)
        new_row[order] = np.arange(len(order), dtype=np.int64)
        taken = pa.array(order, type=pa.int64())
        table = self.table.take(taken)
        for column, frequencies in self.tf.items():
            at = table.schema.get_field_index(f"tf_{column}")
            table = table.set_column(
                at, f"tf_{column}", frequencies.shares_of(table.column(column))
            )
        blocks = []
        for block in self.blocks:
            parts = [block] if block.delta is None else [block, block.delta]
            hashes = np.concatenate([b.hashes for b in parts])
            rows = new_row[np.concatenate([b.rows for b in parts])]
            kept = rows >= 0
            hashes, rows = hashes[kept], rows[kept]
            by = np.lexsort((rows, hashes))  # by hash, rows ascending within one
            blocks.append(BlockIndex(block.columns, hashes[by], rows[by]))
        return CheckIndex(
            self.entity_type,
            table,
            self.customer_ids.take(taken),
            self.names.take(taken),
            self.tf,
            blocks,
        )

    def allowed(self, keys: frozenset[str]) -> np.ndarray:
        """True for each row whose record is one of ``keys``; worked out once per set (a
        role's records are one set per loaded index)."""
        if keys not in self._allowed:
            self._allowed[keys] = _allowed_rows(self.table, keys)
        return self._allowed[keys]

    @property
    def scoring_table(self) -> pa.Table:
        """``table`` without the term-frequency columns: what Splink's linker reads."""
        return self.table.drop_columns([c for c in self.table.column_names if c.startswith("tf_")])

    def candidates(
        self, probe: pa.Table, limit: int, within: frozenset[str] | None = None
    ) -> list[int]:
        """Rows sharing a blocking key with the prepared one-row ``probe``, rule by rule,
        at most ``limit``; with ``within``, only rows of those record keys (a role's
        records), chosen before the limit, so records outside them never crowd the ones
        inside out."""
        allowed = None if within is None else self.allowed(within)
        rows: dict[int, None] = {}
        for block in self.blocks:
            hashes = key_hashes(probe, block.columns)
            if hashes is None or len(hashes) == 0 or np.ma.getmaskarray(hashes)[0]:
                continue
            found = block.lookup(hashes.data[0])
            if self.rank is not None:
                # in staging order, as a whole index's rows, without retired base rows
                ranks = self.rank[found]
                kept = ranks >= 0
                found = found[kept][np.argsort(ranks[kept], kind="stable")]
            if allowed is not None:
                found = found[allowed[found]]
            for row in found:
                rows[int(row)] = None
                if len(rows) >= limit:
                    return list(rows)
        return list(rows)


def _chunked(values: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
    """``values`` as a chunked array (an index built in memory may hold plain arrays)."""
    return values if isinstance(values, pa.ChunkedArray) else pa.chunked_array([values])


def _allowed_rows(table: pa.Table, keys: frozenset[str]) -> np.ndarray:
    """True for each row of ``table`` whose ``record_key`` is one of ``keys``."""
    mask = pc.is_in(table.column("record_key"), value_set=pa.array(list(keys), pa.string()))
    return np.asarray(mask.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def key_hashes(table: pa.Table, columns: tuple[str, ...]) -> np.ma.MaskedArray | None:
    """The 64-bit hash of each row's key over ``columns``; masked where any part is missing.

    Each distinct key is hashed once: turning a million keys into Python strings to hash
    them took about a second per blocking rule, and a master has twenty rules; most keys
    (names, cities, streets) repeat, and Arrow finds the distinct ones without Python.
    """
    parts = [pc.cast(table.column(c), pa.string()) for c in columns]
    missing = np.zeros(table.num_rows, dtype=bool)
    for part in parts:
        missing |= np.asarray(part.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    joined = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, _KEY_SEPARATOR)
    joined = joined.fill_null("")
    if isinstance(joined, pa.ChunkedArray):
        joined = joined.combine_chunks()
    encoded = pc.dictionary_encode(joined)
    distinct = np.asarray(encoded.dictionary.to_numpy(zero_copy_only=False), dtype=object)
    hashes = pd.util.hash_array(distinct, categorize=False) if len(distinct) else distinct
    at = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    return np.ma.MaskedArray(np.asarray(hashes, dtype=np.uint64)[at], mask=missing)


def tf_columns(model: dict[str, Any]) -> list[str]:
    """The columns a model adjusts for term frequency."""
    columns = []
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("tf_adjustment_column"):
                columns.append(level["tf_adjustment_column"])
    return list(dict.fromkeys(columns))


def build_check_index(
    records: pd.DataFrame,
    model: dict[str, Any],
    entity_type: str,
    junk: JunkRules,
    prepared: PreparedRecords | None = None,
) -> CheckIndex:
    """The check index of one entity type's master ``records``: staged columns plus
    ``customer_id``, prepared here; or, with the sync's ``prepared`` records, only
    ``record_key``, ``customer_id`` and ``name`` (the prepared rows of other records are
    left out)."""
    keys = pa.array(records["record_key"], pa.string())
    if prepared is None:
        table = prepare_records(records, entity_type, junk).table
    else:
        table = as_prepared(prepared, entity_type).table
    # each row's record (its customer and name), by Arrow's hash of the keys (a pandas
    # index of a million record keys cost seconds)
    at = pc.index_in(table.column("record_key"), value_set=keys)
    if prepared is not None and at.null_count:
        # prepared rows of records outside the master are left out. Every staged record has
        # a customer, so a sync has none: filtering a table that kept every row copied each
        # column (0.24 s of the 2.4 s of CPU of a 1% day's serving index at 100k records)
        table = as_prepared(prepared, entity_type).of_records(records["record_key"]).table
        at = pc.index_in(table.column("record_key"), value_set=keys)
    return index_of_table(
        entity_type,
        table,
        pc.take(pa.array(records["customer_id"].astype(str), pa.string()), at),
        pc.take(pa.array(records["name"], pa.string(), from_pandas=True), at),
        model,
    )


def index_of_table(
    entity_type: str,
    table: pa.Table,
    customer_ids: pa.Array | pa.ChunkedArray,
    names: pa.Array | pa.ChunkedArray,
    model: dict[str, Any],
    block_hashes: Callable[[tuple[str, ...]], np.ma.MaskedArray] | None = None,
) -> CheckIndex:
    """The check index of the prepared records ``table`` (one row per master record, with
    its ``customer_ids`` and ``names``): their term frequencies and blocking indexes.

    ``block_hashes``: each row's key hash for a blocking rule's columns, where the caller
    knows them for most rows (an index carried over from the last sync's, see
    ``check_update``); by default every row's key is hashed (``key_hashes``)."""
    tf = term_frequencies(table, tf_columns(model))
    for column, frequencies in tf.items():
        table = table.append_column(f"tf_{column}", frequencies.shares_of(table.column(column)))
    blocks = []
    for columns in PREDICTION_BLOCKING_KEYS[entity_type]:
        hashes = key_hashes(table, columns) if block_hashes is None else block_hashes(columns)
        assert hashes is not None
        rows = np.flatnonzero(~np.ma.getmaskarray(hashes))
        order = np.argsort(hashes.data[rows], kind="stable")
        blocks.append(BlockIndex(columns, hashes.data[rows][order], rows[order].astype(np.int64)))
    return CheckIndex(
        entity_type=entity_type,
        table=table,
        customer_ids=customer_ids,
        names=names,
        tf=tf,
        blocks=blocks,
    )


def term_frequencies(
    table: pa.Table, columns: list[str], con: duckdb.DuckDBPyConnection | None = None
) -> dict[str, TermFrequencies]:
    """Column → its term frequencies among the rows of ``table``: each value's share of the
    rows with a value in that column (text columns only: ``TypeError`` otherwise).

    Splink's own statement (``splink.internals.term_frequencies``, as
    ``Linker.table_management.compute_tf_table`` and ``prediction.predict_pairs`` run it:
    ``count(*)`` as a double over the column's non-null count, per non-null value), so the
    check scores with Splink's own frequencies (see the tests); run here without building a
    linker, which parses every comparison of the model (seconds per model, whatever the
    master's size). It runs on a cursor of ``con`` when given (the sync's warehouse
    connection), else on a fresh in-memory DuckDB: opening one, and a Splink database API
    on it, cost 0.04 s of CPU per entity type. Its rows are read as Arrow arrays
    (``TermFrequencies.from_arrow``), not as a Python dict of every value.
    """
    found: dict[str, TermFrequencies] = {}
    cursor = con.cursor() if con is not None else duckdb.connect(":memory:")
    try:
        if con is None:
            cursor.execute("SET threads = 1")
        cursor.register("__check_master", table)
        for column in columns:
            statement = term_frequencies_for_single_column_sql(
                InputColumn(column, sqlglot_dialect_str="duckdb"), "__check_master"
            )
            counted = cursor.sql(statement).to_arrow_table()
            try:
                found[column] = TermFrequencies.from_arrow(counted.column(0), counted.column(1))
            except TypeError as error:
                raise TypeError(f"{column}: {error}") from error
        cursor.unregister("__check_master")
    finally:
        cursor.close()
    return found


def save_check_index(index: CheckIndex, folder: Path) -> None:
    """Write ``index`` into ``folder`` as ``check_<entity_type>_*.arrow`` / ``.json``. An
    index of two parts keeps its base's files as they are (hard links to those in
    ``base_folder``) and writes its delta part beside them (``_DELTA_FILES``)."""
    base = folder / f"check_{index.entity_type}"
    layered = index.rank is not None
    if layered:
        assert index.base_folder is not None
        for part in ("records", "blocks"):
            name = f"check_{index.entity_type}_{part}.arrow"
            link_or_copy(index.base_folder / name, folder / name)
        _save_records(
            index.table.slice(index.base_rows),
            index.customer_ids.slice(index.base_rows),
            index.names.slice(index.base_rows),
            Path(f"{base}_delta_records.arrow"),
        )
        _save_blocks([b.delta for b in index.blocks], Path(f"{base}_delta_blocks.arrow"))
        _write_arrow(
            pa.table({"rank": pa.array(index.rank, type=pa.int64())}),
            Path(f"{base}_delta_rank.arrow"),
        )
    else:
        _save_records(index.table, index.customer_ids, index.names, Path(f"{base}_records.arrow"))
        _save_blocks(index.blocks, Path(f"{base}_blocks.arrow"))
    _write_arrow(
        pa.table(
            {
                "value": pa.concat_arrays(
                    [pa.array([], pa.string()), *(f.text for f in index.tf.values())]
                ),
                "frequency": pa.array(
                    np.concatenate([np.empty(0), *(f.shares for f in index.tf.values())]),
                    type=pa.float64(),
                ),
            }
        ),
        Path(f"{base}_tf.arrow"),
    )
    Path(f"{base}_index.json").write_text(
        json.dumps(
            {
                "rules": [list(b.columns) for b in index.blocks],
                "tf": {column: len(f) for column, f in index.tf.items()},
            }
        ),
        encoding="utf-8",
    )
    delta_layout = Path(f"{base}_delta.json")
    if layered:
        delta_layout.write_text(json.dumps({"base_rows": index.base_rows}), encoding="utf-8")


def _save_records(
    table: pa.Table,
    customer_ids: pa.Array | pa.ChunkedArray,
    names: pa.Array | pa.ChunkedArray,
    path: Path,
) -> None:
    """The prepared rows with each one's customer and name, as one Arrow file."""
    _write_arrow(
        table.append_column("__customer_id", customer_ids).append_column("__name", names), path
    )


def _save_blocks(blocks: Sequence[BlockIndex | None], path: Path) -> None:
    """The blocking indexes, rule after rule, as one Arrow file."""
    parts = [
        b if b is not None else BlockIndex((), np.empty(0, np.uint64), np.empty(0, np.int64))
        for b in blocks
    ]
    _write_arrow(
        pa.table(
            {
                "rule": pa.array(
                    np.repeat(np.arange(len(parts)), [len(b.rows) for b in parts]),
                    type=pa.int32(),
                ),
                "key_hash": pa.array(
                    np.concatenate([np.empty(0, np.uint64), *(b.hashes for b in parts)]),
                    type=pa.uint64(),
                ),
                "row": pa.array(
                    np.concatenate([np.empty(0, np.int64), *(b.rows for b in parts)]),
                    type=pa.int64(),
                ),
            }
        ),
        path,
    )


def _load_blocks(path: Path, rules: list[list[str]]) -> list[BlockIndex]:
    """The blocking indexes ``_save_blocks`` wrote, memory-mapped."""
    blocks_table = _read_arrow(path)
    rule = blocks_table.column("rule").to_numpy()
    hashes = blocks_table.column("key_hash").to_numpy()
    rows = blocks_table.column("row").to_numpy()
    bounds = np.searchsorted(rule, np.arange(len(rules) + 1), side="left")
    return [
        BlockIndex(
            tuple(columns), hashes[bounds[i] : bounds[i + 1]], rows[bounds[i] : bounds[i + 1]]
        )
        for i, columns in enumerate(rules)
    ]


def _write_arrow(table: pa.Table, path: Path) -> None:
    """``table`` as one uncompressed record batch in an Arrow IPC file (mapped on load)."""
    table = table.combine_chunks()
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=max(table.num_rows, 1))


def _read_arrow(path: Path) -> pa.Table:
    """The table in the Arrow IPC file ``path``, memory-mapped (zero-copy)."""
    with pa.memory_map(str(path), "r") as source:
        return pa.ipc.open_file(source).read_all()


def saved_table_schema(folder: Path, entity_type: str) -> pa.Schema | None:
    """The schema of the ``table`` of the index saved in ``folder`` (its file's header
    only); None when there is none."""
    path = folder / f"check_{entity_type}_records.arrow"
    if not path.is_file():
        return None
    with pa.memory_map(str(path), "r") as source:
        schema = pa.ipc.open_file(source).schema
    return pa.schema([f for f in schema if f.name not in ("__customer_id", "__name")])


def has_check_index(folder: Path, entity_type: str) -> bool:
    base = folder / f"check_{entity_type}"
    if not all(Path(f"{base}_{f}.{ext}").exists() for f, ext in _FILES.items()):
        return False
    if not Path(f"{base}_delta.json").exists():
        return True
    return all(Path(f"{base}_{f}.arrow").exists() for f in _DELTA_FILES)


def load_check_index(folder: Path, entity_type: str, base_only: bool = False) -> CheckIndex:
    """The index ``save_check_index`` wrote into ``folder`` for ``entity_type``: the records
    and blocking indexes memory-mapped, nothing converted. An index of two parts is loaded
    as such (``CheckIndex.rank``): its rows are the base's then the delta's, nothing is
    merged; ``base_only``: only its base part (its rows, blocking indexes and term
    frequencies as they were when the base was written), for a sync building the next delta.
    """
    base = folder / f"check_{entity_type}"
    table = _read_arrow(Path(f"{base}_records.arrow"))
    layout = json.loads(Path(f"{base}_index.json").read_text(encoding="utf-8"))
    rules = layout["rules"]
    blocks = _load_blocks(Path(f"{base}_blocks.arrow"), rules)
    delta_layout = Path(f"{base}_delta.json")
    rank, base_rows = None, 0
    if delta_layout.exists() and not base_only:
        base_rows = json.loads(delta_layout.read_text(encoding="utf-8"))["base_rows"]
        if base_rows != table.num_rows:
            raise ValueError(f"{folder}: the {entity_type} check index's delta is of another base")
        delta = _read_arrow(Path(f"{base}_delta_records.arrow"))
        table = pa.concat_tables([table, delta.cast(table.schema)])
        blocks = [
            BlockIndex(b.columns, b.hashes, b.rows, delta=d)
            for b, d in zip(
                blocks, _load_blocks(Path(f"{base}_delta_blocks.arrow"), rules), strict=True
            )
        ]
        rank = _read_arrow(Path(f"{base}_delta_rank.arrow")).column("rank").to_numpy()
        if len(rank) != table.num_rows:
            raise ValueError(f"{folder}: the {entity_type} check index's delta is incomplete")
    customer_ids = table.column("__customer_id")
    names = table.column("__name")
    table = table.drop_columns(["__customer_id", "__name"])
    if base_only and delta_layout.exists():
        return CheckIndex(entity_type, table, customer_ids, names, {}, blocks)
    tf_table = _read_arrow(Path(f"{base}_tf.arrow"))
    text = tf_table.column("value").combine_chunks()
    values = text.to_numpy(zero_copy_only=False)
    shares = tf_table.column("frequency").to_numpy()
    tf, start = {}, 0
    for column, count in layout["tf"].items():  # one column's values after the other's
        tf[column] = TermFrequencies(
            values[start : start + count],
            shares[start : start + count],
            text.slice(start, count),
        )
        start += count
    return CheckIndex(
        entity_type,
        table,
        customer_ids,
        names,
        tf,
        blocks,
        rank=rank,
        base_rows=base_rows,
        base_folder=folder if rank is not None else None,
    )

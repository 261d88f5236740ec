"""Mapping: a raw table's own columns onto the canonical fields, row by row, losing nothing.

A canonical field mapped from several columns joins them with a space in the mapped
order (``name: [surname, given_name]``). Rows that cannot become a customer record are
split off with a reason for ``staging.quarantine``:

- ``missing source_record_id``: the row has no key in its source;
- ``duplicate source_record_id``: the key was already used by an earlier row of the source
  (the first occurrence, in file order, is kept and named in the reason);
- ``unknown entity_type``: the type column holds a value the config does not map;
- ``no name and no identifier``: nothing to recognise the customer by.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sources.config import EntityTypeFromColumn, SourceConfig
from sources.schema import LINEAGE_COLUMNS
from warehouse.store import quote

#: A record without a name is still usable when it carries one of these.
IDENTIFYING_FIELDS = ("uscc", "id_number", "mobile", "phone", "email")
QUARANTINE_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("source_file", pa.string()),
        ("source_row", pa.int64()),
        ("source_record_id", pa.string()),
        ("stage", pa.string()),
        ("reason", pa.string()),
        ("raw", pa.string()),
    ]
)


@dataclass
class MappedBatch:
    """Canonical text fields for usable rows, and the quarantined rest."""

    records: pa.Table
    quarantine: pa.Table


def _blank_to_null(values: pa.ChunkedArray) -> pa.ChunkedArray:
    trimmed = pc.utf8_trim_whitespace(values.cast(pa.string()))
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


def _field(raw: pa.Table, columns: list[str]) -> pa.ChunkedArray:
    """One canonical field: the mapped columns, trimmed, joined with a space (nulls skipped)."""
    parts = [_blank_to_null(raw.column(c)) for c in columns]
    if len(parts) == 1:
        return parts[0]
    # pyarrow 26 returns an empty result when joining all-null arrays, so join blanks
    # instead of nulls and squeeze the separators they leave behind
    filled = [pc.fill_null(p, "") for p in parts]
    joined = pc.binary_join_element_wise(*filled, " ")
    return _blank_to_null(pc.replace_substring_regex(joined, r"\s{2,}", " "))


def mapped_field_sql(columns: list[str]) -> str:
    """:func:`_field` in DuckDB SQL, for the layers that map a feed in the warehouse: each
    column trimmed (blank = missing), several joined with a space in the mapped order."""
    parts = [f"nullif(trim(CAST({quote(c)} AS VARCHAR)), '')" for c in columns]
    if len(parts) == 1:
        return parts[0]
    joined = f"concat_ws(' ', {', '.join(parts)})"
    return f"nullif(regexp_replace({joined}, '\\s{{2,}}', ' ', 'g'), '')"


def _entity_types(raw: pa.Table, source: SourceConfig) -> pa.ChunkedArray:
    if not isinstance(source.entity_type, EntityTypeFromColumn):
        return pa.chunked_array([pa.array([source.entity_type] * raw.num_rows, pa.string())])
    rule = source.entity_type
    values = _blank_to_null(raw.column(rule.column))
    keys = pa.array(list(rule.values), pa.string())
    mapped = pa.array(list(rule.values.values()), pa.string())
    index = pc.index_in(values, value_set=keys)
    typed = pc.take(mapped, index)
    if rule.default is not None:
        typed = pc.fill_null(typed, rule.default)
    return typed


def map_source(raw: pa.Table, source: SourceConfig) -> MappedBatch:
    """Map one source's raw table onto canonical fields and split off unusable rows."""
    fields = source.mapped_columns()
    columns = {name: raw.column(name) for name in LINEAGE_COLUMNS}
    for name, refs in fields.items():
        columns[name] = _field(raw, refs)
    columns["entity_type"] = _entity_types(raw, source)
    mapped = pa.table(columns)

    reasons = _reasons(mapped, raw, source)
    keep = pc.is_null(reasons)
    rejected = pc.invert(keep)
    quarantine = _quarantine_rows(
        raw.filter(rejected), mapped.filter(rejected), reasons.filter(rejected)
    )
    return MappedBatch(records=mapped.filter(keep), quarantine=quarantine)


def _reasons(mapped: pa.Table, raw: pa.Table, source: SourceConfig) -> pa.ChunkedArray:
    """The first reason each row cannot be staged, or null for usable rows (vectorised)."""
    frame = pd.DataFrame(
        {
            "record_id": mapped.column("source_record_id").to_pandas(),
            "entity_type": mapped.column("entity_type").to_pandas(),
            "file": mapped.column("source_file").to_pandas(),
            "row": mapped.column("source_row").to_pandas(),
        }
    )
    identified = pc.is_valid(mapped.column("name"))
    for field in IDENTIFYING_FIELDS:
        if field in mapped.column_names:
            identified = pc.or_(identified, pc.is_valid(mapped.column(field)))
    reasons = pd.Series(None, index=frame.index, dtype=object)

    missing_id = frame["record_id"].isna()
    reasons[missing_id] = "missing source_record_id"

    duplicate = frame["record_id"].duplicated() & ~missing_id
    if duplicate.any():
        first = frame[~frame["record_id"].duplicated() & ~missing_id].set_index("record_id")
        dups = frame[duplicate]
        kept = first.loc[dups["record_id"]]
        reasons[duplicate] = [
            f"duplicate source_record_id '{rid}' (kept {f} row {r})"
            for rid, f, r in zip(dups["record_id"], kept["file"], kept["row"], strict=True)
        ]

    unknown_type = reasons.isna() & frame["entity_type"].isna()
    if unknown_type.any():
        rule = source.entity_type
        assert isinstance(rule, EntityTypeFromColumn)
        values = raw.column(rule.column).to_pandas()[unknown_type]
        reasons[unknown_type] = [
            f"unknown entity_type value {v!r} in column '{rule.column}'" for v in values
        ]

    anonymous = reasons.isna() & ~identified.to_pandas()
    reasons[anonymous] = "no name and no identifier"
    return pa.chunked_array([pa.array(reasons, pa.string(), from_pandas=True)])


def _quarantine_rows(raw: pa.Table, mapped: pa.Table, reasons: pa.ChunkedArray) -> pa.Table:
    own = [c for c in raw.column_names if c not in LINEAGE_COLUMNS]
    rows = raw.select(own).to_pylist()
    return pa.table(
        {
            "source": mapped.column("source"),
            "source_file": mapped.column("source_file"),
            "source_row": mapped.column("source_row"),
            "source_record_id": mapped.column("source_record_id"),
            "stage": pa.array(["staging"] * raw.num_rows, pa.string()),
            "reason": reasons,
            "raw": pa.array([json.dumps(r, ensure_ascii=False) for r in rows], pa.string()),
        },
        schema=QUARANTINE_SCHEMA,
    )

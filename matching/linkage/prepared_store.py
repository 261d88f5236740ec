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

The table holds the records in staging order, so a step reading it back sees exactly what
preparing the staged records would have given it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import duckdb
import pandas as pd
import pyarrow as pa

from matching.linkage.features import PREPARED_SCHEMA, PreparedRecords, prepare_records
from matching.linkage.junk import SUPPRESSED_COLUMNS, JunkRules
from sources.schema import ENTITY_TYPES
from warehouse.store import quote, replace_table, table_exists

#: The prepared records of the last sync, both entity types.
PREPARED_RECORDS = "matching.prepared_records"
#: The values preparation suppressed, per entity type.
SUPPRESSED_VALUES = "matching.suppressed_values"


def prepare_by_type(staged: pd.DataFrame, junk: JunkRules) -> dict[str, PreparedRecords]:
    """The prepared records of each entity type that has at least one staged record."""
    present = set(staged["entity_type"].dropna().unique())
    return {
        entity_type: prepare_records(staged, entity_type, junk)
        for entity_type in ENTITY_TYPES
        if entity_type in present
    }


def save_prepared(
    con: duckdb.DuckDBPyConnection, prepared: Mapping[str, PreparedRecords]
) -> dict[str, int]:
    """Replace ``matching.prepared_records`` and ``matching.suppressed_values``; return the
    records written per entity type."""
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
    con: duckdb.DuckDBPyConnection, entity_type: str, only: Collection[str] | None = None
) -> PreparedRecords | None:
    """The prepared records of ``entity_type`` the sync kept, in staging order (``only``:
    just these record keys); None when the warehouse has none (staged by a version that
    did not keep them)."""
    if not table_exists(con, "matching", "prepared_records"):
        return None
    table = con.sql(
        f"SELECT * FROM {PREPARED_RECORDS} WHERE entity_type = ?", params=[entity_type]
    ).to_arrow_table()
    suppressed = con.sql(
        f"SELECT {', '.join(map(quote, SUPPRESSED_COLUMNS))} FROM {SUPPRESSED_VALUES} "
        "WHERE entity_type = ?",
        params=[entity_type],
    ).df()
    kept = PreparedRecords(table.select(PREPARED_SCHEMA.names).cast(PREPARED_SCHEMA), suppressed)
    # in Arrow: a join in DuckDB would not keep staging order
    return kept if only is None else kept.of_records(only)


_SUPPRESSED_SCHEMA = pa.schema(
    [("entity_type", pa.string())]
    + [(c, pa.int64() if c == "records" else pa.string()) for c in SUPPRESSED_COLUMNS]
)

"""From every source's raw table to ``staging.customers`` and ``staging.quarantine``.

This is the whole staging layer as one pure function of tables: map each source onto
the canonical fields (quarantining unusable rows), standardise all sources together
(so each distinct value is standardised once), then add the contact persons named on
company records as person records of their own.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import duckdb
import pyarrow as pa

from sources.config import PipelineConfig
from sources.mapping import QUARANTINE_SCHEMA, map_source
from sources.schema import STAGED_COLUMNS
from sources.staging import derive_contact_persons, stage_records
from warehouse.store import replace_table

log = logging.getLogger(__name__)

STAGED_SCHEMA = pa.schema(
    [
        (
            name,
            pa.int64()
            if name == "source_row"
            else pa.timestamp("us")
            if name == "ingested_at"
            else pa.date32()
            if name in ("birth_date", "created_at", "updated_at")
            else pa.float64()
            if name == "credit_limit"
            else pa.bool_()
            if name == "is_branch"
            else pa.list_(pa.string())
            if name == "other_phones"
            else pa.string(),
        )
        for name in STAGED_COLUMNS
    ]
)


@dataclass
class StagingResult:
    """Staged customer records and every row that could not be staged, with its reason."""

    customers: pa.Table
    quarantine: pa.Table

    def counts(self) -> dict[str, int]:
        derived = self.customers.column("derived_from_record_key").null_count
        return _counts(self.customers.num_rows, derived, self.quarantine.num_rows)


def _counts(staged: int, source_records: int, quarantined: int) -> dict[str, int]:
    """What a staging did: rows staged, of them source records (the rest contact persons),
    rows quarantined."""
    return {
        "staged_records": staged,
        "source_records_staged": source_records,
        "contact_persons_derived": staged - source_records,
        "quarantined": quarantined,
    }


def build_staging(
    raw_by_source: dict[str, pa.Table],
    rejected_by_source: dict[str, pa.Table],
    config: PipelineConfig,
    today: date,
) -> StagingResult:
    """Stage every configured source from scratch (a sync that staged before calls
    :func:`restage_in_warehouse`, which gives the same rows).

    Args:
        raw_by_source: source name → its raw table (lineage + the export's own columns).
        rejected_by_source: source name → rows its reader could not split into fields.
        config: the deployment (column mappings, source kinds).
        today: the run date, for future-date flags.
    """
    mapped, quarantine = _map_sources(raw_by_source, rejected_by_source, config)
    kinds, takes_mobile = _source_roles(config)
    customers = _stage(mapped.to_pandas(split_blocks=True), kinds, takes_mobile, today)
    return StagingResult(customers=customers, quarantine=quarantine)


def restage_in_warehouse(
    con: duckdb.DuckDBPyConnection,
    raw_by_source: dict[str, pa.Table],
    rejected_by_source: dict[str, pa.Table],
    config: PipelineConfig,
    today: date,
) -> dict[str, int]:
    """:func:`build_staging` when ``con`` holds the last sync's staging (under the same
    config): ``staging.customers`` and ``staging.quarantine`` of ``con`` are replaced by
    exactly what staging from scratch gives, row for row. A record whose row is unchanged
    (same ``record_key`` and ``record_hash``) is taken from the last staging with today's
    lineage instead of being standardised again, with the contact person derived from it;
    records carrying a future-date flag are standardised again (the flag depends on the
    day).

    A day that changes 1% of the records changes little of the staged table, but reading
    all of it into memory (1.4M rows, 57 columns at 1M source records), joining it there
    and sending it back cost more than standardising the changed rows. Here DuckDB joins
    the unchanged records with today's lineage inside the warehouse and writes the table
    again; only new and changed rows are standardised in Python. Measured on a copy of
    the 1M warehouse after a simulated 1% day: 27.8 s of CPU against 35.4 s, of which
    writing the table (its order must be a full staging's) is about 15 s. Returns the
    counts of :meth:`StagingResult.counts`.
    """
    mapped, quarantine = _map_sources(raw_by_source, rejected_by_source, config)
    staged = _restage(con, mapped, config, today)
    con.execute(f"CREATE OR REPLACE TABLE staging.customers AS {staged}")
    for temp in ("__mapped", "__staged"):
        con.unregister(temp)
    con.execute("DROP TABLE IF EXISTS __reused")
    replace_table(con, "staging", "quarantine", quarantine)
    ((rows, derived),) = con.execute(
        "SELECT count(*), count(*) FILTER (derived_from_record_key IS NULL) FROM staging.customers"
    ).fetchall()
    return _counts(rows, derived, quarantine.num_rows)


def _source_roles(config: PipelineConfig) -> tuple[Mapping[str, str], frozenset[str]]:
    """Each source's kind, and the sources whose company mobile is the contact's too."""
    kinds = {s.name: s.kind for s in config.sources}
    return kinds, frozenset(s.name for s in config.sources if s.contact_takes_mobile)


def _map_sources(
    raw_by_source: dict[str, pa.Table],
    rejected_by_source: dict[str, pa.Table],
    config: PipelineConfig,
) -> tuple[pa.Table, pa.Table]:
    """Every source's usable rows mapped onto the canonical fields (in source order), and
    the quarantine (rows that cannot be staged, and rows the reader could not split)."""
    mapped_parts: list[pa.Table] = []
    quarantine_parts: list[pa.Table] = []
    for source in config.sources:
        batch = map_source(raw_by_source[source.name], source)
        log.info(
            "%s: %d mappable rows, %d quarantined",
            source.name,
            batch.records.num_rows,
            batch.quarantine.num_rows,
        )
        mapped_parts.append(batch.records)
        quarantine_parts.append(batch.quarantine)
        rejected = rejected_by_source.get(source.name)
        if rejected is not None and rejected.num_rows:
            quarantine_parts.append(_reader_rejects(rejected))
    # arrow concatenation is zero-copy; one pandas copy is made of what gets standardised
    mapped = pa.concat_tables(mapped_parts, promote_options="default")
    return mapped, pa.concat_tables(quarantine_parts).cast(QUARANTINE_SCHEMA)


def _stage(mapped, kinds: Mapping[str, str], takes_mobile: frozenset[str], today: date) -> pa.Table:
    """Standardise mapped records (pandas) and derive their contact persons: records, then
    contacts (``takes_mobile``: the sources whose company mobile is the contact's too)."""
    staged = stage_records(mapped, kinds, today)
    del mapped
    contacts = derive_contact_persons(staged, takes_mobile)
    parts = [pa.Table.from_pandas(staged, schema=STAGED_SCHEMA, preserve_index=False)]
    del staged
    parts.append(pa.Table.from_pandas(contacts, schema=STAGED_SCHEMA, preserve_index=False))
    return pa.concat_tables(parts)


#: Lineage that says where a row stood in this sync's files; a reused record takes it anew.
_WHERE_NOW = ("source_file", "source_row", "ingested_at")


def _restage(
    con: duckdb.DuckDBPyConnection,
    mapped: pa.Table,
    config: PipelineConfig,
    today: date,
) -> str:
    """The query of the staged records when only the rows that are new or changed since
    the last staging (``staging.customers``) are standardised; the others are reused.

    Registers ``__mapped`` and ``__staged`` and creates the temp table ``__reused`` (the
    reused records' keys and today's lineage) on ``con``, which the query reads. The rows
    keep the order a full staging gives them: every record in mapped order, then the
    contact persons in the order of their companies.
    """
    con.register(
        "__mapped", mapped.append_column("__pos", pa.array(range(mapped.num_rows), pa.int64()))
    )
    where_now = ", ".join(f"m.{c}" for c in _WHERE_NOW)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE __reused AS
            SELECT m.__pos, p.record_key, {where_now}
            FROM __mapped m JOIN staging.customers p
              ON p.record_key = m.source || ':' || m.source_record_id
             AND p.record_hash = m.record_hash
            WHERE p.derived_from_record_key IS NULL
              AND coalesce(p.quality_flags, '') NOT LIKE '%_in_future%'"""
    )
    fresh = con.sql(
        "SELECT * FROM __mapped WHERE __pos NOT IN (SELECT __pos FROM __reused) ORDER BY __pos"
    ).to_arrow_table()
    positions = fresh.column("__pos")
    kinds, takes_mobile = _source_roles(config)
    staged = _stage(
        fresh.drop_columns(["__pos"]).to_pandas(split_blocks=True), kinds, takes_mobile, today
    )
    del fresh
    con.register("__staged", staged.append_column("__pos", _parent_positions(staged, positions)))
    columns = ", ".join(f'"{c}"' for c in STAGED_SCHEMA.names)
    now = ", ".join(f"r.{c} AS {c}" for c in _WHERE_NOW)
    # one scan of the last staging: a reused record's row and its contact person's
    return f"""WITH reused AS (
                    SELECT r.__pos, p.derived_from_record_key IS NOT NULL AS is_contact,
                           p.* REPLACE ({now})
                    FROM staging.customers p JOIN __reused r
                      ON r.record_key = coalesce(p.derived_from_record_key, p.record_key))
                SELECT {columns} FROM (
                    SELECT {columns}, is_contact, __pos FROM reused
                    UNION ALL SELECT {columns}, derived_from_record_key IS NOT NULL, __pos
                    FROM __staged)
                ORDER BY is_contact, __pos"""


def _parent_positions(staged: pa.Table, positions: pa.ChunkedArray) -> pa.Array:
    """Each freshly staged row's position in the mapped rows (a contact takes its company's)."""
    main = staged.column("derived_from_record_key").null_count
    own = positions.combine_chunks()
    keys = staged.column("record_key").slice(0, main).to_pylist()
    where = dict(zip(keys, own.to_pylist(), strict=True))
    contacts = staged.column("derived_from_record_key").slice(main).to_pylist()
    return pa.concat_arrays([own, pa.array([where[k] for k in contacts], pa.int64())])


def _reader_rejects(rejected: pa.Table) -> pa.Table:
    """Rows the reader could not split into fields, in the quarantine's shape."""
    n = rejected.num_rows
    return pa.table(
        {
            "source": rejected.column("source"),
            "source_file": rejected.column("source_file"),
            "source_row": rejected.column("source_row"),
            "source_record_id": pa.nulls(n, pa.string()),
            "stage": pa.array(["read"] * n, pa.string()),
            "reason": rejected.column("reason"),
            "raw": rejected.column("raw"),
        },
        schema=QUARANTINE_SCHEMA,
    )

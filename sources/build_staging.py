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
        return {
            "staged_records": self.customers.num_rows,
            "source_records_staged": derived,
            "contact_persons_derived": self.customers.num_rows - derived,
            "quarantined": self.quarantine.num_rows,
        }


def build_staging(
    raw_by_source: dict[str, pa.Table],
    rejected_by_source: dict[str, pa.Table],
    config: PipelineConfig,
    today: date,
    previous: pa.Table | None = None,
) -> StagingResult:
    """Stage every configured source.

    Args:
        raw_by_source: source name → its raw table (lineage + the export's own columns).
        rejected_by_source: source name → rows its reader could not split into fields.
        config: the deployment (column mappings, source kinds).
        today: the run date, for future-date flags.
        previous: the staged records of the last sync under the same config, or None.
            A record whose row is unchanged (same ``record_key`` and ``record_hash``) is
            taken from it with today's lineage instead of being standardised again, with
            the contact person derived from it; records carrying a future-date flag are
            standardised again (the flag depends on the day). The result is the same as
            without ``previous``, row for row.
    """
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
    # one pandas copy of all sources (arrow concatenation is zero-copy); the frames are
    # dropped as soon as the next step has what it needs, to keep the peak low at scale
    mapped_table = pa.concat_tables(mapped_parts, promote_options="default")
    del mapped_parts
    kinds = {s.name: s.kind for s in config.sources}
    takes_mobile = frozenset(s.name for s in config.sources if s.contact_takes_mobile)
    if previous is None:
        customers = _stage(mapped_table.to_pandas(split_blocks=True), kinds, takes_mobile, today)
    else:
        customers = _restage(mapped_table, previous.cast(STAGED_SCHEMA), kinds, takes_mobile, today)
    return StagingResult(
        customers=customers,
        quarantine=pa.concat_tables(quarantine_parts).cast(QUARANTINE_SCHEMA),
    )


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
    mapped: pa.Table,
    previous: pa.Table,
    kinds: Mapping[str, str],
    takes_mobile: frozenset[str],
    today: date,
) -> pa.Table:
    """Stage only the rows that are new or changed since ``previous``; reuse the others.

    The rows keep the order a full staging gives them: every record in mapped order, then
    the contact persons in the order of their companies.
    """
    con = duckdb.connect()
    try:
        con.register(
            "mapped", mapped.append_column("__pos", pa.array(range(mapped.num_rows), pa.int64()))
        )
        con.register("previous", previous)
        where_now = ", ".join(f"m.{c} AS {c}" for c in _WHERE_NOW)
        con.execute(
            f"""CREATE TEMP TABLE reused AS
                SELECT m.__pos, p.* REPLACE ({where_now})
                FROM mapped m JOIN previous p
                  ON p.record_key = m.source || ':' || m.source_record_id
                 AND p.record_hash = m.record_hash
                WHERE p.derived_from_record_key IS NULL
                  AND coalesce(p.quality_flags, '') NOT LIKE '%_in_future%'"""
        )
        fresh = con.sql(
            "SELECT * FROM mapped WHERE __pos NOT IN (SELECT __pos FROM reused) ORDER BY __pos"
        ).to_arrow_table()
        positions = fresh.column("__pos")
        staged = _stage(
            fresh.drop_columns(["__pos"]).to_pandas(split_blocks=True), kinds, takes_mobile, today
        )
        del fresh
        con.register("staged", staged.append_column("__pos", _parent_positions(staged, positions)))
        columns = ", ".join(f'"{c}"' for c in STAGED_SCHEMA.names)
        parent = ", ".join(f"r.{c} AS {c}" for c in _WHERE_NOW)
        return (
            con.sql(
                f"""WITH contacts AS (
                        SELECT r.__pos, p.* REPLACE ({parent})
                        FROM previous p JOIN reused r ON p.derived_from_record_key = r.record_key)
                    SELECT {columns} FROM (
                        SELECT {columns}, derived_from_record_key IS NOT NULL AS is_contact, __pos
                        FROM reused
                        UNION ALL SELECT {columns}, true, __pos FROM contacts
                        UNION ALL SELECT {columns}, derived_from_record_key IS NOT NULL, __pos FROM staged)
                    ORDER BY is_contact, __pos"""
            )
            .to_arrow_table()
            .cast(STAGED_SCHEMA)
        )
    finally:
        con.close()


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

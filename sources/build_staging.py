"""From every source's raw table to ``staging.customers`` and ``staging.quarantine``.

This is the whole staging layer as one pure function of tables: map each source onto
the canonical fields (quarantining unusable rows), standardise all sources together
(so each distinct value is standardised once), then add the contact persons named on
company records as person records of their own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

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
) -> StagingResult:
    """Stage every configured source.

    Args:
        raw_by_source: source name → its raw table (lineage + the export's own columns).
        rejected_by_source: source name → rows its reader could not split into fields.
        config: the deployment (column mappings, source kinds).
        today: the run date, for future-date flags.
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
    mapped = pa.concat_tables(mapped_parts, promote_options="default").to_pandas(split_blocks=True)
    del mapped_parts
    kinds = {s.name: s.kind for s in config.sources}
    staged = stage_records(mapped, kinds, today)
    del mapped
    contacts = derive_contact_persons(staged)
    parts = [pa.Table.from_pandas(staged, schema=STAGED_SCHEMA, preserve_index=False)]
    del staged
    parts.append(pa.Table.from_pandas(contacts, schema=STAGED_SCHEMA, preserve_index=False))
    customers = pa.concat_tables(parts)
    return StagingResult(
        customers=customers,
        quarantine=pa.concat_tables(quarantine_parts).cast(QUARANTINE_SCHEMA),
    )


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

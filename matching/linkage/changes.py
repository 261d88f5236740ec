"""Which staged records an incremental sync must score again.

A record's pairs depend only on the staged fields the matcher reads
(``features.REQUIRED_COLUMNS``). ``matching.scored_records`` keeps a fingerprint of those
fields per record as of the last scoring; comparing it with today's staged records gives
the records that are new or whose matching fields changed (their pairs are scored again)
and the records that are gone (their pairs are dropped). A record whose export row
changed only elsewhere (a remark, its row number) keeps its pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from matching.linkage.features import REQUIRED_COLUMNS
from warehouse.store import quote, table_exists

TABLE = "matching.scored_records"
_FIELDS = ", ".join(quote(c) for c in REQUIRED_COLUMNS if c != "record_key")
_CURRENT = f"SELECT record_key, entity_type, hash({_FIELDS}) AS fields_hash FROM staging.customers"


@dataclass(frozen=True)
class RecordChanges:
    """Records to score again (new or changed matching fields) and records that are gone."""

    changed: frozenset[str]
    removed: frozenset[str]

    @property
    def records(self) -> int:
        return len(self.changed) + len(self.removed)


def record_changes(con: duckdb.DuckDBPyConnection) -> RecordChanges | None:
    """Changes since the last scoring; None when there is no record of one."""
    if not table_exists(con, "matching", "scored_records"):
        return None
    changed = con.execute(
        f"""SELECT c.record_key FROM ({_CURRENT}) c
            LEFT JOIN {TABLE} s USING (record_key)
            WHERE s.record_key IS NULL OR s.fields_hash <> c.fields_hash
               OR s.entity_type IS DISTINCT FROM c.entity_type"""
    ).fetchall()
    removed = con.execute(
        f"""SELECT record_key FROM {TABLE}
            WHERE record_key NOT IN (SELECT record_key FROM staging.customers)"""
    ).fetchall()
    return RecordChanges(frozenset(r[0] for r in changed), frozenset(r[0] for r in removed))


def remember_scored_records(con: duckdb.DuckDBPyConnection) -> None:
    """Keep the fingerprints of the records just scored, for the next sync's comparison."""
    con.execute(f"CREATE OR REPLACE TABLE {TABLE} AS {_CURRENT}")

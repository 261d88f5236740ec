"""Which raw rows a day's staging must read again: those of the files that changed, and the
rows that share a record key with them.

A day changes a few files of a source (the 1% delta of the demo: 16 of 60 dealer files, 1
of 8 regional ones); reading every raw row into the process and mapping it was most of a
day's staging (100k records: 0.4 s to read the three customer tables, 0.4-0.6 s to map
them, against 0.2 s for everything else but the standardisation). A staged row depends on
its raw row alone, except that of several rows with one ``source_record_id`` the first in
file order is staged and the others are quarantined naming it. So the rows to map again are

- every row of a file whose rows changed (:data:`SNAPSHOT` keeps, per file, the count and
  a content sum of its raw rows and its reader-rejected rows as they were last staged; a
  file that appeared or went counts as changed), and
- every row whose key is a key of such a file, now or at the last staging, or of a record
  whose staging depends on the day (a ``*_in_future`` flag).

Keys are compared by their letters and digits only (:func:`key_sql`): coarser than the
mapping's trimming, so two rows the mapping gives one key always compare equal here (a
few more rows than needed may be read, never fewer). Every other staged record and
quarantined row is what staging from scratch gives it: its file is unchanged and no row
that could be staged before it under its key changed.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from sources.config import SourceConfig
from sources.raw_files import files_table_name
from warehouse.store import qualified, quote, table_exists

#: Per source file, what its raw rows (and reader-rejected rows) were at the last staging.
SNAPSHOT = "staging.staged_files"
#: Temp tables left for the staging: the changed files and keys per source.
CHANGED_FILES = "__restage_files"
CHANGED_KEYS = "__restage_keys"


def key_sql(expression: str) -> str:
    """The letters and digits of a key, '' for none: the form keys are compared in."""
    return f"coalesce(regexp_replace({expression}, '[^\\p{{L}}\\p{{N}}]', '', 'g'), '')"


def _raw_key_sql(source: SourceConfig) -> str:
    columns = source.mapped_columns()["source_record_id"]
    return key_sql("concat(" + ", ".join(f"CAST({quote(c)} AS VARCHAR)" for c in columns) + ", '')")


def _summaries_sql(con: duckdb.DuckDBPyConnection, sources: Sequence[SourceConfig]) -> str:
    """Per source and file: rows and content sum of its raw rows, and of its rejected rows."""
    parts = []
    for s in sources:
        parts.append(
            f"""SELECT '{s.name}' AS source, source_file, 'rows' AS part, count(*) AS n,
                       sum(hash(source_row, record_hash, ingested_at)::HUGEINT) AS content
                FROM {qualified("raw", s.name)} GROUP BY source_file"""
        )
        rejected = f"{s.name}__rejected"
        if table_exists(con, "raw", rejected):
            parts.append(
                f"""SELECT '{s.name}', source_file, 'rejected', count(*),
                           sum(hash(source_row, reason, raw)::HUGEINT)
                    FROM {qualified("raw", rejected)} GROUP BY source_file"""
            )
    return " UNION ALL ".join(parts)


def raw_described(con: duckdb.DuckDBPyConnection, sources: Sequence[SourceConfig]) -> bool:
    """Whether every source has its raw table and the table of its files."""
    return all(
        table_exists(con, "raw", s.name) and table_exists(con, "raw", files_table_name(s.name))
        for s in sources
    )


def can_restage_changed(con: duckdb.DuckDBPyConnection, sources: Sequence[SourceConfig]) -> bool:
    """Whether the last staging left its snapshot and every source has its raw tables."""
    return table_exists(con, *SNAPSHOT.split(".")) and raw_described(con, sources)


def remember_staged_files(
    con: duckdb.DuckDBPyConnection, sources: Sequence[SourceConfig], *, marked: bool = False
) -> None:
    """:data:`SNAPSHOT` of the raw rows just staged; ``marked``: as :func:`mark_changes`
    described them in this staging (the raw tables do not change during a staging)."""
    described = f"FROM {_NOW}" if marked else _summaries_sql(con, sources)
    con.execute(f"CREATE OR REPLACE TABLE {SNAPSHOT} AS {described}")


#: The raw rows' description of this staging, taken once by :func:`mark_changes`.
_NOW = "__restage_now"


def mark_changes(con: duckdb.DuckDBPyConnection, sources: Sequence[SourceConfig]) -> None:
    """Temp tables :data:`CHANGED_FILES` (``source``, ``source_file``) and
    :data:`CHANGED_KEYS` (``source``, ``key`` in :func:`key_sql` form) of this staging."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_NOW} AS {_summaries_sql(con, sources)}")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {CHANGED_FILES} AS
            SELECT DISTINCT source, source_file FROM (
                (FROM {_NOW} EXCEPT FROM {SNAPSHOT}) UNION ALL (FROM {SNAPSHOT} EXCEPT FROM {_NOW}))"""
    )
    keys = []
    for s in sources:
        keys.append(
            f"""SELECT '{s.name}' AS source, {_raw_key_sql(s)} AS key FROM {qualified("raw", s.name)}
                WHERE source_file IN (SELECT source_file FROM {CHANGED_FILES}
                                      WHERE source = '{s.name}')"""
        )
    staged_key = key_sql("source_record_id")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {CHANGED_KEYS} AS
            SELECT DISTINCT source, key FROM (
                {" UNION ALL ".join(keys)}
                UNION ALL SELECT source, {staged_key} FROM staging.customers
                WHERE derived_from_record_key IS NULL AND (
                    (source, source_file) IN (FROM {CHANGED_FILES})
                    OR coalesce(quality_flags, '') LIKE '%_in_future%')
                UNION ALL SELECT source, {staged_key} FROM staging.quarantine
                WHERE (source, source_file) IN (FROM {CHANGED_FILES}))
            WHERE key <> ''"""
    )


def rows_to_read(source: SourceConfig) -> str:
    """SQL of the rows of ``raw.<source>`` (aliased ``r``) to stage again: the condition on
    them, after :func:`mark_changes`."""
    return f"""(r.source_file IN (SELECT source_file FROM {CHANGED_FILES} WHERE source = '{source.name}')
                OR {_raw_key_sql(source)} IN (
                    SELECT key FROM {CHANGED_KEYS} WHERE source = '{source.name}'))"""


def rejects_to_read(source: SourceConfig) -> str:
    """SQL condition on ``raw.<source>__rejected`` rows to quarantine again."""
    return f"""source_file IN (SELECT source_file FROM {CHANGED_FILES} WHERE source = '{source.name}')"""


def staged_in_scope() -> str:
    """SQL condition on ``staging.customers`` source records (aliased ``p``) this staging
    decides again: of a changed file, or of a changed key."""
    return f"""((p.source, p.source_file) IN (FROM {CHANGED_FILES})
                OR (p.source, {key_sql("p.source_record_id")}) IN (FROM {CHANGED_KEYS}))"""


def quarantined_in_scope() -> str:
    """SQL condition on ``staging.quarantine`` rows (aliased ``q``) this staging writes again."""
    return f"""((q.source, q.source_file) IN (FROM {CHANGED_FILES})
                OR (q.stage <> 'read'
                    AND (q.source, {key_sql("q.source_record_id")}) IN (FROM {CHANGED_KEYS})))"""


def forget_changes(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the temp tables of :func:`mark_changes`."""
    for table in (CHANGED_FILES, CHANGED_KEYS, _NOW):
        con.execute(f"DROP TABLE IF EXISTS {table}")

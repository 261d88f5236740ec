"""Activity staging: every order, interaction and open-invoice feed into ``staging.<kind>``,
with ``staging.<kind>_quarantine`` for the rows that cannot count.

Each feed's mapped columns are read the way customer staging reads them
(``sources.mapping.mapped_field_sql``: each column trimmed, several joined with a space),
so ``<customer_source>:<source_record_id>`` is the same record key the customer record
carries. Dates and amounts are parsed by the one grammar of ``sources.standardise``
(``parse_dates``, ``parse_amounts``), the grammar customer staging uses for
``created_at`` and ``credit_limit``: the distinct texts of all feeds of a kind are parsed
once in Python and joined back in DuckDB, so a million order lines with a few thousand
distinct dates cost a few thousand parses, not a million.

A row is quarantined, with a reason naming the feed, the file, the row and the field, when:

- its key (``order_id``, ``interaction_id``, ``invoice_id``) is empty;
- its key repeats an earlier row of the feed (earliest file and row first): the first is
  staged, the repeat names it (``'S1' repeats row 2 of orders.csv``, ``… exactly`` when the
  whole row is the same). A repeated order line no longer stops the sync: the share of
  rows quarantined is what the quality gate bounds (``quality.max_quarantined_share``);
- a required date or amount is empty or does not parse (an order needs a date and an
  amount, an open invoice a due date and an open amount);
- it names no customer record (``source_record_id`` empty).

Rows the reader could not split into fields (``raw.<feed>__rejected``) are quarantined
too, so for every feed: rows received = staged + quarantined. Whether the customer record
is a current customer is the marts' question (``warehouse.marts.activity``), not staging's.
"""

from __future__ import annotations

import logging

import duckdb
import pandas as pd

from sources.activity_schema import SQL_TYPES, ActivityKind
from sources.config import ActivityFeed
from sources.mapping import mapped_field_sql
from sources.standardise import parse_amounts, parse_dates
from warehouse.step_inputs import TableChanges
from warehouse.store import qualified, table_exists

log = logging.getLogger(__name__)


def _feed_sql(kind: ActivityKind, feed: ActivityFeed, where: str = "") -> str:
    """One feed's rows: lineage, the record key and the text of every field as mapped;
    ``where``: a condition on the raw rows (their own columns), applied before mapping."""
    mapped = feed.mapped_columns()
    texts = []
    for field, _ in kind.fields:
        text = mapped_field_sql(mapped[field]) if field in mapped else "NULL::VARCHAR"
        texts.append(f"{f'lower({text})' if field in kind.lowercase else text} AS {field}_text")
    srid = mapped_field_sql(mapped["source_record_id"])
    return f"""
        SELECT '{feed.name}' AS feed, '{feed.customer_source}' AS customer_source,
               source_file, source_row, record_hash, {srid} AS source_record_id,
               '{feed.customer_source}:' || {srid} AS record_key, {", ".join(texts)}
        FROM {qualified("raw", feed.name)} {f"WHERE {where}" if where else ""}"""


def _empty_sql(kind: ActivityKind) -> str:
    texts = ", ".join(f"NULL::VARCHAR AS {f}_text" for f, _ in kind.fields)
    return f"""SELECT NULL::VARCHAR AS feed, NULL::VARCHAR AS customer_source, NULL::VARCHAR AS source_file,
                      NULL::BIGINT AS source_row, NULL::VARCHAR AS record_hash, NULL::VARCHAR AS source_record_id,
                      NULL::VARCHAR AS record_key, {texts} WHERE false"""


def _lookup(con: duckdb.DuckDBPyConnection, name: str, fields: list[str], type_: str) -> None:
    """``__<name>(text, value)``: every distinct text of ``fields`` parsed once by the grammar."""
    if fields:
        union = " UNION ".join(f"SELECT {f}_text AS text FROM __activity_text" for f in fields)
        texts = con.sql(f"SELECT DISTINCT text FROM ({union}) WHERE text IS NOT NULL").df()["text"]
    else:
        texts = pd.Series([], dtype=object)
    parsed = parse_dates(texts) if type_ == "date" else parse_amounts(texts)
    frame = pd.DataFrame({"text": texts.astype(object), "value": parsed}).dropna()
    con.register("__parsed", frame)
    try:
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE __{name} AS
                SELECT text::VARCHAR AS text, TRY_CAST(value AS {SQL_TYPES[type_]}) AS value FROM __parsed"""
        )
    finally:
        con.unregister("__parsed")
    log.debug("%s: %d distinct texts, %d parsed", name, len(texts), len(frame))


def _value_sql(field: str, type_: str) -> str:
    if type_ in ("date", "amount"):
        return f"{field}_parsed.value"
    if type_ == "number":
        return f"TRY_CAST(replace({field}_text, ',', '') AS DOUBLE)"
    return f"{field}_text"


def _problems_sql(kind: ActivityKind) -> str:
    """Per row: a list of (field, problem) for everything that keeps it out of staging."""
    key = kind.id_field
    checks = [
        f"CASE WHEN {key} IS NULL THEN {{'field': '{key}', 'problem': 'is empty'}} END",
        f"""CASE WHEN first.row IS NOT NULL AND (first.file <> source_file OR first.row <> source_row)
            THEN {{'field': '{key}', 'problem': '''' || {key} || ''' repeats row ' || first.row || ' of '
                  || first.file || CASE WHEN first.hash = record_hash THEN ' exactly' ELSE '' END}} END""",
    ]
    for field, type_ in kind.fields:
        if field in kind.required:
            what = "a date" if type_ == "date" else "an amount"
            checks.append(
                f"""CASE WHEN {field} IS NULL THEN {{'field': '{field}', 'problem':
                    CASE WHEN {field}_text IS NULL THEN 'is empty'
                         ELSE '''' || {field}_text || ''' is not {what}' END}} END"""
            )
    checks.append(
        """CASE WHEN source_record_id IS NULL
           THEN {'field': 'source_record_id', 'problem': 'is empty: no customer record'} END"""
    )
    return "list_filter([" + ", ".join(checks) + "], lambda p: p IS NOT NULL)"


def _flags_sql(kind: ActivityKind) -> str:
    """Optional fields sent but unreadable, as ``<field>_unparseable`` codes."""
    optional = [f for f, t in kind.fields if t != "text" and f not in kind.required]
    if not optional:
        return "NULL::VARCHAR"
    codes = ", ".join(
        f"CASE WHEN {f} IS NULL AND {f}_text IS NOT NULL THEN '{f}_unparseable' END"
        for f in optional
    )
    return f"nullif(concat_ws(';', {codes}), '')"


def _rejected_sql(con: duckdb.DuckDBPyConnection, feeds: list[ActivityFeed]) -> str:
    """Rows the readers of ``feeds`` could not split into fields."""
    parts = [
        f"""SELECT '{f.name}' AS feed, '{f.customer_source}' AS customer_source, source_file,
                   source_row, reason, raw FROM {qualified("raw", f"{f.name}__rejected")}"""
        for f in feeds
        if table_exists(con, "raw", f"{f.name}__rejected")
    ]
    if parts:
        return " UNION ALL ".join(parts)
    return """SELECT NULL::VARCHAR AS feed, NULL::VARCHAR AS customer_source, NULL::VARCHAR AS source_file,
                     NULL::BIGINT AS source_row, NULL::VARCHAR AS reason, NULL::VARCHAR AS raw WHERE false"""


def stage_activity(
    con: duckdb.DuckDBPyConnection,
    kind: ActivityKind,
    feeds: list[ActivityFeed],
    incremental: bool = False,
    changes: TableChanges | None = None,
) -> pd.DataFrame:
    """Build ``staging.<kind>`` and ``staging.<kind>_quarantine`` from the raw tables of ``feeds``.

    Args:
        con: the warehouse; feeds configured but never ingested are skipped.
        kind: orders, interactions or receivables (``sources.activity_schema``).
        feeds: the deployment's feeds of that kind.
        incremental: the staged tables were built by the same config (``assets.step_work``):
            only the rows that are new or changed since then, and the other rows of their
            key, are staged again (``_restage``); every other staged row is kept as it is.
            The result holds the same rows as staging from scratch.
        changes: where the staged table's fingerprint is carried through an incremental
            staging's writes (``warehouse.step_inputs``; a staging from scratch is not).
    Returns:
        Per feed: ``feed``, ``staged``, ``quarantined``.
    """
    read = [f for f in feeds if table_exists(con, "raw", f.name)]
    parts = [_feed_sql(kind, f) for f in read]
    text_sql = " UNION ALL BY NAME ".join(parts) if parts else _empty_sql(kind)
    staged = qualified("staging", kind.table)
    if incremental and parts and _staged_before(con, kind):
        redo = _restage(con, kind, read)
        text_sql = " UNION ALL BY NAME ".join(
            _feed_sql(kind, f, _in_feed_rows(redo, f)) for f in read
        )
    else:
        redo = None
    con.execute(f"CREATE OR REPLACE TEMP TABLE __activity_text AS {text_sql}")
    for type_ in ("date", "amount"):
        _lookup(con, type_, [f for f, t in kind.fields if t == type_], type_)
    joins = " ".join(
        f"LEFT JOIN __{t} {f}_parsed ON {f}_parsed.text = a.{f}_text"
        for f, t in kind.fields
        if t in ("date", "amount")
    )
    values = ", ".join(f"{_value_sql(f, t)} AS {f}" for f, t in kind.fields)
    key = kind.id_field
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE __activity AS
        WITH parsed AS (SELECT a.*, {values} FROM __activity_text a {joins}),
        ranked AS (
            SELECT *, CASE WHEN {key} IS NOT NULL THEN first_value(
                       {{'file': source_file, 'row': source_row, 'hash': record_hash}})
                       OVER (PARTITION BY feed, {key} ORDER BY source_file, source_row) END AS first
            FROM parsed
        )
        SELECT *, {_problems_sql(kind)} AS problems FROM ranked
    """)
    texts = ", ".join(f"'{f}': {f}_text" for f, _ in kind.fields)
    raw_json = f"to_json({{'source_record_id': source_record_id, {texts}}})::VARCHAR"
    fields = ", ".join(f for f, _ in kind.fields)
    rows = f"""SELECT feed, customer_source, source_file, source_row, record_hash, source_record_id,
               record_key, {fields}, {_flags_sql(kind)} AS quality_flags, {raw_json} AS raw
        FROM __activity WHERE len(problems) = 0 ORDER BY feed, source_file, source_row"""
    changes = changes or TableChanges()
    if redo is None:
        con.execute(f"CREATE OR REPLACE TABLE {staged} AS {rows}")
        changes.rebuilt(staged)
    else:
        changes.execute(
            con,
            staged,
            f"""DELETE FROM {staged} s WHERE EXISTS (
                            SELECT 1 FROM __activity_keys k WHERE k.feed = s.feed AND k.key = s.{key})""",
        )
        changes.execute(con, staged, f"INSERT INTO {staged} {rows}")
    con.execute(f"""
        CREATE OR REPLACE TABLE {qualified("staging", kind.quarantine_table)} AS
        SELECT feed, customer_source, source_file, source_row, source_record_id, record_key, {key},
               nullif(array_to_string(list_filter([p.field FOR p IN problems], lambda f: f IS NOT NULL), ', '), '') AS field,
               feed || ': ' || source_file || ' row ' || source_row || ': '
                 || array_to_string([coalesce(p.field || ': ', '') || p.problem FOR p IN problems], '; ') AS reason,
               {raw_json} AS raw
        FROM __activity WHERE len(problems) > 0
        UNION ALL
        SELECT feed, customer_source, source_file, source_row, NULL, NULL, NULL, NULL,
               feed || ': ' || source_file || ' row ' || source_row || ': unreadable row (' || reason || ')', raw
        FROM ({_rejected_sql(con, feeds)})
        ORDER BY feed, source_file, source_row""")
    for temp in ("__activity", "__activity_text", "__date", "__amount", "__activity_rows",
                 "__activity_keys", "__activity_redo", "__activity_blocks"):  # fmt: skip
        con.execute(f"DROP TABLE IF EXISTS {temp}")
    return con.sql(f"""
        SELECT feed, count(*) FILTER (WHERE staged) AS staged, count(*) FILTER (WHERE NOT staged) AS quarantined
        FROM (SELECT feed, true AS staged FROM {staged}
              UNION ALL SELECT feed, false FROM {qualified("staging", kind.quarantine_table)})
        GROUP BY feed ORDER BY feed""").df()


#: Rows of a feed are compared with the rows staged from it in blocks of this many row
#: numbers of a file (``source_row // ROWS_PER_BLOCK``): a day that appends a few thousand
#: orders to a book of a million and a half changes its last block or two.
ROWS_PER_BLOCK = 2048


def _staged_before(con: duckdb.DuckDBPyConnection, kind: ActivityKind) -> bool:
    """Whether ``con`` holds a staging of ``kind`` (its rows and its quarantine) to restage."""
    return table_exists(con, "staging", kind.table) and table_exists(
        con, "staging", kind.quarantine_table
    )


def _in_feed_rows(rows: str, feed: ActivityFeed, where: str = "") -> str:
    """SQL condition on ``raw.<feed>`` rows: their place is among those of the temp table
    ``rows`` (``feed``, ``source_file``, ``source_row``) of ``feed`` (and ``where`` on them)."""
    also = f" AND {where}" if where else ""
    return f"""(source_file, source_row) IN (
                   SELECT source_file, source_row FROM {rows} WHERE feed = '{feed.name}'{also})"""


def _block_sums_sql(rows: str, feed: str) -> str:
    """Per file and block of row numbers of ``rows``: how many and a sum over their place
    and content hash (a block of the same rows, in the same places, has the same sums)."""
    return f"""SELECT {feed} AS feed, source_file, source_row // {ROWS_PER_BLOCK} AS block,
                      count(*) AS n, sum(hash(source_row, record_hash)::HUGEINT) AS content
               FROM {rows} GROUP BY ALL"""


def _changed_blocks(
    con: duckdb.DuckDBPyConnection, kind: ActivityKind, feeds: list[ActivityFeed]
) -> None:
    """Temp table ``__activity_blocks(feed, source_file, block)``: the blocks of row numbers
    whose raw rows are not the rows staged from them at the last staging.

    At the last staging every raw row was staged (``staging.<kind>`` keeps its place and
    content hash) or quarantined (``staging.<kind>_quarantine`` keeps its place); so a
    block whose raw rows, leaving out those in quarantined places, have the sums of its
    staged rows holds exactly the rows staged from it, in the same places. Comparing sums
    reads two narrow columns of each table: on the 100k demo's 167k dealer order lines
    0.01 s of CPU, where joining every raw row with the staged ones took 0.2 s."""
    staged = qualified("staging", kind.table)
    quarantined = qualified("staging", kind.quarantine_table)
    raw = " UNION ALL ".join(
        _block_sums_sql(
            f"""(SELECT source_file, source_row, record_hash FROM {qualified("raw", f.name)}
                 ANTI JOIN (SELECT source_file, source_row FROM {quarantined}
                            WHERE feed = '{f.name}') USING (source_file, source_row))""",
            f"'{f.name}'",
        )
        for f in feeds
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE __activity_blocks AS
            WITH now AS ({raw}), before AS ({_block_sums_sql(staged, "feed")})
            SELECT DISTINCT feed, source_file, block FROM (
                (FROM now EXCEPT FROM before) UNION ALL (FROM before EXCEPT FROM now))"""
    )


def _restage(con: duckdb.DuckDBPyConnection, kind: ActivityKind, feeds: list[ActivityFeed]) -> str:
    """Which feed rows to stage again, given the last staging: returns the temp table of
    their ``(feed, source_file, source_row)`` and leaves ``__activity_keys(feed, key)``, the
    keys whose staged rows are replaced.

    A row stays staged as it was when the same row (file, row number and content hash) was
    staged last time and no row of its key (``order_id`` …) came, went or changed: whether
    it is staged or a repeat depends on those rows only, its values on its own text only.
    Every other row is staged again: new and changed rows, rows that were quarantined
    (their reason may have changed), and every row of a key that gained or lost a row.

    Only the raw rows of the blocks that changed (:func:`_changed_blocks`) and those in
    quarantined places (never among the staged rows, so always staged again) are read and
    mapped; the rows of a changed key elsewhere are found by the key their staged row keeps
    (their raw row is the one staged).
    """
    staged = qualified("staging", kind.table)
    quarantined = qualified("staging", kind.quarantine_table)
    key = kind.id_field
    _changed_blocks(con, kind, feeds)
    in_changed = f"(feed, source_file, source_row // {ROWS_PER_BLOCK}) IN (FROM __activity_blocks)"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE __quarantined_places AS
            SELECT feed, source_file, source_row FROM {quarantined}"""
    )
    rows = " UNION ALL ".join(
        f"SELECT feed, source_file, source_row, record_hash, {key}_text AS key FROM ("
        + _feed_sql(
            kind,
            f,
            f"""((source_file, source_row // {ROWS_PER_BLOCK}) IN (
                     SELECT source_file, block FROM __activity_blocks WHERE feed = '{f.name}')
                 OR {_in_feed_rows("__quarantined_places", f)})""",
        )
        + ")"
        for f in feeds
    )
    # the raw rows read again: those of changed blocks and those in quarantined places
    con.execute(f"CREATE OR REPLACE TEMP TABLE __activity_rows AS {rows}")
    con.execute("DROP TABLE IF EXISTS __quarantined_places")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE __activity_keys AS
        WITH before AS (
            SELECT feed, source_file, source_row, record_hash, {key} AS key FROM {staged}
            WHERE {in_changed}),
        fresh AS (
            SELECT feed, key FROM __activity_rows
            ANTI JOIN before USING (feed, source_file, source_row, record_hash)),
        gone AS (
            SELECT feed, key FROM before
            ANTI JOIN __activity_rows USING (feed, source_file, source_row, record_hash))
        SELECT DISTINCT feed, key FROM (FROM fresh UNION ALL FROM gone)
        WHERE key IS NOT NULL""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE __activity_redo AS
        SELECT feed, source_file, source_row FROM __activity_rows r
        WHERE r.key IS NULL  -- never staged: quarantined again, with its reason
           OR (r.feed, r.key) IN (FROM __activity_keys)
        UNION ALL
        SELECT feed, source_file, source_row FROM {staged}
        WHERE (feed, {key}) IN (FROM __activity_keys) AND NOT {in_changed}""")
    log.info(
        "%s: %d block(s) changed, %d row(s) read again, %d to stage again, %d key(s) replaced",
        kind.table,
        con.execute("SELECT count(*) FROM __activity_blocks").fetchall()[0][0],
        con.execute("SELECT count(*) FROM __activity_rows").fetchall()[0][0],
        con.execute("SELECT count(*) FROM __activity_redo").fetchall()[0][0],
        con.execute("SELECT count(*) FROM __activity_keys").fetchall()[0][0],
    )
    return "__activity_redo"

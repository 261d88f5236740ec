"""The raw suite: each feed arrived whole, with its columns and a key that names one row.

For every raw table (``raw.<feed>``):

- ``required_columns_present`` (blocking): the lineage columns and every column the feed's
  mapping reads are in the table;
- ``<key>_unique`` (warns): the feed's key (``source_record_id`` of a customer export,
  ``order_id``, ``interaction_id``, ``invoice_id``) names one row, as staging reads it
  (trimmed, columns joined); it warns when more than ``quality.max_duplicate_key_share``
  of rows share their key. It does not block: staging keeps the first row of a key and
  quarantines the repeats, and the sync stops only when a feed's quarantined share passes
  ``quality.max_quarantined_share`` (``quality.reconciliation``);
- ``rows_vs_previous_run`` (blocking): the feed did not shrink by more than
  ``quality.max_row_drop_share`` since the last accepted run (``quality.history``): half a
  customer list missing is a broken export, not half the customers leaving.

:func:`check_raw_table` validates them on a sync. What GX would read of the table
(:func:`raw_frame`) is measured in DuckDB instead (:func:`raw_metrics`: column names, row
count, the keys that repeat and the first rows holding them), and GX's own expectations
judge those metrics (``quality.gx.validate_metrics``): the same outcomes, without every key
of a million-row feed going through pandas. The key check is still the costly one, and its
verdict depends only on the feed's files, its settings and the code; so a feed whose files
are all the bytes they were when its key was last checked (``raw.<feed>__files``) reports
that outcome again, and only the two checks that read column names and the row count are
validated. On a normal day that is every feed a delta does not touch (key accounts,
receivables: 6 of the 12 feeds of the demo, 18% of its raw rows).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from quality import memo
from quality.gx import EXAMPLES, Expect, Suite, validate_metrics
from quality.results import ERROR, WARN, CheckDef, CheckOutcome
from sources.config import (
    FileSpec,
    InteractionFeed,
    OrderFeed,
    QualityConfig,
    ReceivableFeed,
    SourceConfig,
)
from sources.mapping import mapped_field_sql
from sources.raw_files import files_table_name, with_file_place
from sources.schema import LINEAGE_COLUMNS
from warehouse.step_inputs import code_fingerprint, fingerprint
from warehouse.store import count_rows, qualified, quote, table_exists

REQUIRED_COLUMNS_CHECK = "required_columns_present"
ROWS_VS_PREVIOUS_RUN_CHECK = "rows_vs_previous_run"
#: The key field of each kind of feed.
KEY_FIELDS: dict[type, str] = {
    SourceConfig: "source_record_id",
    OrderFeed: "order_id",
    InteractionFeed: "interaction_id",
    ReceivableFeed: "invoice_id",
}


#: The one column of the raw frame whose values an expectation reads: the key as staged.
KEY_COLUMN = "record_key"
#: Columns whose values name the rows of the examples (``Suite.index_columns``).
ROW_COLUMNS = ("source_file", "source_row")


def key_field(feed: FileSpec) -> str | None:
    return next((f for kind, f in KEY_FIELDS.items() if isinstance(feed, kind)), None)


def key_check(feed: FileSpec) -> str | None:
    """The name of the feed's key check (``order_id_unique`` …); None for a feed without a key."""
    key = key_field(feed)
    return None if key is None else f"{key}_unique"


def raw_checks(feed: FileSpec) -> tuple[CheckDef, ...]:
    """The checks on ``raw.<feed>``, in the order they are shown."""
    checks = [
        CheckDef(
            REQUIRED_COLUMNS_CHECK,
            ERROR,
            "the lineage columns and every column the mapping reads are present",
        )
    ]
    key = key_field(feed)
    if key is not None:
        checks.append(
            CheckDef(
                f"{key}_unique",
                WARN,
                f"{key} names one row of the feed (repeats are quarantined in staging)",
            )
        )
    checks.append(
        CheckDef(
            ROWS_VS_PREVIOUS_RUN_CHECK,
            ERROR,
            "the feed did not shrink by more than max_row_drop_share since the last accepted run",
        )
    )
    return tuple(checks)


def minimum_rows(previous: int | None, max_drop_share: float) -> int:
    """Fewest rows this run may hold: the previous count less the tolerated drop."""
    return 0 if previous is None else math.ceil(previous * (1 - max_drop_share))


def raw_suite(feed: FileSpec, previous_rows: int | None, quality: QualityConfig) -> Suite:
    """The expectations on ``raw.<feed>`` given the feed's last accepted row count."""
    required = [*LINEAGE_COLUMNS, *feed.required_source_columns()]
    expectations = [
        Expect(
            REQUIRED_COLUMNS_CHECK,
            "ExpectTableColumnsToMatchSet",
            {"column_set": required, "exact_match": False},
            "required columns",
        )
    ]
    key = key_field(feed)
    if key is not None:
        columns = ", ".join(feed.mapped_columns()[key])
        expectations.append(
            Expect(
                f"{key}_unique",
                "ExpectColumnValuesToBeUnique",
                {"column": KEY_COLUMN, "mostly": 1 - quality.max_duplicate_key_share},
                f"rows whose {key} ({columns}) is on another row too",
            )
        )
    floor = minimum_rows(previous_rows, quality.max_row_drop_share)
    expectations.append(
        Expect(
            ROWS_VS_PREVIOUS_RUN_CHECK,
            "ExpectTableRowCountToBeBetween",
            {"min_value": floor},
            f"rows (last accepted run: {previous_rows if previous_rows is not None else 'none'})",
        )
    )
    return Suite(
        name=f"raw.{feed.name}",
        checks=raw_checks(feed),
        expectations=tuple(expectations),
        index_columns=ROW_COLUMNS,
        meta={"previous_rows": previous_rows, "minimum_rows": floor},
    )


def raw_frame(con: duckdb.DuckDBPyConnection, feed: FileSpec) -> pd.DataFrame:
    """What the raw suite means: GX validating this frame gives the outcomes
    :func:`check_raw_table` reports (it measures the same in DuckDB). Lineage, the mapped
    columns present, and the key as staged.

    ``record_key`` is ``<feed>:<key>`` with the key built the way staging builds it (each
    column trimmed, columns joined with a space, blank = missing). Only the values the
    suite reads are fetched: the key (``KEY_COLUMN``, the one column an expectation reads
    row by row) and the row names of the examples (``ROW_COLUMNS``). Every other column
    present is there by name only (all-null values): the required-columns expectation reads
    the names, the row-count expectation the number of rows. Reading every mapped column of
    the feed into pandas cost as much as validating it (1M-record demo, loaded machine:
    21.9 s for the twelve feeds' frames, 19.0 s for their validation). Strings stay in Arrow
    memory (``pd.ArrowDtype``), which keeps a large feed affordable.
    """
    present = _present_columns(con, feed)
    columns = _suite_columns(feed, present)
    record_key = _record_key_sql(feed, present)
    read = [c for c in columns if c in ROW_COLUMNS]
    wanted = f"{record_key} AS {KEY_COLUMN}{''.join(f', r.{quote(c)}' for c in read)}, r.source_row AS __row"
    values = con.sql(
        f"SELECT * EXCLUDE (__file, __row) FROM ({with_file_place(con, feed.name, wanted)}) "
        "ORDER BY __file, __row"
    ).to_arrow_table()
    rows = values.num_rows
    table = pa.table(
        {
            KEY_COLUMN: values[KEY_COLUMN],
            **{c: values[c] if c in read else pa.nulls(rows) for c in columns},
        }
    )
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def raw_metrics(
    con: duckdb.DuckDBPyConnection, feed: FileSpec, *, key_values: bool = True
) -> tuple[dict[str, Any], pd.DataFrame]:
    """What the raw suite's expectations read of ``raw.<feed>``, measured in DuckDB: the
    columns and rows of :func:`raw_frame`, and (with ``key_values``) the metrics of its key
    expectation with the first ``EXAMPLES`` rows whose key is on another row too, in the
    table's order (labelled by their place in it, named by ``ROW_COLUMNS``).

    Validating :func:`raw_frame` with GX's pandas engine read every key into pandas and
    hashed it there; counting the repeated keys in DuckDB gives the same numbers and rows
    (``tests/quality/test_table_suites.py`` compares both) at a fraction of the cost.
    """
    present = _present_columns(con, feed)
    columns = _suite_columns(feed, present)
    rows = count_rows(con, "raw", feed.name)
    metrics: dict[str, Any] = {"table.columns": [KEY_COLUMN, *columns], "table.row_count": rows}
    if not key_values:
        return metrics, pd.DataFrame()
    read = [c for c in columns if c in ROW_COLUMNS]
    table, key = f"raw.{quote(feed.name)}", _record_key_sql(feed, present)
    # grouped on the key without the feed's prefix (the same groups: the prefix is the same
    # on every row), which only the repeated keys get: building a prefixed string per row
    # was an eighth of the count (1.65M order rows: 0.36 s of CPU instead of 0.42 s)
    value = _key_value_sql(feed, present)
    repeated = (
        f"SELECT {_key_prefix(feed)} || k FROM (SELECT {value} AS k FROM {table}) "
        "GROUP BY k HAVING count(*) > 1"
    )
    nulls, unexpected = con.execute(
        f"""SELECT coalesce(sum(n) FILTER (WHERE k IS NULL), 0),
                   coalesce(sum(n) FILTER (WHERE k IS NOT NULL AND n > 1), 0)
            FROM (SELECT k, count(*) AS n FROM (SELECT {value} AS k FROM {table}) GROUP BY k)"""
    ).fetchall()[0]
    # a row's label is its place in the files' order (where a read of every file puts it)
    wanted = (
        f"{key} AS {KEY_COLUMN}{''.join(f', r.{quote(c)}' for c in read)}, r.source_row AS __row"
    )
    placed = with_file_place(con, feed.name, wanted)
    found = con.sql(  # no key repeats (the usual case): no row read, the columns only
        f"""SELECT * FROM ({placed}) WHERE {KEY_COLUMN} IN ({repeated})
            ORDER BY __file, __row LIMIT {EXAMPLES if unexpected else 0}"""
    ).to_arrow_table()
    at = list(zip(found["__file"].to_pylist(), found["__row"].to_pylist(), strict=True))
    before = ", ".join(
        f"count(*) FILTER (WHERE __file < {f} OR (__file = {f} AND __row < {r}))" for f, r in at
    )
    places = con.execute(f"SELECT {before} FROM ({placed})").fetchall()[0] if at else ()
    examples = found.drop_columns(["__file", "__row"]).to_pandas(types_mapper=pd.ArrowDtype)
    examples.index = pd.Index([int(p) for p in places], dtype="int64")
    first = [int(label) for label in examples.index]
    metrics.update(
        {
            "column_values.nonnull.unexpected_count": int(nulls),
            "column_values.unique.unexpected_count": int(unexpected),
            "column_values.unique.unexpected_values": list(examples[KEY_COLUMN]),
            "column_values.unique.unexpected_index_list": first,
        }
    )
    return metrics, examples


def check_raw_table(
    con: duckdb.DuckDBPyConnection,
    feed: FileSpec,
    previous_rows: int | None,
    quality: QualityConfig,
    run_id: str,
) -> tuple[list[CheckOutcome], int]:
    """The raw suite's outcomes on ``raw.<feed>`` (in :func:`raw_checks` order) and the rows
    it held. The key check's outcome is that of the last run that checked the same files
    with the same settings and code (it says which: ``evaluated_in_run``), when kept;
    else it is validated with the other checks and kept for the next run
    (``quality.check_memo``, under :func:`_key_memo_name`).

    The outcomes are those GX gives validating the whole suite on :func:`raw_frame`, from
    the metrics :func:`raw_metrics` measures in DuckDB (``quality.gx.validate_metrics``).
    """
    suite = raw_suite(feed, previous_rows, quality)
    check = key_check(feed)
    files = _files_key(con, feed, quality)
    kept = memo.recall(con, _key_memo_name(feed), files) if check and files else None
    if kept is None:
        metrics, examples = raw_metrics(con, feed)
        rows = metrics["table.row_count"]
        every = {p: metrics for p in range(len(suite.expectations))}
        outcomes = validate_metrics(suite, every, rows, examples)
        if check and files:
            memo.keep(con, _key_memo_name(feed), files, run_id, [_named(outcomes, check)])
        return outcomes, rows
    earlier, (unique,) = kept
    rest = replace(
        suite,
        checks=tuple(c for c in suite.checks if c.name != check),
        expectations=tuple(e for e in suite.expectations if e.check != check),
    )
    metrics, examples = raw_metrics(con, feed, key_values=False)
    rows = metrics["table.row_count"]
    validated = validate_metrics(
        rest, {p: metrics for p in range(len(rest.expectations))}, rows, examples
    )
    reused = replace(unique, metadata={**unique.metadata, "evaluated_in_run": earlier})
    by_name = {o.name: o for o in [*validated, reused]}
    return [by_name[c.name] for c in suite.checks], rows


def _present_columns(con: duckdb.DuckDBPyConnection, feed: FileSpec) -> set[str]:
    return {
        name
        for (name,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = ?",
            [feed.name],
        ).fetchall()
    }


def _suite_columns(feed: FileSpec, present: set[str]) -> list[str]:
    """The columns of the raw frame after the key: lineage and mapped ones, those present."""
    wanted = [*LINEAGE_COLUMNS, *feed.required_source_columns()]
    return [c for c in dict.fromkeys(wanted) if c in present]


def _record_key_sql(feed: FileSpec, present: set[str]) -> str:
    """``<feed>:<key>`` as staging builds it; NULL when the feed has no key or lacks a column."""
    return f"{_key_prefix(feed)} || {_key_value_sql(feed, present)}"


def _key_prefix(feed: FileSpec) -> str:
    """The text before every key of ``feed`` (SQL): ``'<feed>:'``."""
    return f"'{feed.name}:'"


def _key_value_sql(feed: FileSpec, present: set[str]) -> str:
    """The key after its prefix, as staging builds it (each column trimmed, columns joined);
    NULL when the feed has no key or lacks a column."""
    key = key_field(feed)
    key_columns = feed.mapped_columns()[key] if key is not None else []
    if key_columns and all(c in present for c in key_columns):
        return mapped_field_sql(key_columns)
    return "NULL::VARCHAR"


def _key_memo_name(feed: FileSpec) -> str:
    return f"raw.{feed.name}:{key_check(feed)}:files"


def _named(outcomes: list[CheckOutcome], name: str) -> CheckOutcome:
    return next(o for o in outcomes if o.name == name)


def _files_key(con: duckdb.DuckDBPyConnection, feed: FileSpec, quality: QualityConfig) -> str:
    """What the key check's verdict depends on: the feed's files as read (path, SHA-256 of
    the bytes, columns: ``raw.<feed>__files``), its settings, the quality thresholds and
    the code; '' when the feed has no such record (then the key is checked)."""
    files = files_table_name(feed.name)
    if not table_exists(con, "raw", files):
        return ""
    read = con.sql(
        f"SELECT source_file, fingerprint, columns, rows, rejected FROM {qualified('raw', files)} "
        "ORDER BY source_file"
    ).fetchall()
    if not read or any(not sha for _, sha, *_ in read):
        return ""
    return fingerprint(
        code_fingerprint(),
        feed.model_dump(mode="json"),
        quality.model_dump(mode="json"),
        [list(map(str, row)) for row in read],
    )

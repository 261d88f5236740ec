"""Suites validated where the table lies: GX judges each distinct value once, and its verdict
is kept for the next sync.

Validating a suite with GX's pandas engine reads every row of the table into pandas and
judges every row again at every sync: after a 1% delta at 1M records the check steps of the
staged suite (1.38M rows), the xref suite and the golden suites took 7.6 s, nearly what
they take on a full sync. But the row expectations of these suites (a value
matches a regex, is in a set, lies between bounds, is not null) judge each value on its
own: a value's verdict is the same on every row that holds it and in every sync while the
expectation is the same. So :func:`validate_in_warehouse`:

- builds the frame the suite reads in DuckDB, from its SQL (a temporary table, in the order
  the query gives it: a row's place is its label, as in a DataFrame read from the query);
- counts each checked column's distinct values there; the values no earlier validation
  judged under the same expectation (``quality.value_verdicts``, keyed by the expectation's
  kind and arguments, the column's type and GX's version) are read into pandas and judged
  by GX's own expectation, and their verdicts kept. After a day's delta that is the new
  phones, e-mail addresses and IDs; the 34 provinces and two entity types are judged once;
- sums in DuckDB what GX's expectation reads to decide (rows, missing values, unexpected
  values, the first ten unexpected rows in the frame's order) and lets that expectation
  decide (``quality.gx.validate_metrics``): its rule for ``mostly``, its percentages, its
  result, the examples named by the suite's index columns. The outcome is the one GX gives
  validating the whole frame (``tests/quality/test_kept_verdicts.py`` compares both);
- counts repeated values in DuckDB for a uniqueness expectation (a value on another row
  too: it depends on the other rows, so no verdict is kept), and reads the row count and
  the column names for the table expectations.

A suite holding any other expectation is validated whole, as before (``quality.gx.validate``).

Measured on tables ten times the 100k demo's (about the 1M demo's; CPU seconds, load
average 4-5), the verdicts kept: the staged suite 0.9-1.0 instead of 2.8-2.9, the xref suite
1.35 instead of 2.0, the lineage suite (4.3M golden values) 2.3 instead of 3.0. What is left
is mostly building the frame in DuckDB. A suite of a few values in small tables gains
nothing: the relationships suite (two columns of statuses) took 0.34 s here against 0.18 s
whole (wall, load average 5), and stays a whole validation.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from quality.gx import (
    EXAMPLES,
    Expect,
    Suite,
    build_suite,
    nanosecond_times,
    read_frame,
    validate,
    validate_metrics,
    whole_frames,
)
from quality.results import CheckOutcome
from warehouse.step_inputs import fingerprint
from warehouse.store import quote

TABLE = "quality.value_verdicts"
#: Expectations whose verdict on a row is a function of one column's value on that row.
VALUE_KINDS = {
    "ExpectColumnValuesToMatchRegex": "column_values.match_regex",
    "ExpectColumnValuesToBeInSet": "column_values.in_set",
    "ExpectColumnValuesToBeBetween": "column_values.between",
}
NOT_NULL = "ExpectColumnValuesToNotBeNull"
UNIQUE = "ExpectColumnValuesToBeUnique"
TABLE_KINDS = ("ExpectTableRowCountToBeBetween", "ExpectTableColumnsToMatchSet")
#: The frame of the suite being validated (temporary, on the step's connection).
FRAME = "__suite_frame"
#: Values of one column, with the rows holding each (temporary).
VALUES = "__suite_values"
_FLOATS = ("FLOAT", "DOUBLE", "REAL")


def supported(suite: Suite) -> bool:
    """Whether every expectation of ``suite`` can be judged here (else it is validated whole)."""
    return all(
        e.kind in TABLE_KINDS
        or (
            e.kind in (*VALUE_KINDS, NOT_NULL, UNIQUE)
            and isinstance(e.kwargs.get("column"), str)
            and not any(k.startswith(("column_", "row_condition")) for k in e.kwargs)
        )
        for e in suite.expectations
    )


def validate_in_warehouse(
    con: duckdb.DuckDBPyConnection, suite: Suite, sql: str
) -> list[CheckOutcome]:
    """The outcomes GX gives validating the frame ``sql`` selects against ``suite`` (one per
    ``suite.checks``), judging only the values not judged before and keeping their verdicts
    (``quality.value_verdicts``) for the next validation."""
    if not supported(suite):
        return validate(suite, read_frame(con, sql))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {FRAME} AS SELECT * FROM ({sql})")
    try:
        types = dict(
            con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {FRAME})").fetchall()
        )
        checked = list(
            dict.fromkeys(
                e.kwargs["column"] for e in suite.expectations if e.kind not in TABLE_KINDS
            )
        )
        if any(c not in types for c in checked):  # GX reports the missing column itself
            return validate(suite, read_frame(con, f"SELECT * FROM {FRAME} ORDER BY rowid"))
        # the rows and every checked column's missing values, in one pass over the frame
        counted = ", ".join(f"count(*) FILTER (WHERE {missing_sql(c, types[c])})" for c in checked)
        rows, *nulls = con.execute(
            f"SELECT count(*){', ' if counted else ''}{counted} FROM {FRAME}"
        ).fetchall()[0]
        missing = dict(zip(checked, nulls, strict=True))
        metrics: dict[int, dict[str, Any]] = {}
        for position, e in enumerate(suite.expectations):
            measured: dict[str, Any] = {"table.row_count": rows, "table.columns": list(types)}
            if e.kind not in TABLE_KINDS:
                column = e.kwargs["column"]
                measured.update(
                    _column_metrics(con, suite, position, types[column], missing[column])
                )
            metrics[position] = measured
        labels = sorted({label for m in metrics.values() for label in m.get("__labels", [])})
        examples = example_rows(con, labels)
        for m in metrics.values():
            for name in [n for n in m if n.endswith(".unexpected_index_list")]:
                column = m["__column"]
                m[name.replace("index_list", "values")] = [
                    examples.at[label, column] for label in m[name]
                ]
        return validate_metrics(suite, metrics, rows, examples)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {FRAME}")
        con.execute(f"DROP TABLE IF EXISTS {VALUES}")


def missing_sql(column: str, data_type: str) -> str:
    """Where pandas sees no value: NULL, and NaN in a floating column (``isnull``)."""
    name = quote(column)
    if data_type.upper().startswith(_FLOATS):
        return f"({name} IS NULL OR isnan({name}))"
    return f"({name} IS NULL)"


def _column_metrics(
    con: duckdb.DuckDBPyConnection,
    suite: Suite,
    position: int,
    data_type: str,
    nulls: int,
) -> dict[str, Any]:
    """What GX's expectation at ``position`` reads of the frame, but the example values
    (filled in from the example rows): missing (``nulls``, counted) and unexpected counts,
    the first unexpected rows' labels (``__labels``: the frame's row places)."""
    e = suite.expectations[position]
    column = e.kwargs["column"]
    name, missing = quote(column), missing_sql(column, data_type)
    if e.kind == NOT_NULL:
        metric, unexpected_rows = "column_values.nonnull", missing
        count = nulls
    else:
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {VALUES} AS
                SELECT {name} AS value, count(*) AS n FROM {FRAME}
                WHERE NOT {missing} GROUP BY {name}"""
        )
        if e.kind == UNIQUE:
            metric, bad = "column_values.unique", f"SELECT value FROM {VALUES} WHERE n > 1"
        else:
            metric = VALUE_KINDS[e.kind]
            bad = unexpected_values_sql(con, suite, position, data_type)
        (count,) = con.execute(
            f"SELECT coalesce(sum(n), 0) FROM {VALUES} WHERE value IN ({bad})"
        ).fetchall()[0]
        unexpected_rows = f"{name} IN ({bad})"
    first = (
        [
            int(label)
            for (label,) in con.execute(
                f"SELECT rowid FROM {FRAME} WHERE {unexpected_rows} ORDER BY rowid LIMIT {EXAMPLES}"
            ).fetchall()
        ]
        if count
        else []
    )
    return {
        "column_values.nonnull.unexpected_count": int(nulls),
        f"{metric}.unexpected_count": int(count),
        f"{metric}.unexpected_index_list": first,
        "__labels": first,
        "__column": column,
    }


def unexpected_values_sql(
    con: duckdb.DuckDBPyConnection, suite: Suite, position: int, data_type: str
) -> str:
    """SQL of the values of ``VALUES`` that GX's expectation at ``position`` finds unexpected:
    the verdicts kept for it, after judging (and keeping) those of the values it has none for."""
    e = suite.expectations[position]
    key = _expectation_key(e, data_type)
    slot = f"{suite.name}#{position}"
    _ensure(con)
    kept = f"SELECT value FROM {TABLE} WHERE expectation = '{key}'"
    new = con.sql(f"SELECT value FROM {VALUES} WHERE value::VARCHAR NOT IN ({kept})")
    if new.shape[0]:
        judged = _judge(con, suite, position, new)
        # the verdicts of this place of the suite under other arguments (yesterday's
        # date horizon) are not read again
        con.execute(f"DELETE FROM {TABLE} WHERE slot = ? AND expectation <> ?", [slot, key])
        con.register("__suite_judged", judged)
        try:
            con.execute(
                f"INSERT INTO {TABLE} SELECT ?, ?, value, unexpected FROM __suite_judged",
                [slot, key],
            )
        finally:
            con.unregister("__suite_judged")
        _prune(con, key)
    return (
        f"SELECT value FROM {VALUES} WHERE value::VARCHAR IN ("
        f"SELECT value FROM {TABLE} WHERE expectation = '{key}' AND unexpected)"
    )


def _judge(
    con: duckdb.DuckDBPyConnection, suite: Suite, position: int, new: duckdb.DuckDBPyRelation
) -> pa.Table:
    """GX's verdict on each value of ``new`` (one column ``value``), read as a validation of
    the whole frame reads it: ``value`` (as text, the key it is kept under), ``unexpected``."""
    column = suite.expectations[position].kwargs["column"]
    values = new.to_arrow_table()
    con.register("__suite_new", values)
    try:
        frame = read_frame(con, f"SELECT value AS {quote(column)} FROM __suite_new")
        texts = con.sql("SELECT value::VARCHAR AS value FROM __suite_new").to_arrow_table()
    finally:
        con.unregister("__suite_new")
    frame = nanosecond_times(frame)
    batch = whole_frames().get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(
        build_suite(suite, [position]), result_format={"result_format": "COMPLETE"}
    ).to_json_dict()["results"][0]
    if (result.get("exception_info") or {}).get("raised_exception"):
        raise RuntimeError(
            f"{suite.name}: {suite.expectations[position].kind} on {column} raised "
            f"{result['exception_info'].get('exception_message')}"
        )
    unexpected = set(result["result"].get("unexpected_index_list") or [])
    flags = pa.array([label in unexpected for label in range(len(frame))], pa.bool_())
    return pa.table({"value": texts["value"], "unexpected": flags})


def _expectation_key(e: Expect, data_type: str) -> str:
    """What a value's verdict depends on besides the value: the expectation's kind and its
    arguments (``mostly`` aside: it weighs the verdicts, it does not make them), the
    column's type and GX's version."""
    kwargs: Mapping[str, Any] = {k: v for k, v in e.kwargs.items() if k != "mostly"}
    return fingerprint(
        e.kind, dict(kwargs), data_type, importlib.metadata.version("great_expectations")
    )


def _prune(con: duckdb.DuckDBPyConnection, key: str) -> None:
    """Forget the verdicts on values the frame no longer holds once they are as many as
    those it holds (a value that comes back is judged again)."""
    kept, present = con.execute(
        f"SELECT (SELECT count(*) FROM {TABLE} WHERE expectation = ?), "
        f"(SELECT count(*) FROM {VALUES})",
        [key],
    ).fetchall()[0]
    if kept > 2 * present + 1000:
        con.execute(
            f"""DELETE FROM {TABLE} WHERE expectation = ?
                AND value NOT IN (SELECT value::VARCHAR FROM {VALUES})""",
            [key],
        )


def example_rows(
    con: duckdb.DuckDBPyConnection,
    labels: list[int],
    rows: str | None = None,
) -> pd.DataFrame:
    """The frame's rows at ``labels`` (every column, as a validation of the whole frame
    reads them), indexed by their labels; ``rows``: a table of the frame's rows (or some
    of them) with each row's label (``__label``, its place in the frame) first, when the
    frame is not ``FRAME`` labelled by its ``rowid``."""
    wanted = ", ".join(str(label) for label in labels) or "NULL"
    frame = read_frame(
        con,
        f"SELECT rowid AS __label, * FROM {FRAME} WHERE rowid IN ({wanted}) ORDER BY rowid"
        if rows is None
        else f"SELECT * FROM {rows} WHERE __label IN ({wanted}) ORDER BY __label",
    )
    frame = nanosecond_times(frame)
    return frame.set_index(pd.Index(frame["__label"].astype("int64").tolist(), dtype="int64")).drop(
        columns="__label"
    )


def _ensure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS quality")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {TABLE} (
                slot VARCHAR, expectation VARCHAR, value VARCHAR, unexpected BOOLEAN)"""
    )

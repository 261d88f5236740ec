"""Suites whose frame is made of partitions (each customer's rows), validated on the partitions
whose inputs changed since the last validation, with the other partitions' counts kept.

A row of the lineage suite's frame (a golden value with its lineage) reads nothing but its
customer's golden record, lineage rows and current xref rows. So the frame is the union of
one partition per customer, each a function of that customer's input rows, and a sync that
changed 1% of the customers changed (at most) their partitions. :func:`validate_partitioned`
keeps, per partition:

- a digest of the input rows its frame rows read (``quality.<name>__digests``: counts and
  sums of row hashes, per input table), taken of the tables now at every validation: a
  partition whose digest moved, or that came or went, is built again; no writer is trusted
  to say what it changed;
- its frame rows grouped by the values of the suite's checked columns, with their number
  (``quality.<name>__groups``): what the expectations count.

The metrics GX's expectations read are summed from the kept groups: the rows, each checked
column's missing values, each distinct value's rows (judged by GX once, its verdict kept:
``quality.kept_verdicts``). Where a value is unexpected, the first ``EXAMPLES`` unexpected
rows in the frame's order are found by building again the partitions holding one (the
frame is ordered by its partition key first, so a row's place is the rows of the partitions
before it plus its place in its own), and GX's expectations decide
(``quality.gx.validate_metrics``): the outcome, counts and examples of a whole validation of
the frame (``tests/quality/test_partitioned_frames.py`` compares both after changes).

Uniqueness is not a partition's business (a value may repeat in another one): a suite with a
uniqueness expectation, or any other kind than :data:`PARTITIONED_KINDS`, is validated in the
warehouse whole (``quality.kept_verdicts.validate_in_warehouse``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb

from quality.gx import EXAMPLES, Suite, validate_metrics
from quality.kept_verdicts import (
    NOT_NULL,
    TABLE_KINDS,
    VALUE_KINDS,
    VALUES,
    example_rows,
    missing_sql,
    unexpected_values_sql,
    validate_in_warehouse,
)
from quality.results import CheckOutcome
from warehouse.step_inputs import code_fingerprint, fingerprint
from warehouse.store import quote, table_exists

#: The settings each kept state was built under (``name``, ``key``).
STATES = "quality.partitioned_frames"
#: Expectations judged from the kept counts (the table ones read the row count only).
PARTITIONED_KINDS = (*VALUE_KINDS, NOT_NULL, *TABLE_KINDS)
#: Partitions to build again in this validation (temporary: ``__key``).
CHANGED = "__partitions_changed"
#: The frame rows of the partitions holding an unexpected value, labelled (temporary).
SUSPECT = "__partitions_suspect"
#: Prefix of the temporary tables of each expectation's unexpected values.
BAD = "__partitions_bad_"


@dataclass(frozen=True)
class PartitionedFrame:
    """A suite's frame as partitions of one key.

    Attributes:
        name: the kept state's name (``quality.<name>__digests``, ``quality.<name>__groups``).
        rows: ``rows(con, partitions, ordered)``: the frame's SQL, each row with its
            partition key first (``__key``), ordered by that key first (in no particular
            order unless ``ordered``); of the partitions in the relation ``partitions`` (a
            ``customer_id`` column) and the rows without a key only, when given. Without
            ``__key``, the frame a whole validation reads.
        digests: ``digests(con)``: SQL of one row per partition key (``__key``) with a
            ``digest`` of every input row its frame rows read (a key without inputs: none).
    """

    name: str
    rows: Callable[[duckdb.DuckDBPyConnection, str | None, bool], str]
    digests: Callable[[duckdb.DuckDBPyConnection], str]


def supported(suite: Suite) -> bool:
    """Whether every expectation of ``suite`` can be judged from per-partition counts."""
    return all(
        e.kind in TABLE_KINDS
        or (
            e.kind in PARTITIONED_KINDS
            and isinstance(e.kwargs.get("column"), str)
            and not any(k.startswith(("column_", "row_condition")) for k in e.kwargs)
        )
        for e in suite.expectations
    )


def kept_tables(frame: PartitionedFrame) -> tuple[str, str]:
    """The tables keeping ``frame``'s state between syncs: its counts per partition and value
    (``quality.<name>__groups``) and its partitions' digests (``quality.<name>__digests``)."""
    return f"quality.{frame.name}__groups", f"quality.{frame.name}__digests"


def validate_partitioned(
    con: duckdb.DuckDBPyConnection, suite: Suite, frame: PartitionedFrame
) -> list[CheckOutcome]:
    """The outcomes GX gives validating the whole frame of ``frame`` against ``suite`` (one per
    ``suite.checks``), with only the partitions whose inputs changed built again."""
    whole = f"SELECT * EXCLUDE (__key) FROM ({frame.rows(con, None, True)})"
    if not supported(suite):
        return validate_in_warehouse(con, suite, whole)
    groups, digests = kept_tables(frame)
    try:
        checked = _update_groups(con, suite, frame, groups, digests)
        if checked is None:  # a checked column the frame lacks: GX reports it
            return validate_in_warehouse(con, suite, whole)
        return _validate_groups(con, suite, frame, groups, checked)
    finally:
        temporary = [CHANGED, SUSPECT, f"{SUSPECT}_keys", f"{SUSPECT}_rows", VALUES]
        for name in [*temporary, *(f"{BAD}{p}" for p in range(len(suite.expectations)))]:
            con.execute(f"DROP TABLE IF EXISTS {name}")


def _update_groups(
    con: duckdb.DuckDBPyConnection,
    suite: Suite,
    frame: PartitionedFrame,
    groups: str,
    digests: str,
) -> dict[str, str] | None:
    """Bring the kept groups and digests to the tables now; the checked columns and their
    types (None when the frame lacks one)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS quality")
    con.execute(f"CREATE TABLE IF NOT EXISTS {STATES} (name VARCHAR, settings VARCHAR)")
    described = con.execute(f"FROM ({frame.rows(con, None, False)}) LIMIT 0").description
    types = {str(c[0]): str(c[1]) for c in described}
    wanted = list(
        dict.fromkeys(e.kwargs["column"] for e in suite.expectations if e.kind not in TABLE_KINDS)
    )
    if any(c not in types for c in wanted):
        return None
    checked = {c: types[c] for c in wanted}
    columns = ", ".join(quote(c) for c in checked)
    grouped = "__key, " + (f"{columns}, " if columns else "")
    settings = fingerprint(
        code_fingerprint(), frame.rows(con, None, True), frame.digests(con), list(checked.items())
    )
    kept = con.execute(f"SELECT settings FROM {STATES} WHERE name = ?", [frame.name]).fetchall()
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE __partitions_now AS "
        f"SELECT * FROM ({frame.digests(con)}) WHERE __key IS NOT NULL"
    )
    try:
        if kept != [(settings,)] or not (
            table_exists(con, *groups.split(".")) and table_exists(con, *digests.split("."))
        ):
            con.execute(f"DELETE FROM {STATES} WHERE name = ?", [frame.name])
            con.execute(
                f"CREATE OR REPLACE TABLE {groups} AS SELECT {grouped}count(*) AS n "
                f"FROM ({frame.rows(con, None, False)}) GROUP BY ALL"
            )
            con.execute(f"CREATE OR REPLACE TABLE {digests} AS FROM __partitions_now")
            con.execute(f"INSERT INTO {STATES} VALUES (?, ?)", [frame.name, settings])
            return checked
        # a partition whose inputs changed, came or went (and the rows without a key,
        # always built again: none in a sound table)
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {CHANGED} AS
                SELECT coalesce(n.__key, k.__key) AS customer_id
                FROM __partitions_now n FULL JOIN {digests} k USING (__key)
                WHERE n.digest IS DISTINCT FROM k.digest"""
        )
        con.execute(
            f"DELETE FROM {groups} WHERE __key IS NULL "
            f"OR __key IN (SELECT customer_id FROM {CHANGED})"
        )
        con.execute(
            f"INSERT INTO {groups} SELECT {grouped}count(*) AS n "
            f"FROM ({frame.rows(con, CHANGED, False)}) GROUP BY ALL"
        )
        con.execute(f"DELETE FROM {digests} WHERE __key IN (SELECT customer_id FROM {CHANGED})")
        con.execute(
            f"INSERT INTO {digests} SELECT * FROM __partitions_now "
            f"WHERE __key IN (SELECT customer_id FROM {CHANGED})"
        )
        return checked
    finally:
        con.execute("DROP TABLE IF EXISTS __partitions_now")


def _validate_groups(
    con: duckdb.DuckDBPyConnection,
    suite: Suite,
    frame: PartitionedFrame,
    groups: str,
    checked: dict[str, str],
) -> list[CheckOutcome]:
    """The outcomes, from the kept groups' counts (and the partitions holding an unexpected
    value, built again for the examples)."""
    counted = "".join(
        f", coalesce(sum(n) FILTER (WHERE {missing_sql(c, t)}), 0)" for c, t in checked.items()
    )
    rows, *nulls = con.execute(f"SELECT coalesce(sum(n), 0){counted} FROM {groups}").fetchall()[0]
    rows = int(rows)
    missing = {c: int(n) for c, n in zip(checked, nulls, strict=True)}
    columns = [
        str(c[0]) for c in con.execute(f"FROM ({frame.rows(con, None, False)}) LIMIT 0").description
    ]
    columns = [c for c in columns if c != "__key"]
    metrics: dict[int, dict[str, Any]] = {}
    #: per position: SQL of whether a frame row holds a value it finds unexpected
    unexpected: dict[int, str] = {}
    for position, e in enumerate(suite.expectations):
        measured: dict[str, Any] = {"table.row_count": rows, "table.columns": columns}
        if e.kind not in TABLE_KINDS:
            column = e.kwargs["column"]
            count, where = _unexpected(con, suite, position, groups, checked[column])
            metric = "column_values.nonnull" if e.kind == NOT_NULL else VALUE_KINDS[e.kind]
            measured.update(
                {
                    "column_values.nonnull.unexpected_count": missing[column],
                    f"{metric}.unexpected_count": count,
                    f"{metric}.unexpected_index_list": [],
                    f"{metric}.unexpected_values": [],
                }
            )
            if count:
                unexpected[position] = where
        metrics[position] = measured
    if not unexpected:  # no example rows: the frame's columns (GX names them in every result)
        empty = f"SELECT 0 AS __label, * EXCLUDE (__key) FROM ({frame.rows(con, None, False)})"
        return validate_metrics(suite, metrics, rows, example_rows(con, [], f"({empty} LIMIT 0)"))
    firsts = _first_unexpected(con, frame, groups, unexpected)
    labels = sorted({label for found in firsts.values() for label in found})
    examples = example_rows(con, labels, SUSPECT)
    for position, found in firsts.items():
        e = suite.expectations[position]
        metric = "column_values.nonnull" if e.kind == NOT_NULL else VALUE_KINDS[e.kind]
        metrics[position][f"{metric}.unexpected_index_list"] = found
        metrics[position][f"{metric}.unexpected_values"] = [
            examples.at[label, e.kwargs["column"]] for label in found
        ]
    return validate_metrics(suite, metrics, rows, examples)


def _unexpected(
    con: duckdb.DuckDBPyConnection, suite: Suite, position: int, groups: str, data_type: str
) -> tuple[int, str]:
    """The rows the expectation at ``position`` finds unexpected (from the kept groups), and
    SQL of whether a frame row is one of them (the unexpected values are kept in a
    temporary table of their own, ``__partitions_bad_<position>``)."""
    e = suite.expectations[position]
    column = e.kwargs["column"]
    name, missing = quote(column), missing_sql(column, data_type)
    if e.kind == NOT_NULL:
        (count,) = con.execute(
            f"SELECT coalesce(sum(n), 0) FROM {groups} WHERE {missing}"
        ).fetchall()[0]
        return int(count), missing
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {VALUES} AS
            SELECT {name} AS value, sum(n) AS n FROM {groups} WHERE NOT {missing} GROUP BY {name}"""
    )
    bad = unexpected_values_sql(con, suite, position, data_type)
    values = f"{BAD}{position}"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {values} AS SELECT value FROM ({bad})")
    (count,) = con.execute(
        f"SELECT coalesce(sum(n), 0) FROM {VALUES} WHERE value IN (FROM {values})"
    ).fetchall()[0]
    return int(count), f"{name} IN (FROM {values})"


def _first_unexpected(
    con: duckdb.DuckDBPyConnection,
    frame: PartitionedFrame,
    groups: str,
    unexpected: dict[int, str],
) -> dict[int, list[int]]:
    """Per position, the labels (places in the whole frame) of its first ``EXAMPLES``
    unexpected rows, from the first partitions holding one, built again into ``SUSPECT``."""
    # the first EXAMPLES unexpected rows of a position lie in its first EXAMPLES partitions
    # holding one (keys in the frame's order: rows without a key last)
    firsts = " UNION ".join(
        f"(SELECT DISTINCT __key FROM {groups} WHERE {where} "
        f"ORDER BY __key NULLS LAST LIMIT {EXAMPLES})"
        for where in unexpected.values()
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {SUSPECT}_keys AS SELECT __key AS customer_id FROM ({firsts})"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {SUSPECT}_rows AS "
        f"FROM ({frame.rows(con, f'{SUSPECT}_keys', True)})"
    )
    # a row's place: the rows of the partitions before its own, then its place in its own
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {SUSPECT} AS
            WITH before AS (
                SELECT k.__key, (SELECT coalesce(sum(g.n), 0) FROM {groups} g
                                 WHERE g.__key < k.__key) AS n
                FROM (SELECT DISTINCT __key FROM {SUSPECT}_rows WHERE __key IS NOT NULL) k
                UNION ALL
                SELECT NULL, (SELECT coalesce(sum(n), 0) FROM {groups} WHERE __key IS NOT NULL)
            )
            SELECT b.n + row_number() OVER (PARTITION BY r.__key ORDER BY r.__at) - 1
                       AS __label, r.* EXCLUDE (__at, __key)
            FROM (SELECT rowid AS __at, * FROM {SUSPECT}_rows) r
            JOIN before b ON b.__key IS NOT DISTINCT FROM r.__key
            ORDER BY __label"""
    )
    return {
        position: [
            int(label)
            for (label,) in con.execute(
                f"SELECT __label FROM {SUSPECT} WHERE {where} ORDER BY __label LIMIT {EXAMPLES}"
            ).fetchall()
        ]
        for position, where in unexpected.items()
    }

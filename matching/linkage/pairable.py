"""Which records can pair with the records an incremental sync scores again.

A pair is scored only if one of the model's prediction blocking rules brings its two
records together, and every rule of our models requires equal blocking values
(``l.name_block = r.name_block``, beside constants such as ``l.entity_type = 'company'``).
A record that shares no blocking value with any flagged record (new, changed, or a newly
mentioned name) can only pair with unflagged records, a pair an incremental sync keeps
and does not score again. So the prediction needs only the flagged records and those
sharing one of their blocking values: on a 1% day at 100k records (828 records new or
changed) that is 4,465 of the 137,801 prepared records (1,307 companies, 3,158 persons),
and the step took 11.9-14.4 s instead of 20.8-22.8 s (load average 16-17), with the same
pairs, scores and row order.

The pairs found among those records are exactly the flagged pairs a prediction over all
records finds, scored the same, provided the term frequencies are still counted over all
records (``prediction.predict_pairs(term_frequencies=...)``): each rule keeps its own
keys, so a pair is attributed to the same rule. A model with a rule that is not such an
equality (an ``or``, a fuzzy condition) gives None here, and the caller reads every record.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matching.linkage.features import PREPARED_SCHEMA, PreparedRecords
from matching.linkage.junk import SUPPRESSED_COLUMNS
from matching.linkage.prepared_store import PREPARED_RECORDS, SUPPRESSED_VALUES, load_prepared
from warehouse.store import quote, table_exists

#: An equality of a blocking rule: ``l.name_block = r.name_block``.
_EQUALITY = re.compile(r"\bl\.(\w+)\s*=\s*r\.(\w+)\b")


def blocking_equalities(model: dict[str, Any]) -> list[list[tuple[str, str]]] | None:
    """Per prediction blocking rule, the column equalities it requires (``l.a = r.b``:
    ``(a, b)``); None when a rule requires none or may hold without them (an ``or``)."""
    rules = []
    for rule in model["blocking_rules_to_generate_predictions"]:
        sql = rule["blocking_rule"] if isinstance(rule, dict) else rule
        equalities = _EQUALITY.findall(sql)
        if not equalities or re.search(r"\bor\b", sql, re.IGNORECASE):
            return None
        rules.append(equalities)
    return rules


def blocking_sides(model: dict[str, Any], columns: set[str]) -> set[tuple[str, str]] | None:
    """``(flagged column, other column)`` pairs: a record can pair with a flagged record
    only if its value in ``other column`` equals the flagged record's in ``flagged column``
    for one of them (both directions of every equality of every rule). None when a rule is
    not made of equalities or names a column not in ``columns``: every record can pair."""
    rules = blocking_equalities(model)
    if rules is None or any(c not in columns for rule in rules for pair in rule for c in pair):
        return None
    return {
        side for rule in rules for left, right in rule for side in ((left, right), (right, left))
    }


def term_frequency_columns(model: dict[str, Any]) -> list[str]:
    """The columns whose term frequencies the model's comparisons adjust by, in order."""
    found = (
        level.get("tf_adjustment_column")
        for comparison in model["comparisons"]
        for level in comparison["comparison_levels"]
    )
    return list(dict.fromkeys(c for c in found if c))


def sharing_blocking_values(
    prepared: pa.Table, model: dict[str, Any], flagged: pa.Table, keep: pa.ChunkedArray
) -> pa.Table:
    """The rows of ``prepared`` where ``keep`` is true or that share a blocking value with a
    row of ``flagged`` (:func:`blocking_sides`); every row when the model's rules are not
    equalities of columns ``prepared`` has, or of text or integer values."""
    sides = blocking_sides(model, set(prepared.column_names))
    if sides is None:
        return prepared
    for mine, theirs in sides:
        values = pc.drop_null(pc.unique(flagged.column(mine)))
        if not (pa.types.is_string(values.type) or pa.types.is_integer(values.type)):
            return prepared
        if len(values):
            keep = pc.or_(keep, pc.fill_null(pc.is_in(prepared.column(theirs), values), False))
    return prepared.filter(keep)


@dataclass(frozen=True)
class PairableRecords:
    """What an incremental prediction of one entity type reads: the flagged records and
    those that can pair with them, and the records the term frequencies are counted over
    (only the model's term-frequency columns; None: ``records`` themselves)."""

    records: PreparedRecords
    term_frequencies: pa.Table | None


def load_pairable(
    con: duckdb.DuckDBPyConnection,
    entity_type: str,
    model: dict[str, Any],
    flagged: Collection[str],
) -> PairableRecords:
    """The prepared records of ``entity_type`` (``matching.prepared_records``) that are
    ``flagged`` or share a blocking value with one of them, chosen in SQL, so the other
    records are never read; with every record's term-frequency columns. A model whose
    rules are not equalities (:func:`blocking_sides`) reads every record."""
    columns = {d[0] for d in con.sql(f"SELECT * FROM {PREPARED_RECORDS} LIMIT 0").description}
    sides = blocking_sides(model, columns)
    if sides is None:
        everything = load_prepared(con, entity_type)
        if everything is None:
            raise RuntimeError(f"{con}: no {PREPARED_RECORDS}")
        return PairableRecords(everything, None)
    mine = f"FROM {PREPARED_RECORDS} WHERE entity_type = ?"
    shared = "".join(
        f" OR p.{quote(theirs)} IN (SELECT {quote(column)} FROM flagged)"
        for column, theirs in sorted(sides)
    )
    con.register("__flagged", pa.table({"record_key": pa.array(list(flagged), pa.string())}))
    try:
        table = con.sql(
            f"""WITH flagged AS MATERIALIZED
                (SELECT * {mine} AND record_key IN (SELECT record_key FROM __flagged))
                SELECT p.* FROM {PREPARED_RECORDS} p WHERE p.entity_type = ?
                AND (p.record_key IN (SELECT record_key FROM flagged){shared})""",
            params=[entity_type, entity_type],
        ).to_arrow_table()
    finally:
        con.unregister("__flagged")
    tf_columns = ", ".join(quote(c) for c in term_frequency_columns(model))
    counted = con.sql(
        f"SELECT {tf_columns or 'record_key'} {mine}", params=[entity_type]
    ).to_arrow_table()
    records = PreparedRecords(
        table.select(PREPARED_SCHEMA.names).cast(PREPARED_SCHEMA), _suppressed(con, entity_type)
    )
    return PairableRecords(records, counted)


def load_pairable_with(
    con: duckdb.DuckDBPyConnection,
    entity_type: str,
    model: dict[str, Any],
    among: Collection[str] | pd.Series | str,
    others: pa.Table,
    flagged: Collection[str],
    *,
    term_frequencies: bool = True,
) -> PairableRecords | None:
    """The prepared records of ``entity_type`` kept by the sync that are among the record
    keys ``among`` and can pair with a flagged row of ``others`` (prepared rows that are no
    records of the store: mentioned names), chosen in SQL, followed by every row of
    ``others``; with the term-frequency columns of every record ``among`` (False
    ``term_frequencies``: not read, the caller knows they play no part in a pair scored;
    ``PairableRecords.term_frequencies`` is then None). ``among``: the keys, or a table or
    query of ``con`` with a ``record_key`` column (the keys then never enter this process).

    A record is kept when it is ``flagged`` or shares a blocking value with a flagged row
    of ``others`` (:func:`blocking_sides`, as :func:`sharing_blocking_values` keeps it):
    only pairs holding a row of ``others`` are scored, so no other record can pair. At 1M
    source records a day's names share a blocking value with some 30,000 of the 800,000
    person records: the others are never read into this process. None when the model's
    rules are not equalities of text or integer columns: the caller reads every record.
    """
    if not table_exists(con, *PREPARED_RECORDS.split(".")):
        return None
    others = others.select(PREPARED_SCHEMA.names).cast(PREPARED_SCHEMA)
    sides = blocking_sides(model, set(PREPARED_SCHEMA.names))
    if sides is None or not all(
        pa.types.is_string(others.schema.field(mine).type)
        or pa.types.is_integer(others.schema.field(mine).type)
        for mine, _ in sides
    ):
        return None
    flagged_keys = pa.array(list(flagged), pa.string())
    is_flagged = pc.fill_null(pc.is_in(others.column("record_key"), flagged_keys), False)
    mine_columns = sorted({mine for mine, _ in sides})
    if isinstance(among, str):  # a table or query of ``con``: no key enters this process
        among_sql = among
    else:
        # a Series of keys as it is (a list of a million strings would cost 0.2 s to build)
        keys = among if isinstance(among, pd.Series) else list(among)
        con.register(
            "__among", pa.table({"record_key": pa.array(keys, pa.string(), from_pandas=True)})
        )
        among_sql = "__among"
    con.register("__flagged", pa.table({"record_key": flagged_keys}))
    con.register("__others", others.filter(is_flagged).select(mine_columns))
    shared = "".join(
        f" OR p.{quote(theirs)} IN (SELECT {quote(mine)} FROM __others"
        f" WHERE {quote(mine)} IS NOT NULL)"
        for mine, theirs in sorted(sides)
    )
    of_among = (
        f"FROM {PREPARED_RECORDS} p WHERE p.entity_type = ?"
        f" AND p.record_key IN (SELECT record_key FROM {among_sql})"
    )
    try:
        table = con.sql(
            f"""SELECT p.* {of_among}
                AND (p.record_key IN (SELECT record_key FROM __flagged){shared})""",
            params=[entity_type],
        ).to_arrow_table()
        counted = None
        if term_frequencies:
            tf_columns = ", ".join(f"p.{quote(c)}" for c in term_frequency_columns(model))
            counted = con.sql(
                f"SELECT {tf_columns or 'p.record_key'} {of_among}", params=[entity_type]
            ).to_arrow_table()
    finally:
        for name in ("__among", "__flagged", "__others"):
            con.unregister(name)
    table = table.select(PREPARED_SCHEMA.names).cast(PREPARED_SCHEMA)
    both = pa.concat_tables([table, others])
    return PairableRecords(PreparedRecords(both, _suppressed(con, entity_type)), counted)


def _suppressed(con: duckdb.DuckDBPyConnection, entity_type: str) -> pd.DataFrame:
    """The values the sync's preparation of ``entity_type`` suppressed."""
    return con.execute(
        f"SELECT {', '.join(map(quote, SUPPRESSED_COLUMNS))} FROM {SUPPRESSED_VALUES} "
        "WHERE entity_type = ?",
        [entity_type],
    ).df()

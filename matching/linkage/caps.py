"""Values shared by too many records, nulled over all records of an entity type at once.

A phone carried by more than ``JunkRules.max_records_per_value`` records (a dealer's
hotline typed into every customer) or a blocking key shared by more than
``max_block_size`` (a chain's name in one city) identifies nobody: it is nulled in the
matcher's copy and listed with its count. Whether a value is over the limit depends on
every record, so this is the one step of preparation that cannot be done a record at a
time. It runs here, in DuckDB SQL over the uncapped table (``prepared_table``), for a
whole sync's records in the warehouse and for records prepared in memory alike: one rule
for both. Done in SQL, an incremental sync that prepared 1% of the records again caps all
of them without moving a million rows of bigram lists through Python.

The same step lists every suppressed value (``SUPPRESSED_COLUMNS``): the shared ones with
their counts, and the placeholders each record's preparation dropped, counted over all
records.

Caps count per entity type: a company's phone shared with 30 persons is not a company's
shared phone. The further numbers of a record (``extra_numbers``) are capped on how often
they occur among further numbers, then joined with the record's capped phone and mobile,
service numbers left out, into ``phone_numbers``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import duckdb

from matching.linkage.junk import PLACEHOLDER, SHARED, JunkRules
from matching.linkage.prepared_table import (
    BLOCK_KEY_COLUMNS,
    IDENTIFIER_COLUMNS,
    PREPARED_COLUMNS,
    SERVICE_NUMBER,
)
from sources.schema import ENTITY_TYPES

#: Per-connection table of this preparation's values over their limit.
_OVER = "__values_over_limit"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(map(_literal, values)) + "]"


def _limits(rules: JunkRules) -> dict[str, int]:
    """Capped column → the most records one of its values may be shared by."""
    return {
        **dict.fromkeys(IDENTIFIER_COLUMNS.values(), rules.max_records_per_value),
        **dict.fromkeys(BLOCK_KEY_COLUMNS, rules.max_block_size),
    }


@dataclass(frozen=True)
class CappedQueries:
    """The queries over values counted by :func:`cap_shared_values`, valid on the connection
    that counted them until it counts again.

    Attributes:
        uncapped: the records counted over (``UNCAPPED_COLUMNS``).
        positions: record_key → ``position`` (staging order); None when ``uncapped`` has it.
        rules: the limits.
        columns: the prepared columns wanted, when not all of them (only their values were
            counted).
    """

    uncapped: str
    positions: str | None
    rules: JunkRules
    columns: tuple[str, ...] = PREPARED_COLUMNS

    def records(self, only: str | None = None) -> str:
        """The prepared records (``columns``, by default ``PREPARED_COLUMNS``), by entity type
        then position; ``only``: a query of the record keys wanted."""
        capped = {
            column: f'CASE WHEN "{column}_over".value IS NULL THEN u.{column} END'
            for column in _counted(self.rules, self.columns)
        }
        joins = "\n".join(
            f"""LEFT JOIN (SELECT entity_type, value FROM {_OVER} WHERE "column" = {_literal(c)})
                    "{c}_over" ON "{c}_over".entity_type = u.entity_type AND "{c}_over".value = u.{c}"""
            for c in capped
        )
        select = {
            column: capped.get(column, f"u.{column}")
            for column in self.columns
            if column not in ("phone_numbers", "phone_tail")
        }
        if "phone_tail" in self.columns:
            select["phone_tail"] = (
                f"CASE WHEN {capped['phone_block']} IS NOT NULL THEN u.phone_tail END"
            )
        if "phone_numbers" in self.columns:
            numbers = f"""list_filter(
                list_concat([{capped["phone_block"]}, {capped["mobile_block"]}],
                    coalesce(list_filter(u.extra_numbers,
                        lambda n: numbers_over.numbers IS NULL
                                  OR NOT list_contains(numbers_over.numbers, n)), [])),
                lambda n: NOT regexp_matches(n, {_literal(SERVICE_NUMBER)}))"""
            # each record's numbers distinct and sorted; none when it has none
            select["phone_numbers"] = f"nullif(list_sort(list_distinct({numbers})), [])"
        ordered = (
            f"JOIN {self.positions} positions ON positions.record_key = u.record_key"
            if self.positions
            else ""
        )
        position = "positions.position" if self.positions else "u.position"
        return f"""
            SELECT {", ".join(f"{select[c]} AS {c}" for c in self.columns)}
            FROM {self.uncapped} u
            {ordered}
            {joins}
            LEFT JOIN (SELECT entity_type, list(value) AS numbers FROM {_OVER}
                       WHERE "column" = 'phone_numbers' GROUP BY entity_type) numbers_over
                ON numbers_over.entity_type = u.entity_type
            {f"WHERE u.record_key IN ({only})" if only else ""}
            ORDER BY list_position({_list(ENTITY_TYPES)}, u.entity_type), {position}"""

    @property
    def suppressed(self) -> str:
        """The suppressed values: ``entity_type`` and ``SUPPRESSED_COLUMNS``, by entity
        type, column, reason, records (most first) and value."""
        return _suppressed_sql(self.uncapped)

    def crossing(self, before: str) -> str:
        """The record keys whose capped values may differ from when ``before`` (a query of
        ``entity_type``, ``column``, ``value`` over their limit then) was counted: those
        holding a value that went over its limit or came back under it."""
        changed = f"""(
            (SELECT entity_type, "column", value FROM {_OVER}
             EXCEPT SELECT entity_type, "column", value FROM ({before}))
            UNION ALL
            (SELECT entity_type, "column", value FROM ({before})
             EXCEPT SELECT entity_type, "column", value FROM {_OVER}))"""
        held = [
            f'SELECT record_key, entity_type, {_literal(c)} AS "column", {c} AS value '
            f"FROM {self.uncapped} WHERE {c} IS NOT NULL"
            for c in _counted(self.rules, self.columns)
        ]
        held.append(
            f"""SELECT record_key, entity_type, 'phone_numbers' AS "column", unnest(extra_numbers)
                AS value FROM {self.uncapped}"""
        )
        return f"""SELECT DISTINCT held.record_key FROM ({" UNION ALL ".join(held)}) held
                   SEMI JOIN {changed} c ON c.entity_type = held.entity_type
                   AND c."column" = held."column" AND c.value = held.value"""


def cap_shared_values(
    con: duckdb.DuckDBPyConnection,
    uncapped: str,
    rules: JunkRules,
    positions: str | None = None,
    columns: Collection[str] | None = None,
) -> CappedQueries:
    """Count, over all of ``uncapped``, the values shared by more records than ``rules``
    allow; return the queries that null them and report them.

    Args:
        con: the connection the queries run on (the counts are a temporary table of it).
        uncapped: a table, view or parenthesised query with ``UNCAPPED_COLUMNS`` (and a
            ``position``, the record's place in staging order, without ``positions``).
        rules: the limits.
        positions: a query of ``record_key`` and ``position`` when ``uncapped`` has none.
        columns: only these prepared columns are wanted: only the values they depend on
            are counted (``suppressed`` and ``crossing`` then know only those). A reader of
            a few columns of many records saves the counting of the others.
    """
    wanted = PREPARED_COLUMNS if columns is None else tuple(columns)
    over = [
        f"""SELECT entity_type, {_literal(column)} AS "column", {column} AS value,
                   count(*) AS records
            FROM {uncapped} WHERE {column} IS NOT NULL
            GROUP BY entity_type, {column} HAVING count(*) > {limit}"""
        for column, limit in _counted(rules, wanted).items()
    ]
    if "phone_numbers" in wanted:
        over.append(
            f"""SELECT entity_type, 'phone_numbers' AS "column", value, count(*) AS records
                FROM (SELECT entity_type, unnest(extra_numbers) AS value FROM {uncapped})
                GROUP BY entity_type, value HAVING count(*) > {rules.max_records_per_value}"""
        )
    if not over:
        over.append(
            """SELECT NULL::VARCHAR AS entity_type, NULL::VARCHAR AS "column",
                      NULL::VARCHAR AS value, 0::BIGINT AS records WHERE false"""
        )
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_OVER} AS " + " UNION ALL ".join(over))
    return CappedQueries(uncapped, positions, rules, wanted)


def _counted(rules: JunkRules, columns: tuple[str, ...]) -> dict[str, int]:
    """The capped columns the prepared ``columns`` depend on, and their limits
    (``phone_tail`` and ``phone_numbers`` on the capped phone and mobile)."""
    needs = set(columns)
    if "phone_tail" in needs:
        needs.add("phone_block")
    if "phone_numbers" in needs:
        needs |= {"phone_block", "mobile_block"}
    return {c: limit for c, limit in _limits(rules).items() if c in needs}


def _suppressed_sql(uncapped: str) -> str:
    placeholders = f"""
        SELECT entity_type, struct_extract(p, 'column') AS "column",
               struct_extract(p, 'value') AS value, count(*) AS records,
               {_literal(PLACEHOLDER)} AS reason
        FROM (SELECT entity_type, unnest(placeholders) AS p FROM {uncapped})
        GROUP BY ALL"""
    return f"""
        SELECT entity_type, "column", value, records, reason FROM (
            {placeholders}
            UNION ALL
            SELECT *, {_literal(SHARED)} AS reason FROM {_OVER})
        ORDER BY list_position({_list(ENTITY_TYPES)}, entity_type),
                 list_position({_list(PREPARED_COLUMNS)}, "column"), reason, records DESC, value"""

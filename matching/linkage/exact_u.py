"""u of the "same value" levels counted over every record, not sampled.

u is how often two unrelated records reach a level. Splink estimates it from random
pairs (about ten million among ~4,500 sampled records), comparison by comparison, and
keeps drawing chunks of pairs until every level of the comparison has been seen 100
times. A level such as "same company name core" is seen by about one random pair in
26,000, "same name but for look-alike characters" by one in ten million: they never reach
100, so the company name's bigram and Jaro-Winkler tests ran on all ten million pairs
(120 s of a 100k training on a loaded machine, for u values drawn from 0 to 400 pairs).

For a level that is an equality of one column, placed right after the comparison's null
level and behind nothing but other such equalities, u needs no sample: the share of
pairs agreeing on a value is the sum over values of (records with it choose 2), over
(records with the comparison's column set choose 2), and the pairs that reach the k-th
such level (agree on its column and on none of the columns before it) follow by
inclusion-exclusion over the columns before it. These u are exact over every record.
The sample then only has to tell apart the comparison's other levels: its null level is
widened to the pairs these equalities take, Splink counts the other levels among the
pairs left (where the fuzzy levels are common enough to stop after the first 1% of
pairs), and each such u is scaled by the share of non-null pairs the equalities leave
(P(level) = P(level | no equality) x P(no equality), the levels being tried in order).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import duckdb
import pyarrow as pa

_NULL_LEVEL = re.compile(r'^"(\w+)_l" IS NULL OR "\1_r" IS NULL$')
_WIDENED_NULL = re.compile(r'^\("(\w+)_l" IS NULL OR "\1_r" IS NULL\) OR ')
_EQUALITY = re.compile(r'^"(\w+)_l" = "\1_r"$')


@dataclass(frozen=True)
class EqualityLevels:
    """The leading "same value" levels of one comparison.

    Attributes:
        comparison: the comparison's output column name.
        null_column: the column whose null level opens the comparison.
        columns: the column each leading equality level compares, in level order.
        first: the position of the first of them among the comparison's levels.
    """

    comparison: str
    null_column: str
    columns: tuple[str, ...]
    first: int


def equality_levels(settings: dict[str, Any]) -> list[EqualityLevels]:
    """The comparisons of ``settings`` (Splink JSON) that open with a null level on one
    column followed by equality levels of single columns (u not fixed): those levels' u
    can be counted exactly. Other comparisons are left to sampling whole."""
    found = []
    for comparison in settings["comparisons"]:
        levels = comparison["comparison_levels"]
        opening = null_column(comparison)
        if opening is None:
            continue
        columns: list[str] = []
        for level in levels[1:]:
            equality = _EQUALITY.match(level["sql_condition"])
            if equality is None or level.get("fix_u_probability"):
                break
            columns.append(equality.group(1))
        if columns:
            found.append(
                EqualityLevels(comparison["output_column_name"], opening, tuple(columns), 1)
            )
    return found


def null_column(comparison: dict[str, Any]) -> str | None:
    """The column whose null level opens ``comparison`` (Splink JSON): a pair where either
    record lacks it reaches no other level. None when the comparison opens otherwise.
    A null level that :func:`sampling_form` widened still names its column first."""
    levels = comparison["comparison_levels"]
    if not levels or not levels[0].get("is_null_level"):
        return None
    condition = levels[0]["sql_condition"]
    opening = _NULL_LEVEL.match(condition) or _WIDENED_NULL.match(condition)
    return opening.group(1) if opening else None


def exact_u(records: pa.Table, equalities: list[EqualityLevels]) -> dict[str, list[float] | None]:
    """The u of each comparison's leading equality levels over every pair of ``records``
    with the comparison's column set. A level no pair reaches gets 0 (Splink's sampling
    would leave it unseen); a comparison whose column is set on fewer than two records
    gets None: no pair has anything to compare, so no level is ever reached (sampling
    ran its ten million null pairs to learn that: 17 s of a person model at 100k)."""
    con = duckdb.connect()
    try:
        con.register("records", records)
        return {eq.comparison: _level_shares(con, eq) for eq in equalities}
    finally:
        con.close()


def _level_shares(con: duckdb.DuckDBPyConnection, eq: EqualityLevels) -> list[float] | None:
    """The u of ``eq``'s levels, None when fewer than two records have its column set."""
    null_column = _quoted(eq.null_column)
    (present,) = con.execute(
        f"SELECT count(*) FROM records WHERE {null_column} IS NOT NULL"
    ).fetchall()[0]
    pairs = present * (present - 1) / 2
    if pairs == 0:
        return None

    def agreeing(columns: tuple[str, ...]) -> int:
        """Pairs (with the null column set) agreeing on every one of ``columns``."""
        keys = ", ".join(map(_quoted, columns))
        set_ = " AND ".join(f"{_quoted(c)} IS NOT NULL" for c in (eq.null_column, *columns))
        (count,) = con.execute(
            f"SELECT coalesce(sum(n * (n - 1) // 2), 0)::HUGEINT FROM "
            f"(SELECT count(*) AS n FROM records WHERE {set_} GROUP BY {keys})"
        ).fetchall()[0]
        return int(count)

    shares = []
    for k, column in enumerate(eq.columns):
        before = eq.columns[:k]
        reached = sum(
            (-1) ** size * agreeing((*subset, column))
            for size in range(len(before) + 1)
            for subset in combinations(before, size)
        )
        shares.append(reached / pairs)
    return shares


def sampling_form(
    settings: dict[str, Any], counted: dict[str, list[float] | None]
) -> dict[str, Any]:
    """A copy of ``settings`` for Splink's u sampling: in each comparison of ``counted``
    the leading equality levels are folded into its null level (their pairs are not
    counted), so that sampling stops once the other levels are seen often enough; a
    comparison whose equalities leave only its last level ("all other values"), or with
    nothing to compare, is left out, nothing being left to sample. May hold no
    comparison at all."""
    form = copy.deepcopy(settings)
    sampled = []
    for comparison in form["comparisons"]:
        name = comparison["output_column_name"]
        if name not in counted:
            sampled.append(comparison)
            continue
        u = counted[name]
        if u is None:
            continue
        levels = comparison["comparison_levels"]
        if len(levels) - 1 - len(u) < 2:
            continue  # only "all other values" is left: its u is what the equalities leave
        taken = levels[1 : 1 + len(u)]
        null = dict(levels[0])
        null["sql_condition"] = " OR ".join(
            f"({lv['sql_condition']})" for lv in [levels[0], *taken]
        )
        comparison["comparison_levels"] = [null, *levels[1 + len(u) :]]
        sampled.append(comparison)
    form["comparisons"] = sampled
    return form


def with_u(
    model: dict[str, Any], sampled: dict[str, Any], counted: dict[str, list[float] | None]
) -> dict[str, Any]:
    """A copy of ``model`` with u from ``sampled`` (the model of :func:`sampling_form`
    after sampling) and, in the comparisons of ``counted``, the exact u of their leading
    equality levels, the sampled levels' u scaled by the share of pairs those leave (a
    comparison with nothing to compare: no u, as sampling leaves a level never seen)."""
    result = copy.deepcopy(model)
    sampled_by_name = {c["output_column_name"]: c for c in sampled["comparisons"]}
    for comparison in result["comparisons"]:
        name = comparison["output_column_name"]
        levels = comparison["comparison_levels"]
        if name in counted and counted[name] is None:
            for level in levels:
                if not level.get("fix_u_probability"):
                    level.pop("u_probability", None)
            continue
        u = counted.get(name) or []
        scale = 1 - sum(u)
        for level, share in zip(levels[1 : 1 + len(u)], u, strict=True):
            if share > 0:
                level["u_probability"] = share
            else:
                level.pop("u_probability", None)
        if name not in sampled_by_name:  # left out of sampling: one level left
            (last,) = levels[1 + len(u) :]
            last["u_probability"] = scale
            continue
        drawn = sampled_by_name[name]["comparison_levels"]
        rest = levels[1 + len(u) :] if u else levels
        for level, from_sample in zip(rest, drawn[1:] if u else drawn, strict=True):
            if level.get("fix_u_probability") or level.get("is_null_level"):
                continue
            if from_sample.get("u_probability") is None:
                level.pop("u_probability", None)
            else:
                level["u_probability"] = from_sample["u_probability"] * scale
    return result


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'

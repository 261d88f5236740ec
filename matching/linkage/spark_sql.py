"""Our comparison and blocking SQL in Spark's dialect, so one model file runs on both backends.

A model file keeps its SQL in DuckDB's dialect (``sql_dialect: duckdb``): the duplicate
check, the explanations and every saved version read it so. Splink translates the levels
of its own library between dialects, but the conditions we wrote ourselves
(``matching.linkage.comparisons``) reach Spark as text, and four of their functions mean
something else there or do not exist:

==================================  ==================================================
DuckDB (the model file)             Spark SQL (what runs)
==================================  ==================================================
``len(name_grams_l)`` on a list     ``size(name_grams_l)`` (Spark's ``length`` is for text)
``list_intersect(a, b)``            ``array_intersect(a, b)`` (both keep distinct values)
``jaro_winkler_similarity(a, b)``   ``jaro_winkler(a, b)``: the UDF in the jar Splink ships
``damerau_levenshtein(a, b)``       the same name, from the same jar
``a // 2``                          ``a div 2``
==================================  ==================================================

Spark arrays are 1-based in ``element_at`` and 0-based in ``a[i]``; none of our conditions
index a list, so no index moves. Birth dates are compared as ISO text prepared before
Splink sees them (``matching.linkage.features``), so no date format crosses the dialects.

``spark_model`` gives the Spark form of a whole model; ``portable_model`` puts a model
trained on Spark back into DuckDB's form, keeping every trained parameter, so the saved
file is the same whichever backend trained it.
"""

from __future__ import annotations

import copy
from typing import Any

import sqlglot
from sqlglot import exp

from matching.linkage.features import GRAM_COLUMNS

__all__ = ["portable_model", "spark_condition", "spark_model", "with_level_conditions"]

#: Columns that hold lists (distinct character bigrams), on either side of a pair.
_LIST_COLUMNS = frozenset(f"{c}_{side}" for c in GRAM_COLUMNS for side in ("l", "r"))


def spark_condition(sql: str) -> str:
    """One SQL condition of ours (DuckDB dialect) in Spark SQL.

    Examples:
        >>> spark_condition("len(list_intersect(name_grams_l, name_grams_r)) >= 1")
        'SIZE(ARRAY_INTERSECT(name_grams_l, name_grams_r)) >= 1'
        >>> spark_condition("jaro_winkler_similarity(name_pinyin_l, name_pinyin_r) >= 0.92")
        'JARO_WINKLER(name_pinyin_l, name_pinyin_r) >= 0.92'
    """
    if sql.strip().upper() == "ELSE":  # a comparison's last level: no SQL to translate
        return sql
    tree = sqlglot.parse_one(sql, read="duckdb")
    # functions first, then lengths: a replaced node's children are not visited again
    return tree.transform(_functions).transform(_list_lengths).sql(dialect="spark")


def _list_lengths(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Length) and _is_list(node.this):
        return exp.Anonymous(this="size", expressions=[node.this])
    return node


def _functions(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Anonymous) and node.name.lower() == "list_intersect":
        return exp.Anonymous(this="array_intersect", expressions=node.expressions)
    if isinstance(node, exp.JarowinklerSimilarity):
        return exp.Anonymous(this="jaro_winkler", expressions=[node.this, node.expression])
    return node


def _is_list(node: exp.Expression) -> bool:
    if isinstance(node, exp.Column):
        return node.name in _LIST_COLUMNS
    if isinstance(node, exp.Anonymous):
        return node.name.lower() in ("list_intersect", "array_intersect")
    return isinstance(node, exp.ArrayIntersect)


def spark_model(model: dict[str, Any]) -> dict[str, Any]:
    """A copy of a model (Splink settings JSON, DuckDB dialect) whose every comparison level
    and blocking rule is in Spark SQL."""
    spark = copy.deepcopy(model)
    spark["sql_dialect"] = "spark"
    for comparison in spark["comparisons"]:
        for level in comparison["comparison_levels"]:
            level["sql_condition"] = spark_condition(level["sql_condition"])
    spark["blocking_rules_to_generate_predictions"] = [
        {**rule, "blocking_rule": spark_condition(rule["blocking_rule"]), "sql_dialect": "spark"}
        if isinstance(rule, dict)
        else spark_condition(rule)
        for rule in spark.get("blocking_rules_to_generate_predictions", [])
    ]
    return spark


def portable_model(trained: dict[str, Any], untrained: dict[str, Any]) -> dict[str, Any]:
    """The model Spark trained, with the SQL of the DuckDB-dialect settings it started from.

    Only SQL is taken from ``untrained``; every parameter (prior, m and u probabilities,
    term-frequency settings) stays as trained. The two must have the same comparisons and
    levels in the same order, which they do when ``trained`` was trained on
    ``spark_model(untrained)``.

    Raises:
        ValueError: the two models' comparisons or levels do not line up.
    """
    portable = with_level_conditions(trained, untrained)
    portable["sql_dialect"] = untrained.get("sql_dialect", "duckdb")
    portable["blocking_rules_to_generate_predictions"] = copy.deepcopy(
        untrained["blocking_rules_to_generate_predictions"]
    )
    return portable


def with_level_conditions(trained: dict[str, Any], untrained: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``trained`` whose comparison levels have the SQL conditions of
    ``untrained`` (the settings it was trained from, in another form); nothing else moves.

    Raises:
        ValueError: the two models' comparisons or levels do not line up.
    """
    portable = copy.deepcopy(trained)
    ours, theirs = portable["comparisons"], untrained["comparisons"]
    if [len(c["comparison_levels"]) for c in ours] != [len(c["comparison_levels"]) for c in theirs]:
        raise ValueError("the trained model's comparison levels do not match its settings")
    for comparison, source in zip(ours, theirs, strict=True):
        for level, original in zip(
            comparison["comparison_levels"], source["comparison_levels"], strict=True
        ):
            level["sql_condition"] = original["sql_condition"]
    return portable

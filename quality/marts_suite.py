"""The marts suites: segments stay within their value sets, shares add up to 100%.

Both checks are blocking: a segment outside its set, or shares that do not add up, mean
the mart's SQL is wrong, and the follow-up lists and exports built on it would be too.

- ``segments_in_value_sets``: each segment column holds only its known values (empty
  allowed, e.g. no ABC class for a customer who never ordered);
- ``shares_sum_to_100_percent``: each share column sums to 100% (1.0 for fractions, 100
  for percentages), over the whole table or within each group.

A mart is described by a :class:`MartSpec`; :func:`mart_specs` derives them from the
deployment's marts config (the value sets of ``warehouse.marts.value_sets``: ABC classes,
RFM segments, value and credit tiers, lifecycle stages, follow-up reasons; revenue shares
summing to 100%). :data:`DEFAULT_MART_SPECS` is the config-free part, for tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from quality.gx import Expect, Suite
from quality.results import ERROR, CheckDef
from sources.config import MartsConfig
from warehouse.marts import value_sets
from warehouse.store import quote

ABC_CLASSES = ("A", "B", "C")
LIFECYCLE_STAGES = ("prospect", "new", "active", "dormant", "churned", "reactivated")

SEGMENTS_CHECK = CheckDef(
    "segments_in_value_sets", ERROR, "every segment column holds only its known values"
)
SHARES_CHECK = CheckDef("shares_sum_to_100_percent", ERROR, "every share column sums to 100%")


@dataclass(frozen=True)
class MartSpec:
    """What to expect of one mart table.

    Attributes:
        table: ``marts.<name>``.
        value_sets: segment column → its allowed values.
        shares: share columns that must sum to ``share_total``.
        share_total: 1.0 when shares are fractions, 100.0 when percentages.
        group_by: columns within which the shares sum to the total (none: the whole table).
        key: columns that name a row, shown with unexpected values.
        tolerance: rounding allowed on a total.
    """

    table: str
    value_sets: Mapping[str, Sequence[str]] = field(default_factory=dict)
    shares: Sequence[str] = ()
    share_total: float = 1.0
    group_by: Sequence[str] = ()
    key: Sequence[str] = ("customer_id",)
    tolerance: float = 1e-6


DEFAULT_MART_SPECS = (
    MartSpec("marts.customer_value", value_sets={"abc_class": ABC_CLASSES}),
    MartSpec("marts.customer_lifecycle", value_sets={"stage": LIFECYCLE_STAGES}),
)


def mart_specs(marts: MartsConfig) -> tuple[MartSpec, ...]:
    """What to expect of every checked mart under the deployment's ``marts`` config."""
    return tuple(
        MartSpec(
            table,
            value_sets=columns,
            shares=("revenue_share",) if table == "marts.customer_value" else (),
            key=("customer_id",),
        )
        for table, columns in value_sets(marts).items()
    )


def marts_checks(spec: MartSpec) -> tuple[CheckDef, ...]:
    return (SEGMENTS_CHECK, SHARES_CHECK) if spec.shares else (SEGMENTS_CHECK,)


def marts_suite(spec: MartSpec) -> Suite:
    """The expectations on one mart table."""
    expectations = [
        Expect(
            SEGMENTS_CHECK.name,
            "ExpectColumnValuesToBeInSet",
            {"column": column, "value_set": list(values)},
            f"{column} values outside {', '.join(map(str, values))}",
        )
        for column, values in spec.value_sets.items()
    ]
    low, high = spec.share_total - spec.tolerance, spec.share_total + spec.tolerance
    expectations += [
        Expect(
            SHARES_CHECK.name,
            "ExpectColumnValuesToBeBetween",
            {"column": f"{column}__total", "min_value": low, "max_value": high},
            f"rows whose {column} total is not {spec.share_total:g}"
            + (f" within their {', '.join(spec.group_by)}" if spec.group_by else ""),
        )
        for column in spec.shares
    ]
    return Suite(
        name=spec.table,
        checks=marts_checks(spec),
        expectations=tuple(expectations),
        index_columns=tuple(dict.fromkeys([*spec.key, *spec.group_by])),
    )


def marts_frame(con: duckdb.DuckDBPyConnection, spec: MartSpec) -> pd.DataFrame:
    """The columns the suite reads, and each share column's total (per group) on every row."""
    schema, table = spec.table.split(".", 1)
    columns = dict.fromkeys([*spec.key, *spec.group_by, *spec.value_sets])
    partition = (
        f"PARTITION BY {', '.join(quote(c) for c in spec.group_by)}" if spec.group_by else ""
    )
    totals = [f"sum({quote(c)}) OVER ({partition}) AS {quote(c + '__total')}" for c in spec.shares]
    select = ", ".join([*(quote(c) for c in columns), *totals])
    return con.sql(f"SELECT {select} FROM {quote(schema)}.{quote(table)}").df()

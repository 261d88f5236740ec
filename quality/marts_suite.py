"""The marts suites: segments stay within their value sets, shares add up to 100%, amounts
are not negative, funnel counts add up.

Every check is blocking: a segment outside its set, shares or counts that do not add up,
a negative amount mean the mart's SQL is wrong, and the follow-up lists and exports built
on it would be too.

- ``segments_in_value_sets``: each segment column holds only its known values (empty
  allowed, e.g. no ABC class for a customer who never ordered);
- ``shares_sum_to_100_percent``: each share column sums to 100% (1.0 for fractions, 100
  for percentages), over the whole table or within each group;
- ``amounts_not_negative``: forecasts, intervals, expected and first-year amounts are 0 or
  more (a negative forecast of revenue is a model error, not a prediction);
- ``funnel_counts_add_up``: each total column equals the sum of its parts on every row
  (prospects = became customers + still prospects), and each part is at most its total
  (first-year customers are some of those who became customers).

A mart is described by a :class:`MartSpec`; :func:`mart_specs` derives them from the
deployment's marts config (the value sets of ``warehouse.marts.value_sets``: ABC classes,
RFM segments, value and credit tiers, lifecycle stages, follow-up reasons; revenue shares
summing to 100%). :data:`DEFAULT_MART_SPECS` is the config-free part, for tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd

from quality.gx import Expect, Suite, read_frame
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
NON_NEGATIVE_CHECK = CheckDef(
    "amounts_not_negative", ERROR, "forecasts and amounts of the sales marts are 0 or more"
)
ADDS_UP_CHECK = CheckDef(
    "funnel_counts_add_up",
    ERROR,
    "funnel totals equal the sum of their parts, parts stay within them",
)


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
        non_negative: columns that must be 0 or more.
        adds_up: total column → the columns that sum to it on every row.
        within: part column → the total column it may not exceed.
    """

    table: str
    value_sets: Mapping[str, Sequence[str]] = field(default_factory=dict)
    shares: Sequence[str] = ()
    share_total: float = 1.0
    group_by: Sequence[str] = ()
    key: Sequence[str] = ("customer_id",)
    tolerance: float = 1e-6
    non_negative: Sequence[str] = ()
    adds_up: Mapping[str, Sequence[str]] = field(default_factory=dict)
    within: Mapping[str, str] = field(default_factory=dict)


DEFAULT_MART_SPECS = (
    MartSpec("marts.customer_value", value_sets={"abc_class": ABC_CLASSES}),
    MartSpec("marts.customer_lifecycle", value_sets={"stage": LIFECYCLE_STAGES}),
)


#: The sales-planning marts' amounts and funnel counts (their value sets come from the config).
_SALES_SPECS: dict[str, dict[str, Any]] = {
    "marts.next_order": {"non_negative": ("expected_amount", "usual_gap_days")},
    "marts.sales_forecast": {
        "key": ("province", "product_line", "month"),
        "non_negative": ("forecast", "lower", "upper"),
    },
    "marts.lead_funnel": {
        "key": ("acquisition_channel", "source", "first_contact_month"),
        "non_negative": ("first_year_revenue", "avg_days_to_convert"),
        "adds_up": {"prospects": ("became_customers", "still_prospects")},
        "within": {"first_year_customers": "became_customers"},
    },
    "marts.customer_satisfaction": {
        "non_negative": ("open_complaints", "closed_complaints", "avg_days_to_close")
    },
}


def mart_specs(marts: MartsConfig) -> tuple[MartSpec, ...]:
    """What to expect of every checked mart under the deployment's ``marts`` config."""
    sets = value_sets(marts)
    return tuple(
        MartSpec(
            table,
            value_sets=sets.get(table, {}),
            shares=("revenue_share",) if table == "marts.customer_value" else (),
            **{"key": ("customer_id",), **_SALES_SPECS.get(table, {})},
        )
        for table in dict.fromkeys([*sets, *_SALES_SPECS])
    )


def marts_checks(spec: MartSpec) -> tuple[CheckDef, ...]:
    checks = [SEGMENTS_CHECK] if spec.value_sets else []
    checks += [SHARES_CHECK] if spec.shares else []
    checks += [NON_NEGATIVE_CHECK] if spec.non_negative else []
    checks += [ADDS_UP_CHECK] if spec.adds_up or spec.within else []
    return tuple(checks)


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
    expectations += [
        Expect(
            NON_NEGATIVE_CHECK.name,
            "ExpectColumnValuesToBeBetween",
            {"column": column, "min_value": 0},
            f"rows with a negative {column}",
        )
        for column in spec.non_negative
    ]
    expectations += [
        Expect(
            ADDS_UP_CHECK.name,
            "ExpectColumnValuesToBeBetween",
            {"column": f"{total}__gap", "min_value": 0, "max_value": 0},
            f"rows whose {total} is not {' + '.join(parts)}",
        )
        for total, parts in spec.adds_up.items()
    ]
    expectations += [
        Expect(
            ADDS_UP_CHECK.name,
            "ExpectColumnValuesToBeBetween",
            {"column": f"{part}__over", "max_value": 0},
            f"rows whose {part} exceeds {total}",
        )
        for part, total in spec.within.items()
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
    columns = dict.fromkeys([*spec.key, *spec.group_by, *spec.value_sets, *spec.non_negative])
    partition = (
        f"PARTITION BY {', '.join(quote(c) for c in spec.group_by)}" if spec.group_by else ""
    )
    totals = [f"sum({quote(c)}) OVER ({partition}) AS {quote(c + '__total')}" for c in spec.shares]
    gaps = [
        f"{quote(total)} - ({' + '.join(quote(p) for p in parts)}) AS {quote(total + '__gap')}"
        for total, parts in spec.adds_up.items()
    ]
    overs = [
        f"{quote(part)} - {quote(total)} AS {quote(part + '__over')}"
        for part, total in spec.within.items()
    ]
    select = ", ".join([*(quote(c) for c in columns), *totals, *gaps, *overs])
    return read_frame(con, f"SELECT {select} FROM {quote(schema)}.{quote(table)}")

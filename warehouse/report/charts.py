"""The report's charts: Vega-Lite (Altair) specs drawn to SVG when the report is written.

Why static SVG and not Vega's JavaScript in the page: the page must open with no network,
in any browser, also where scripts are off (a mail client, a locked-down viewer). Inlining
Vega, Vega-Lite and vega-embed would add about 900 KB to every page, and bundling them
(``vl_convert.javascript_bundle``) took 8 s here, on every sync; drawing a chart to SVG
with ``vl-convert`` (Vega itself, in an embedded runtime, no browser, no network) takes
about 0.1 s, and a page of fifteen charts stays near 200 KB. What is lost is hovering
for exact values: the tables beside the charts carry them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import pandas as pd
import vl_convert

#: Width of a chart in the page, in CSS pixels.
WIDTH = 420
HEIGHT = 220
OUTCOME_COLOURS = alt.Scale(
    domain=["passed", "warned", "failed"], range=["#4c9a5a", "#e0a030", "#c8413a"]
)


def svg(chart: alt.TopLevelMixin) -> str:
    """The chart drawn as an SVG element (no XML declaration), ready to inline in HTML."""
    drawn = vl_convert.vegalite_to_svg(chart.to_dict())
    return drawn[drawn.index("<svg") :]


def _frame(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def _count_axis(
    rows: Sequence[dict[str, Any]], value: str, stacked_by: str | None = None
) -> alt.Axis:
    """Whole numbers on a count axis: Vega puts ticks at 0.5 on a domain of 0 to 1 (even with
    ``tickMinStep``), so small counts get every whole number as a tick. ``stacked_by``: the
    bars of one ``stacked_by`` value are stacked, so their sum is the longest bar."""
    totals: dict[Any, float] = {}
    for i, r in enumerate(rows):
        key = r[stacked_by] if stacked_by else i
        totals[key] = totals.get(key, 0) + (r[value] or 0)
    largest = max(totals.values(), default=0)
    if largest <= 10:
        return alt.Axis(values=list(range(int(largest) + 1)), format="d")
    return alt.Axis(tickMinStep=1)


def bars(
    rows: Sequence[dict[str, Any]],
    category: str,
    value: str,
    title: str,
    *,
    colour: str | None = None,
    sort: Sequence[str] | str = "-x",
    stack: bool = True,
) -> alt.Chart:
    """Horizontal bars: one per ``category``, length ``value`` (coloured and stacked by ``colour``)."""
    encoding: dict[str, Any] = {
        "y": alt.Y(
            f"{category}:N", sort=list(sort) if not isinstance(sort, str) else sort, title=None
        ),
        "x": alt.X(
            f"{value}:Q",
            title=value.replace("_", " "),
            stack=stack or None,
            axis=_count_axis(rows, value, category if colour and stack else None),
        ),
    }
    if colour:
        encoding["color"] = alt.Color(f"{colour}:N", title=colour.replace("_", " "))
        if not stack:
            encoding["yOffset"] = alt.YOffset(f"{colour}:N")
    height = max(
        60, min(18 * len({r[category] for r in rows}) * (1 if stack or not colour else 2), 520)
    )
    return (
        alt.Chart(_frame(rows), title=title)
        .mark_bar()
        .encode(**encoding)
        .properties(width=WIDTH, height=height)
    )


def columns(
    rows: Sequence[dict[str, Any]],
    category: str,
    value: str,
    title: str,
    *,
    colour: str | None = None,
) -> alt.Chart:
    """Vertical bars along an ordered ``category`` (a size, a band)."""
    encoding: dict[str, Any] = {
        "x": alt.X(f"{category}:O", title=category.replace("_", " ")),
        "y": alt.Y(f"{value}:Q", title=value.replace("_", " "), axis=_count_axis(rows, value)),
    }
    if colour:
        encoding["color"] = alt.Color(f"{colour}:N", title=colour.replace("_", " "))
        encoding["xOffset"] = alt.XOffset(f"{colour}:N")
    return (
        alt.Chart(_frame(rows), title=title)
        .mark_bar()
        .encode(**encoding)
        .properties(width=WIDTH, height=HEIGHT)
    )


def history_lines(rows: Sequence[dict[str, Any]], title: str) -> alt.Chart:
    """Rows received per customer source over the last syncs (``sync``, ``feed``, ``measure``, ``rows``)."""
    return (
        alt.Chart(_frame(rows), title=title)
        .mark_line(point=True)
        .encode(
            x=alt.X("sync:O", title="sync (oldest left)", sort=None, axis=alt.Axis(labelAngle=-40)),
            y=alt.Y("rows:Q", title="rows", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color("feed:N", title="source"),
            strokeDash=alt.StrokeDash("measure:N", title=None),
        )
        .properties(width=WIDTH, height=HEIGHT)
    )


def pareto(rows: Sequence[dict[str, Any]], title: str) -> alt.Chart:
    """Share of revenue against share of buying customers, ranked by revenue, coloured by ABC class."""
    frame = pd.concat(
        [
            pd.DataFrame([{"customer_share": 0.0, "cumulative_share": 0.0, "abc_class": "A"}]),
            _frame(rows),
        ],
        ignore_index=True,
    )
    base = alt.Chart(frame, title=title).encode(
        x=alt.X("customer_share:Q", title="share of buying customers", axis=alt.Axis(format="%")),
        y=alt.Y("cumulative_share:Q", title="share of revenue", axis=alt.Axis(format="%")),
    )
    line = base.mark_line(color="#888888")
    points = base.mark_circle(size=28).encode(color=alt.Color("abc_class:N", title="ABC class"))
    return (line + points).properties(width=WIDTH, height=HEIGHT)


def outcomes(rows: Sequence[dict[str, Any]], title: str) -> alt.Chart:
    """Checks per layer, stacked by outcome (``layer``, ``outcome``, ``checks``)."""
    return (
        alt.Chart(_frame(rows), title=title)
        .mark_bar()
        .encode(
            y=alt.Y("layer:N", title=None, sort=["raw", "staging", "matching", "master", "marts"]),
            x=alt.X("checks:Q", title="checks", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color("outcome:N", scale=OUTCOME_COLOURS, title="outcome"),
        )
        .properties(width=WIDTH, height=130)
    )

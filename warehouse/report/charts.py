"""The report's charts: Vega-Lite (Altair) specs drawn to SVG when the report is written.

Why static SVG and not Vega's JavaScript in the page: the page must open with no network,
in any browser, also where scripts are off (a mail client, a locked-down viewer). Inlining
Vega, Vega-Lite and vega-embed would add about 900 KB to every page, and bundling them
(``vl_convert.javascript_bundle``) took 8 s here, on every sync; drawing a chart to SVG
with ``vl-convert`` (Vega itself, in an embedded runtime, no browser, no network) takes
about 0.1 s, and a page of fifteen charts stays near 200 KB. What is lost is hovering
for exact values: the tables beside the charts carry them.

Drawing is still most of the report's cost whatever the size of the master: the fifteen
charts of the 100k demo's page took 1.8 s wall (1.05 s of CPU), 0.64 s of it starting
Vega's runtime for the first one. So the charts of a page are kept for the next one
(:func:`kept_in`, ``<reports>/charts/``), each under a fingerprint of its whole Vega-Lite
spec (data included) and of the versions drawing it: a chart that shows what it showed on
the last page (most of them on a day with few changes) is read back, the same bytes, not
drawn again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from importlib.metadata import version
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import vl_convert

from warehouse.files import write_atomically

#: Width of a chart in the page, in CSS pixels.
WIDTH = 420
HEIGHT = 220
OUTCOME_COLOURS = alt.Scale(
    domain=["passed", "warned", "failed"], range=["#4c9a5a", "#e0a030", "#c8413a"]
)


def svg(chart: alt.TopLevelMixin) -> str:
    """The chart drawn as an SVG element (no XML declaration), ready to inline in HTML; inside
    :func:`kept_in`, read back when the same chart was drawn for the last page."""
    spec = chart.to_dict()
    kept = _KEPT.get()
    return _draw(spec) if kept is None else kept.svg(spec)


def _draw(spec: dict[str, Any]) -> str:
    drawn = vl_convert.vegalite_to_svg(spec)
    return drawn[drawn.index("<svg") :]


class _KeptCharts:
    """The charts of the last page in ``folder``, one ``<fingerprint>.svg`` per chart."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.used: set[str] = set()

    def svg(self, spec: dict[str, Any]) -> str:
        name = f"{chart_fingerprint(spec)}.svg"
        self.used.add(name)
        path = self.folder / name
        if path.is_file():
            return path.read_text(encoding="utf-8")
        drawn = _draw(spec)
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomically(path, lambda p: p.write_text(drawn, encoding="utf-8"))
        return drawn

    def forget_the_rest(self) -> None:
        """Remove the charts this page did not show: the folder holds one page's charts."""
        for path in self.folder.glob("*.svg"):
            if path.name not in self.used:
                path.unlink(missing_ok=True)


_KEPT: ContextVar[_KeptCharts | None] = ContextVar("kept_charts", default=None)


def chart_fingerprint(spec: dict[str, Any]) -> str:
    """What decides a chart's drawing: its Vega-Lite spec (with its data and the Vega-Lite
    version it is written for) and the version of vl-convert, which bundles Vega."""
    text = json.dumps(
        [spec, version("vl-convert-python")], sort_keys=True, ensure_ascii=False, default=str
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@contextmanager
def kept_in(folder: Path) -> Iterator[None]:
    """Charts drawn inside are kept in ``folder`` and read back from there when the same chart
    was drawn before; at the end (drawn without error) the charts not drawn inside are
    removed."""
    kept = _KeptCharts(folder)
    token = _KEPT.set(kept)
    try:
        yield
    finally:
        _KEPT.reset(token)
    kept.forget_the_rest()


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

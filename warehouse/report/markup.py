"""HTML building blocks of the report: the style sheet, escaped table cells, chart boxes,
sections, the headline figures. Every value from the data goes through ``html.escape``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","Microsoft YaHei",sans-serif;
 margin:0;color:#222;background:#fafafa}
header{background:#234;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;opacity:.85}nav{padding:8px 28px;background:#e8edf2}nav a{margin-right:16px;color:#234}
main{padding:8px 28px 40px;max-width:1400px}section{margin-top:26px}h2{border-bottom:2px solid #234;padding-bottom:4px}
.headline{display:flex;flex-wrap:wrap;gap:10px;margin-top:14px}.figure{background:#fff;border:1px solid #ccd;
 border-radius:6px;padding:8px 14px;min-width:110px}.figure b{display:block;font-size:22px}.figure span{color:#556}
.charts{display:flex;flex-wrap:wrap;gap:18px}.chart{background:#fff;border:1px solid #dde;border-radius:6px;padding:8px}
table{border-collapse:collapse;background:#fff;margin:8px 0;font-size:13px}th,td{border:1px solid #dde;padding:3px 8px;
 text-align:left;vertical-align:top}th{background:#eef2f6}td.n{text-align:right;font-variant-numeric:tabular-nums}
.failed{color:#b02a22;font-weight:600}.warned{color:#a06800;font-weight:600}.passed{color:#2d7a3c}
.event{background:#fff;border:1px solid #dde;border-left:4px solid #234;border-radius:4px;padding:8px 12px;margin:10px 0}
.event h3{margin:0 0 4px;font-size:15px}.muted{color:#667}code{font-size:12px}
"""


def cell(value: Any) -> str:
    """One table cell: numbers right-aligned with thousands separators, text escaped."""
    if isinstance(value, bool):
        return f"<td>{'yes' if value else 'no'}</td>"
    if isinstance(value, int | float):
        text = f"{value:,}" if isinstance(value, int) else f"{value:,.4g}"
        return f'<td class="n">{text}</td>'
    return f"<td>{escape('' if value is None else str(value))}</td>"


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str], empty: str = "none") -> str:
    """``rows`` as a table of ``columns`` (headers without underscores); ``empty`` when none."""
    if not rows:
        return f'<p class="muted">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(c.replace('_', ' '))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(cell(r.get(c)) for c in columns) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def chart_row(drawn: Iterable[str]) -> str:
    return (
        '<div class="charts">' + "".join(f'<div class="chart">{d}</div>' for d in drawn) + "</div>"
    )


def section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{body}</section>'


def headline_html(headline: dict[str, Any]) -> str:
    return (
        '<div class="headline">'
        + "".join(
            f'<div class="figure"><b>{value:,}</b><span>{escape(name.replace("_", " "))}</span></div>'
            for name, value in headline.items()
        )
        + "</div>"
    )

"""The sync report as one HTML page: a section per question, a chart where a person would
rather look than read, the exact figures in tables beside it.

The page is self-contained: styles inline, charts inline SVG (``warehouse.report.charts``),
no script, no font, no image fetched from anywhere, so it opens offline and can be mailed.
Every value from the data is escaped.
"""

from __future__ import annotations

from collections import Counter
from html import escape
from typing import Any

from warehouse.marts.lifecycle import STAGES
from warehouse.report import charts
from warehouse.report.markup import STYLE, chart_row, headline_html, section, table


def sourcessection(sources: dict[str, Any], history: list[dict[str, Any]]) -> str:
    files = sources["files"]
    per_feed: dict[tuple[str, str], Counter] = {}
    for f in files:
        per_feed.setdefault((f["feed"], f["kind"]), Counter()).update(
            {k: f[k] for k in ("received", "staged", "quarantined")}
        )
    feeds = [
        {"feed": feed, "kind": kind, **dict(counts)} for (feed, kind), counts in per_feed.items()
    ]
    stacked = [
        {"feed": r["feed"], "rows": r[measure], "outcome": measure}
        for r in feeds
        for measure in ("staged", "quarantined")
    ]
    drawn = [
        charts.svg(
            charts.bars(
                stacked, "feed", "rows", "rows staged and quarantined per feed", colour="outcome"
            )
        )
    ]
    if history:
        syncs = len({h["sync"] for h in history})
        span = "this sync" if syncs == 1 else f"last {syncs} syncs"
        drawn.append(charts.svg(charts.history_lines(history, f"rows per customer source, {span}")))
    reasons = sources["quarantine_reasons"]
    if reasons:
        drawn.append(charts.svg(charts.bars(reasons, "reason", "rows", "top quarantine reasons")))
    body = chart_row(drawn)
    if not reasons:
        body += '<p class="muted">No row was quarantined.</p>'
    body += "<h3>Per feed</h3>" + table(
        feeds, ["feed", "kind", "received", "staged", "quarantined"]
    )
    body += (
        f"<details><summary>Per file ({len(files)} files)</summary>"
        + table(files, ["feed", "source_file", "received", "staged", "quarantined"])
        + "</details>"
    )
    return section("sources", "Sources: what came in", body)


def qualitysection(checks: list[dict[str, Any]]) -> str:
    if not checks:
        return section("quality", "Quality", '<p class="muted">No check results for this run.</p>')
    per_layer = Counter((c["asset"].split("/")[0], c["outcome"]) for c in checks)
    rows = [{"layer": layer, "outcome": o, "checks": n} for (layer, o), n in per_layer.items()]
    body = chart_row([charts.svg(charts.outcomes(rows, "checks per layer and outcome"))])
    head = (
        "<table><thead><tr><th>outcome</th><th>asset</th><th>check</th><th>severity</th>"
        "<th>what was found</th><th>failing examples</th></tr></thead><tbody>"
    )
    lines: dict[str, list[str]] = {"failed": [], "warned": [], "passed": []}
    for c in checks:
        examples = "<br>".join(f"<code>{escape(e)}</code>" for e in c["examples"])
        lines[c["outcome"]].append(
            f'<tr><td class="{c["outcome"]}">{c["outcome"]}</td><td>{escape(c["asset"])}</td>'
            f"<td>{escape(c['check'])}</td><td>{escape(c['severity'])}</td>"
            f"<td>{escape(c['description'])}</td><td>{examples}</td></tr>"
        )
    attention = lines["failed"] + lines["warned"]
    body += (
        head + "".join(attention) + "</tbody></table>"
        if attention
        else '<p class="passed">Every check passed.</p>'
    )
    body += (
        f"<details><summary>{len(lines['passed'])} checks passed</summary>"
        + head
        + "".join(lines["passed"])
        + "</tbody></table></details>"
    )
    return section("quality", f"Quality: {len(checks)} checks", body)


def matchingsection(m: dict[str, Any]) -> str:
    if not m:
        return section("matching", "Matching", '<p class="muted">No matching this run.</p>')
    bands = [
        {**b, "band": f"{b['band_from']:.1f}–{min(b['band_from'] + 0.1, 1.0):.1f}"}
        for b in m["pair_bands"]
    ]
    queue_size = sum(r["pairs"] for r in m["review_queue"])
    drawn = [
        charts.svg(
            charts.columns(
                bands, "band", "pairs", "scored pairs per probability band", colour="entity_type"
            )
        ),
        charts.svg(
            charts.columns(
                m["cluster_sizes"],
                "cluster_size",
                "clusters",
                "clusters per size",
                colour="entity_type",
            )
        ),
        charts.svg(
            charts.columns(
                m["pairs_per_record"],
                "pairs",
                "records",
                "scored pairs per record (10 = 10 or more)",
                colour="entity_type",
            )
        ),
    ]
    if m["review_queue"]:
        drawn.append(
            charts.svg(charts.bars(m["review_queue"], "reason", "pairs", "review queue by reason"))
        )
    body = (
        f"<p>Pairs at or above {m['upper_threshold']} link; pairs from {m['lower_threshold']} "
        f"up to it go to the stewards' review queue, which holds <b>{queue_size:,}</b> pairs. "
        "Pairs per record counts the pairs the model scored at or above the lower threshold "
        "(the candidates it compared and scored lower are not kept).</p>"
    )
    body += chart_row(drawn)
    body += "<h3>Models in use</h3>" + table(
        m["models"], ["entity_type", "model", "trained", "records"]
    )
    return section("matching", "Matching", body)


def _records(records: list[dict[str, Any]]) -> str:
    return ", ".join(
        f"<code>{escape(r['record_key'])}</code> {escape(r['name'] or '')}" for r in records
    )


def _evidence(links: list[dict[str, Any]]) -> str:
    if not links:
        return ""
    items = []
    for link in links:
        p = "" if link["probability"] is None else f" (p = {link['probability']:.3f})"
        items.append(
            f"<li><code>{escape(link['record_key_l'])}</code> — <code>{escape(link['record_key_r'])}</code>"
            f": {escape(link['kind'])} link{p}: {escape(link['evidence'])}</li>"
        )
    return "<ul>" + "".join(items) + "</ul>"


def _event(kind: str, e: dict[str, Any]) -> str:
    if kind == "merged":
        head = f"{e['customer_id']} merged into {e['related_customer_id']}"
        body = (
            f"<p>records that came from {escape(e['customer_id'])}: {_records(e['moved_records'])}<br>"
            f"records of {escape(e['related_customer_id'])}: {_records(e['survivor_records'])}</p>"
            "<p>why: the links that join them now</p>" + _evidence(e["evidence"])
        )
    else:
        head = f"{e['customer_id']} split from {e['related_customer_id']}"
        body = (
            f"<p>records of the new {escape(e['customer_id'])}: {_records(e['moved_records'])}<br>"
            f"records kept by {escape(e['related_customer_id'])}: {_records(e['survivor_records'])}</p>"
            f"<p>why: {escape(e['evidence_note'])}</p>" + _evidence(e["evidence"])
        )
    return f'<div class="event"><h3>{escape(head)} ({escape(e["entity_type"])})</h3>{body}</div>'


def changessection(ids: dict[str, Any], golden: dict[str, Any]) -> str:
    counts = [{"event": k, "customers": v} for k, v in ids["counts"].items()]
    drawn = [
        charts.svg(
            charts.bars(
                counts, "event", "customers", "customer IDs this sync", sort=list(ids["counts"])
            )
        )
    ]
    if golden["per_attribute"]:
        drawn.append(
            charts.svg(
                charts.bars(
                    golden["per_attribute"],
                    "attribute",
                    "values",
                    "golden values changed per attribute",
                )
            )
        )
    body = chart_row(drawn)
    for kind in ("merged", "split"):
        body += f"<h3>{kind.capitalize()} ({ids['counts'][kind]:,})</h3>"
        body += "".join(_event(kind, e) for e in ids[kind]) or '<p class="muted">none</p>'
    body += f"<h3>Created ({ids['counts']['created']:,})</h3>"
    body += table(
        [
            {
                **e,
                "records_named": ", ".join(
                    r["name"] or r["record_key"] for r in e.get("moved_records", [])
                ),
            }
            for e in ids["created"]
        ],
        ["customer_id", "entity_type", "records", "records_named"],
    )
    body += f"<h3>Retired ({ids['counts']['retired']:,})</h3>" + table(
        ids["retired"], ["customer_id", "entity_type"]
    )
    body += "<h3>Golden values that changed</h3>"
    if not golden["compared"]:
        body += '<p class="muted">This is the first report: there is no earlier sync to compare with.</p>'
    else:
        body += f"<p>{golden['changed']:,} values changed (the first {len(golden['values'])} below).</p>"
        body += table(
            golden["values"],
            ["customer_id", "attribute", "before", "value", "source", "record_key", "rule"],
        )
    return section("changes", "What changed since the last sync", body)


def valuesection(v: dict[str, Any]) -> str:
    drawn = []
    if v.get("pareto"):
        drawn.append(
            charts.svg(charts.pareto(v["pareto"], "ABC: revenue against customers (Pareto)"))
        )
    if v.get("value_tiers"):
        drawn.append(
            charts.svg(
                charts.bars(v["value_tiers"], "value_tier", "revenue", "revenue by value tier")
            )
        )
    if v.get("lifecycle"):
        drawn.append(
            charts.svg(
                charts.bars(v["lifecycle"], "stage", "customers", "lifecycle stages", sort=STAGES)
            )
        )
    moves = [
        {"transition": f"{t['previous_stage']} → {t['stage']}", "customers": t["customers"]}
        for t in v.get("transitions", [])
    ]
    if moves:
        drawn.append(
            charts.svg(
                charts.bars(moves, "transition", "customers", "lifecycle transitions this sync")
            )
        )
    if v.get("followups"):
        drawn.append(
            charts.svg(
                charts.bars(v["followups"], "reason", "customers", "today's follow-ups by reason")
            )
        )
    body = chart_row(drawn) if drawn else '<p class="muted">No marts this run.</p>'
    if moves:
        body += "<h3>Transitions this sync</h3>" + table(moves, ["transition", "customers"])
    return section("value", "Value and lifecycle", body)


def render_page(figures: dict[str, Any], history: list[dict[str, Any]]) -> str:
    """The whole page for one sync's ``figures`` (``warehouse.report.build``) and the
    source history rows drawn beside them."""
    nav = "".join(
        f'<a href="#{a}">{t}</a>'
        for a, t in (
            ("sources", "Sources"),
            ("quality", "Quality"),
            ("matching", "Matching"),
            ("changes", "What changed"),
            ("value", "Value and lifecycle"),
        )
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Customer Master sync {escape(figures['run_id'])}</title>"
        f"<style>{STYLE}</style></head><body>"
        f"<header><h1>Customer Master: sync report</h1><p>run {escape(figures['run_id'])} · "
        f"written {escape(figures['written_at'])} · {escape(figures['deployment'])}</p></header>"
        f"<nav>{nav}</nav><main>"
        + headline_html(figures["headline"])
        + sourcessection(figures["sources"], history)
        + qualitysection(figures["quality"])
        + matchingsection(figures["matching"])
        + changessection(figures["changes"]["ids"], figures["changes"]["golden_values"])
        + valuesection(figures["value"])
        + "</main></body></html>"
    )

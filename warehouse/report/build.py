"""Write the sync report: ``<output_dir>/reports/sync/<run_id>.html`` and ``latest.html``.

One call at the end of every sync gathers the figures (sources, quality, matching, what
changed, value and lifecycle), draws the page, and keeps for the next report its figures
(``<run_id>.json``) and the golden values it saw. ``latest.html`` is a copy, not a link,
so that it can be mailed or opened from a share that does not follow links.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from matching.linkage.decisions import Decisions
from sources.config import PipelineConfig
from warehouse.files import write_atomically
from warehouse.report.changes import golden_value_changes, id_changes
from warehouse.report.charts import kept_in
from warehouse.report.check_results import read_check_results
from warehouse.report.figures import (
    MATCHING_TABLES,
    VALUE_TABLES,
    matching_figures,
    source_figures,
    source_tables,
    standing_value_figures,
    with_transitions,
)
from warehouse.report.history import (
    golden_values_fingerprint,
    keep_golden_values,
    kept_golden_fingerprint,
    live_hashes,
    previous_figures,
    previous_golden_values,
    write_figures,
)
from warehouse.report.kept_figures import KeptFigures, section_inputs
from warehouse.report.page import render_page
from warehouse.store import count_rows, table_exists

logger = logging.getLogger(__name__)

LATEST = "latest.html"
#: Folder of the report folder where the last page's charts are kept for the next one.
CHARTS = "charts"


@dataclass(frozen=True)
class SyncReport:
    """Where the report was written and its headline figures (also shown in Dagster)."""

    path: Path
    latest: Path
    figures: Path
    headline: dict[str, int]


def report_folder(config: PipelineConfig) -> Path:
    return config.output_path / "reports" / "sync"


def gather_figures(
    con: duckdb.DuckDBPyConnection,
    config: PipelineConfig,
    run_id: str,
    now: datetime,
    decisions: Decisions,
    golden_fingerprint: str | None = None,
    kept: KeptFigures | None = None,
    table_fingerprint: Callable[[str], str] | None = None,
    live: str | None = None,
) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready values (``golden_fingerprint``: that of this
    sync's golden values, when taken: equal to the kept ones', they are not compared).

    ``kept``: the figures the last report kept; with ``table_fingerprint`` (``schema.table``
    → the fingerprint of its content, ``warehouse.step_inputs``), a section whose tables
    are as they were then is taken from it, not read again (``kept_figures``). ``live``:
    this sync's golden value hashes per customer, when held (``history.live_hashes``)."""
    folder = report_folder(config)
    matching = config.matching
    kept = kept if kept is not None else KeptFigures(folder, {})

    def inputs(tables: list[str] | tuple[str, ...], *settings: object) -> str | None:
        if table_fingerprint is None:
            return None
        return section_inputs(tables, table_fingerprint, *settings)

    sources = kept.section(
        "sources",
        inputs(source_tables(config)),
        lambda: source_figures(con, config),
    )
    checks = read_check_results(config.output_path / "quality" / run_id)
    ids = id_changes(con, run_id, decisions, matching.upper_threshold)
    unchanged = golden_fingerprint is not None and golden_fingerprint == kept_golden_fingerprint(
        folder
    )
    golden = golden_value_changes(con, previous_golden_values(folder), unchanged, live)
    customer_files = [f for f in sources["files"] if f["kind"] == "customers"]
    headline = {
        "customer_rows_received": sum(f["received"] for f in customer_files),
        "customer_rows_staged": sum(f["staged"] for f in customer_files),
        "rows_quarantined": sum(f["quarantined"] for f in sources["files"]),
        "checks_failed": sum(c["outcome"] == "failed" for c in checks),
        "checks_warned": sum(c["outcome"] == "warned" for c in checks),
        "customers": count_rows(con, "master", "customers"),
        **{f"customers_{k}": v for k, v in ids["counts"].items()},
        "golden_values_changed": golden["changed"],
        "review_queue": count_rows(con, "matching", "review_queue")
        if table_exists(con, "matching", "review_queue")
        else 0,
    }
    return {
        "run_id": run_id,
        "written_at": now.isoformat(timespec="seconds"),
        "deployment": str(config.base_dir),
        "headline": headline,
        "sources": sources,
        "quality": checks,
        "matching": kept.section(
            "matching",
            inputs(MATCHING_TABLES, matching.lower_threshold, matching.upper_threshold),
            lambda: matching_figures(con, matching.lower_threshold, matching.upper_threshold),
        ),
        "changes": {"ids": ids, "golden_values": golden},
        "value": with_transitions(
            kept.section("value", inputs(VALUE_TABLES), lambda: standing_value_figures(con)),
            con,
            run_id,
        ),
    }


def source_history(past: list[dict[str, Any]], current: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows received and quarantined per customer source, sync by sync, oldest first."""
    rows = []
    for figures in [*past, current]:
        # time and run: two syncs within one minute stay two points
        label = f"{figures['written_at'][5:16].replace('T', ' ')} {figures['run_id'][:4]}"
        totals: dict[str, dict[str, int]] = {}
        for f in figures["sources"]["files"]:
            if f["kind"] != "customers":
                continue
            total = totals.setdefault(f["feed"], {"received": 0, "quarantined": 0})
            total["received"] += f["received"]
            total["quarantined"] += f["quarantined"]
        for feed, counts in totals.items():
            rows += [
                {"sync": label, "feed": feed, "measure": measure, "rows": n}
                for measure, n in counts.items()
            ]
    return rows


def write_sync_report(
    con: duckdb.DuckDBPyConnection,
    config: PipelineConfig,
    run_id: str,
    now: datetime,
    decisions: Decisions,
    golden: str | None = None,
    table_fingerprint: Callable[[str], str] | None = None,
) -> SyncReport:
    """Write this sync's page, ``latest.html``, its figures and the golden values it saw
    (``golden``: their fingerprint, ``history.golden_values_fingerprint``, when the caller
    took it already); ``table_fingerprint``: see ``gather_figures`` (the sync's kept
    fingerprints: a section over unchanged tables is not read again)."""
    folder = report_folder(config)
    if golden is None:
        golden = golden_values_fingerprint(con)
    kept = KeptFigures.read(folder)
    # golden values changed since the last report: compared with the kept ones, then kept,
    # over one hashing of them
    changed = golden != kept_golden_fingerprint(folder)
    with live_hashes(con) if changed else nullcontext(None) as live:
        figures = gather_figures(
            con, config, run_id, now, decisions, golden, kept, table_fingerprint, live
        )
        history = source_history(previous_figures(folder, run_id), figures)
        with kept_in(folder / CHARTS):  # a chart as the last page showed it is not drawn again
            html = render_page(figures, history)
        page = write_atomically(
            folder / f"{run_id}.html", lambda p: p.write_text(html, encoding="utf-8")
        )
        latest = write_atomically(folder / LATEST, lambda p: p.write_text(html, encoding="utf-8"))
        stored = write_figures(folder, run_id, figures)
        keep_golden_values(con, folder, golden, live)
    if table_fingerprint is not None:
        kept.write()
    logger.info("sync report: %s (%d KB)", page, page.stat().st_size // 1024)
    return SyncReport(page, latest, stored, figures["headline"])

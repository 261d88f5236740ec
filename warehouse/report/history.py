"""What a report keeps for the next one: its figures as JSON, the golden values it saw.

``<output_dir>/reports/sync/<run_id>.json`` holds the figures a page was drawn from, with
the run id and time; the next reports read the latest ``HISTORY_SYNCS`` of them to draw
each source beside its last syncs. ``golden_values.parquet`` holds the golden values of
the last report, which the next one compares with. Both are replaced whole.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from warehouse.files import write_atomically, write_json_atomically

HISTORY_SYNCS = 14
GOLDEN_VALUES = "golden_values.parquet"


def figures_path(folder: Path, run_id: str) -> Path:
    return folder / f"{run_id}.json"


def write_figures(folder: Path, run_id: str, figures: dict[str, Any]) -> Path:
    return write_json_atomically(figures_path(folder, run_id), figures)


def previous_figures(folder: Path, run_id: str, syncs: int = HISTORY_SYNCS) -> list[dict[str, Any]]:
    """The figures of the last ``syncs`` reports before ``run_id``, oldest first."""
    found = []
    for path in folder.glob("*.json") if folder.is_dir() else []:
        if path.stem == run_id:
            continue
        try:
            figures = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue  # a file that is not a report's figures
        if isinstance(figures, dict) and "written_at" in figures and "sources" in figures:
            found.append(figures)
    found.sort(key=lambda f: f["written_at"])
    return found[-syncs:]


def previous_golden_values(folder: Path) -> Path | None:
    """The golden values the last report kept, or None before the first report."""
    path = folder / GOLDEN_VALUES
    return path if path.exists() else None


def keep_golden_values(con: duckdb.DuckDBPyConnection, folder: Path) -> Path:
    """This sync's golden values (``customer_id``, ``attribute``, ``value``) for the next report."""

    def write(path: Path) -> None:
        con.execute(
            f"""COPY (SELECT customer_id, attribute, CAST(value AS VARCHAR) AS value
                      FROM master.attribute_lineage) TO '{_sql_text(path)}' (FORMAT parquet)"""
        )

    return write_atomically(folder / GOLDEN_VALUES, write)


def _sql_text(path: Path) -> str:
    return str(path).replace("'", "''")

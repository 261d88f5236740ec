"""What a report keeps for the next one: its figures as JSON, the golden values it saw.

``<output_dir>/reports/sync/<run_id>.json`` holds the figures a page was drawn from, with
the run id and time; the next reports read the latest ``HISTORY_SYNCS`` of them to draw
each source beside its last syncs. ``golden_values.parquet`` holds the golden values of
the last report, which the next one compares with. Both are replaced whole, the golden
values only when they changed: ``golden_values.fingerprint`` beside them is the fingerprint
of ``master.attribute_lineage`` they were written from (``warehouse.step_inputs``), so a
sync that changed no golden value neither compares nor writes them again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from warehouse.files import write_atomically, write_json_atomically
from warehouse.step_inputs import table_fingerprint

HISTORY_SYNCS = 14
GOLDEN_VALUES = "golden_values.parquet"
GOLDEN_FINGERPRINT = "golden_values.fingerprint"


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


def golden_values_fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """The fingerprint of this sync's golden values (``master.attribute_lineage``)."""
    return table_fingerprint(con, "master", "attribute_lineage")


def kept_golden_fingerprint(folder: Path) -> str | None:
    """The fingerprint of the lineage the kept golden values were written from; None when
    none are kept or they were kept without it."""
    values, kept = folder / GOLDEN_VALUES, folder / GOLDEN_FINGERPRINT
    if not (values.exists() and kept.exists()):
        return None
    return kept.read_text(encoding="utf-8").strip() or None


def keep_golden_values(
    con: duckdb.DuckDBPyConnection, folder: Path, fingerprint: str | None = None
) -> Path:
    """This sync's golden values (``customer_id``, ``attribute``, ``value``) for the next
    report; not written again when the kept ones are of the same lineage (``fingerprint``:
    ``golden_values_fingerprint``, remembered beside them)."""
    if fingerprint is not None and kept_golden_fingerprint(folder) == fingerprint:
        return folder / GOLDEN_VALUES
    # the old fingerprint goes first: a sync killed midway leaves values that are compared
    (folder / GOLDEN_FINGERPRINT).unlink(missing_ok=True)

    def write(path: Path) -> None:
        con.execute(
            f"""COPY (SELECT customer_id, attribute, CAST(value AS VARCHAR) AS value
                      FROM master.attribute_lineage) TO '{_sql_text(path)}' (FORMAT parquet)"""
        )

    path = write_atomically(folder / GOLDEN_VALUES, write)
    if fingerprint is not None:
        write_atomically(
            folder / GOLDEN_FINGERPRINT, lambda p: p.write_text(fingerprint, encoding="utf-8")
        )
    return path


def _sql_text(path: Path) -> str:
    return str(path).replace("'", "''")

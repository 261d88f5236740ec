"""The run's quality checks as the report shows them: outcome, what was found, examples.

Each check step writes its full result to ``<output_dir>/quality/<run_id>/<asset>.<check>.json``
(``assets/checks.py``); the report reads those files, so it shows exactly what the checks
recorded. A failing example is a value the check rejected: Great Expectations' partial
unexpected values, or the ``examples`` a SQL check keeps in its metadata.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: Examples shown per check.
EXAMPLES = 5
OUTCOMES = ("failed", "warned", "passed")


def _examples(record: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for result in record.get("details", {}).get("results", []):
        if not result.get("success", True):
            found += [str(v) for v in result.get("result", {}).get("partial_unexpected_list", [])]
    for key, value in record.get("metadata", {}).items():
        if "example" in key and isinstance(value, list):
            found += [
                json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else str(v) for v in value
            ]
    return found[:EXAMPLES]


def outcome(record: dict[str, Any]) -> str:
    """passed, warned (failed at warn severity) or failed (blocking)."""
    if record["passed"]:
        return "passed"
    return "failed" if record.get("severity") == "error" else "warned"


def read_check_results(folder: Path) -> list[dict[str, Any]]:
    """Every check result of one run (``folder`` = ``<output_dir>/quality/<run_id>``): asset,
    check, outcome, severity, description, examples; failed first, then warned, then passed."""
    rows = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        if path.name == "summary.json":
            continue
        record = json.loads(path.read_text(encoding="utf-8"))
        rows.append(
            {
                "asset": record.get("asset", path.stem.rsplit(".", 1)[0]),
                "check": record["check"],
                "outcome": outcome(record),
                "severity": record.get("severity", ""),
                "description": record.get("description", ""),
                "examples": [] if record["passed"] else _examples(record),
            }
        )
    return sorted(rows, key=lambda r: (OUTCOMES.index(r["outcome"]), r["asset"], r["check"]))

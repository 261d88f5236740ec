"""The project-local Dagster instance (``$DAGSTER_HOME``), with telemetry off.

``custmaster run`` records its runs here, so ``dagster dev`` started with the same
DAGSTER_HOME shows them.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

DAGSTER_YAML = "telemetry:\n  enabled: false\n"


def ensure_dagster_home(default: Path) -> Path:
    """Use $DAGSTER_HOME, or ``default``; make sure it exists with telemetry disabled."""
    home = Path(os.environ.get("DAGSTER_HOME") or default).resolve()
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    if not settings.exists():
        settings.write_text(DAGSTER_YAML, encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def get_instance(default_home: Path) -> dg.DagsterInstance:
    ensure_dagster_home(default_home)
    return dg.DagsterInstance.get()

"""The project-local Dagster instance (``$DAGSTER_HOME``), with telemetry off and one
sync at a time per warehouse.

``custmaster run`` records its runs here, so ``dagster dev`` started with the same
DAGSTER_HOME shows them.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

#: Telemetry off; at most one queued run per warehouse file in progress (DuckDB has one
#: writer): the sync job tags its runs with ``custmaster/warehouse`` (pipelines.schedules).
DAGSTER_YAML = """\
telemetry:
  enabled: false
concurrency:
  runs:
    tag_concurrency_limits:
      - key: custmaster/warehouse
        value:
          applyLimitPerUniqueValue: true
        limit: 1
"""


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

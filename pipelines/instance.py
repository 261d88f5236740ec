"""The project-local Dagster instance (``$DAGSTER_HOME``), with telemetry off, one sync at a
time per warehouse and the event log kept open between events.

``custmaster run`` records its runs here, so ``dagster dev`` started with the same
DAGSTER_HOME shows them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg

#: Telemetry off; at most one queued run per warehouse file in progress (DuckDB has one
#: writer): the sync job tags its runs with ``custmaster/warehouse`` (pipelines.schedules).
_SETTINGS = """\
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

#: What an earlier version wrote: a home holding exactly this is brought to the current text.
EARLIER_DAGSTER_YAML = _SETTINGS

#: The event log in Dagster's own place (``history/runs`` of the home), kept open between
#: events (``pipelines.event_log``: 3.2 s of a sync's 7.7 s went to opening and closing it).
_EVENT_LOG = """\
event_log_storage:
  module: pipelines.event_log
  class: KeptOpenSqliteEventLogStorage
  config:
    base_dir: {runs}
"""


def dagster_yaml(home: Path) -> str:
    """The ``dagster.yaml`` this project writes for the instance in ``home``."""
    runs = json.dumps((home / "history" / "runs").as_posix() + "/")  # quoted: any path is YAML
    return _SETTINGS + _EVENT_LOG.format(runs=runs)


def ensure_dagster_home(default: Path) -> Path:
    """Use $DAGSTER_HOME, or ``default``; make sure it exists with our settings.

    A ``dagster.yaml`` this project wrote is written again when it is not what it writes now
    (an earlier version's, or one copied with its home from another folder, whose event log
    would name the other folder); one a person wrote is left as it is."""
    home = Path(os.environ.get("DAGSTER_HOME") or default).resolve()
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    wanted = dagster_yaml(home)
    text = settings.read_text(encoding="utf-8") if settings.exists() else None
    if text is None or (text != wanted and _ours(text)):
        settings.write_text(wanted, encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def _ours(text: str) -> bool:
    """Whether ``text`` is a ``dagster.yaml`` this project wrote (for any home)."""
    if text == EARLIER_DAGSTER_YAML:
        return True
    head, _, runs = text.partition("    base_dir: ")
    return (
        head + "    base_dir: {runs}\n" == _SETTINGS + _EVENT_LOG
        and runs.startswith('"')
        and runs.endswith('/"\n')
        and runs.count("\n") == 1
    )


def get_instance(default_home: Path) -> dg.DagsterInstance:
    ensure_dagster_home(default_home)
    return dg.DagsterInstance.get()

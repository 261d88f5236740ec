"""Which deployment config a command reads when none is named.

``$CUSTMASTER_CONFIG``, else the demo's ``config/demo.yaml``. Apart from
``pipelines.definitions``, whose import builds the Dagster definitions (Dagster, the
assets and the report's charting libraries: a third of ``custmaster serve``'s start-up),
so that a command that runs no Dagster job does not import Dagster to find its config.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "demo.yaml"
#: The environment variable naming the deployment config.
CONFIG_VARIABLE = "CUSTMASTER_CONFIG"


def config_path_from_env() -> Path:
    return Path(os.environ.get(CONFIG_VARIABLE, DEFAULT_CONFIG))

"""Great Expectations imports in any process, pyspark installed or not."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_gx_imports_where_the_main_module_has_no_file():
    """pytest-xdist workers run ``python -c``: their main module has no file, which pyspark
    (installed with the spark extra) takes for its own doctests, exiting the process when GX
    probes its Spark Connect client."""
    code = "from quality.gx import _import_gx; _import_gx(); print('imported')"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"GX_ANALYTICS_ENABLED": "false", "PATH": ""},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imported", done.stderr

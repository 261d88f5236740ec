"""Great Expectations imports in any process, pyspark installed or not."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str) -> subprocess.CompletedProcess[str]:
    """``code`` run by ``python -c`` in the project's folder (a main module without a file,
    as in a pytest-xdist worker), offline."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"GX_ANALYTICS_ENABLED": "false", "PATH": ""},
        timeout=300,
    )


def test_gx_imports_where_the_main_module_has_no_file():
    """pytest-xdist workers run ``python -c``: their main module has no file, which pyspark
    (installed with the spark extra) takes for its own doctests, exiting the process when GX
    probes its Spark Connect client."""
    code = "from quality.gx import _import_gx; _import_gx(); print('imported')"
    done = _python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imported", done.stderr


def test_gx_is_imported_without_pyspark_and_leaves_it_importable():
    """GX validates pandas frames only: a process that has not imported pyspark imports GX
    as where pyspark is absent (no pyspark.ml probe), and can still import pyspark after."""
    if importlib.util.find_spec("pyspark") is None:
        pytest.skip("pyspark is not installed: nothing to keep out of GX's import")
    code = (
        "import sys; import pandas as pd\n"
        "from quality.gx import Expect, Suite, _import_gx, validate\n"
        "from quality.results import CheckDef\n"
        "_import_gx()\n"
        "print('pyspark' in sys.modules)\n"
        "check = CheckDef('known', 'error', 'known values')\n"
        "suite = Suite('t', (check,), (Expect('known', 'ExpectColumnValuesToBeInSet',\n"
        "    {'column': 'x', 'value_set': ['a']}, 'x values outside a'),))\n"
        "print(validate(suite, pd.DataFrame({'x': ['a', 'b']}))[0].passed)\n"
        "import pyspark.sql\n"
        "print(sys.modules['pyspark'] is not None)\n"
    )
    done = _python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False", "True"], done.stderr


def test_gx_is_imported_without_loading_scipy_stats_which_still_works_when_used():
    """scipy.stats serves GX's distribution expectations only: GX's import binds it without
    loading it; the first use loads it, and an import of it elsewhere gets the real module."""
    code = (
        "import sys\n"
        "from quality.gx import _import_gx\n"
        "_import_gx()\n"
        "print('scipy.stats' in sys.modules)\n"
        "from great_expectations.expectations.core import "
        "expect_column_kl_divergence_to_be_less_than as kl\n"
        "print(float(kl.stats.entropy([0.5, 0.5], [0.5, 0.5])))\n"
        "import scipy.stats\n"
        "print(type(sys.modules['scipy.stats']).__name__, scipy.stats.norm.cdf(0.0))\n"
    )
    done = _python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "0.0", "module", "0.5"], done.stderr

"""Great Expectations imports in any process, pyspark installed or not.

One fresh interpreter answers every test of the module (:func:`gx_process`): each import of
GX in a new process took 3 CPU seconds, and what each test looks at comes in an order that
keeps the others' questions open (nothing the first steps import is asked about later).
"""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Whether pyspark is installed here (the spark extra): the process imports it only then.
HAS_PYSPARK = importlib.util.find_spec("pyspark") is not None

#: What the process does, each answer on a line ``name: value`` (the module's tests read them).
#: The Dagster definitions' import first (every ``dagster`` command loads them: without GX,
#: and without pyspark and scipy.stats, which the later steps ask about), then GX's, then what
#: it left out (pyspark, scipy.stats), then their use.
STEPS = (
    "import sys; import pipelines.definitions\n"
    "print('gx_after_definitions:', 'great_expectations' in sys.modules)\n"
    "import pandas as pd\n"
    "from quality.gx import Expect, Suite, _import_gx, validate\n"
    "from quality.results import CheckDef\n"
    "_import_gx()\n"
    "print('imported: imported')\n"
    "print('pyspark_after_gx:', 'pyspark' in sys.modules)\n"
    "print('scipy_stats_after_gx:', 'scipy.stats' in sys.modules)\n"
    "check = CheckDef('known', 'error', 'known values')\n"
    "suite = Suite('t', (check,), (Expect('known', 'ExpectColumnValuesToBeInSet',\n"
    "    {'column': 'x', 'value_set': ['a']}, 'x values outside a'),))\n"
    "print('validated:', validate(suite, pd.DataFrame({'x': ['a', 'b']}))[0].passed)\n"
    "from great_expectations.expectations.core import "
    "expect_column_kl_divergence_to_be_less_than as kl\n"
    "print('entropy:', float(kl.stats.entropy([0.5, 0.5], [0.5, 0.5])))\n"
    "import scipy.stats\n"
    "print('scipy_stats:', type(sys.modules['scipy.stats']).__name__, scipy.stats.norm.cdf(0.0))\n"
) + (
    "import pyspark.sql\nprint('pyspark_imported:', sys.modules['pyspark'] is not None)\n"
    if HAS_PYSPARK
    else ""
)


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


@pytest.fixture(scope="module")
def gx_process() -> tuple[subprocess.CompletedProcess[str], dict[str, list[str]]]:
    """The process that ran :data:`STEPS`, and its answers by name (the words after it)."""
    done = _python(STEPS)
    answers = {}
    for line in done.stdout.splitlines():
        name, _, value = line.partition(":")
        answers[name] = value.split()
    return done, answers


def test_gx_imports_where_the_main_module_has_no_file(gx_process):
    """pytest-xdist workers run ``python -c``: their main module has no file, which pyspark
    (installed with the spark extra) takes for its own doctests, exiting the process when GX
    probes its Spark Connect client."""
    done, answers = gx_process
    assert done.returncode == 0, done.stderr
    assert answers["imported"] == ["imported"], done.stderr


def test_gx_is_imported_without_pyspark_and_leaves_it_importable(gx_process):
    """GX validates pandas frames only: a process that has not imported pyspark imports GX
    as where pyspark is absent (no pyspark.ml probe), and can still import pyspark after."""
    if not HAS_PYSPARK:
        pytest.skip("pyspark is not installed: nothing to keep out of GX's import")
    done, answers = gx_process
    assert done.returncode == 0, done.stderr
    said = [answers[name][0] for name in ("pyspark_after_gx", "validated", "pyspark_imported")]
    assert said == ["False", "False", "True"], done.stderr


def test_gx_is_imported_without_loading_scipy_stats_which_still_works_when_used(gx_process):
    """scipy.stats serves GX's distribution expectations only: GX's import binds it without
    loading it; the first use loads it, and an import of it elsewhere gets the real module."""
    done, answers = gx_process
    assert done.returncode == 0, done.stderr
    said = answers["scipy_stats_after_gx"] + answers["entropy"] + answers["scipy_stats"]
    assert said == ["False", "0.0", "module", "0.5"], done.stderr


def test_loading_the_definitions_does_not_import_great_expectations(gx_process):
    """Great Expectations takes seconds to import: the checks import it in their bodies, never
    where the Dagster definitions load (the default config's, as a ``dagster`` command)."""
    done, answers = gx_process
    assert done.returncode == 0, f"importing the definitions failed:\n{done.stderr}"
    assert answers["gx_after_definitions"] == ["False"], done.stderr

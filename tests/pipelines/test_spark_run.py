"""``custmaster run`` with ``matching: {backend: spark}`` on the demo publishes the same kind of
outputs as the run on DuckDB.

Both runs are shared builds (``demo_run``, ``demo_spark_run`` in ``tests/conftest.py``): the
same exports, each run from scratch; the Spark one trained its models on Spark. That the
Spark run is as accurate (F1 against the truth within 0.005) and agrees with the DuckDB run
is asserted in ``tests/matching/linkage/test_spark_backend.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

from sources.config import load_config


def _manifest(demo: Path) -> dict:
    exports = load_config(demo / "customer_master.yaml").exports_path
    return json.loads((exports / "_manifest.json").read_text(encoding="utf-8"))


def _serving_files(demo: Path) -> set[str]:
    serving = load_config(demo / "customer_master.yaml").serving_path
    current = json.loads((serving / "CURRENT.json").read_text(encoding="utf-8"))
    return {p.name for p in (serving / current["folder"]).iterdir()}


def test_a_run_on_spark_publishes_what_a_run_on_duckdb_publishes(demo_spark_run, demo_run):
    outcome = demo_spark_run.outcome
    assert outcome.succeeded, outcome.render()
    assert [c.label for c in outcome.checks] == [c.label for c in demo_run.outcome.checks]
    on_spark, on_duckdb = _manifest(demo_spark_run.folder), _manifest(demo_run.folder)
    assert on_spark["tables"].keys() == on_duckdb["tables"].keys()
    exports = load_config(demo_spark_run.folder / "customer_master.yaml").exports_path
    for name, table in on_spark["tables"].items():
        assert table["columns"] == on_duckdb["tables"][name]["columns"], name
        assert (exports / table["file"]).is_file(), name
        assert (table["rows"] > 0) == (on_duckdb["tables"][name]["rows"] > 0), name
    assert _serving_files(demo_spark_run.folder) == _serving_files(demo_run.folder)
    assert outcome.report is not None and outcome.report.is_file()

"""What the Spark tests share: skipping where Spark cannot run, a lean session, the demo's
DuckDB results to compare with."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from matching.linkage.spark_session import spark_problem

#: Settings that keep a test session small and on the loopback address: no UI, no progress
#: bars, few shuffle partitions for a few hundred records.
LEAN_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.driver.memory": "1g",
}

#: The ``spark:`` section of a test deployment that matches in Spark local mode.
SPARK_TEST_SETTINGS = {
    "master": "local[2]",
    "app_name": "customer-master-tests",
    "conf": LEAN_CONF,
}


def skip_without_spark() -> None:
    """Skip (saying why) where Java or pyspark is missing; everywhere else Spark must run."""
    problem = spark_problem()
    if problem:
        print(f"Spark tests skipped: {problem}")  # noqa: T201 - the reason, in the test log
        pytest.skip(f"Spark cannot run here: {problem}")


def read_demo(folder: Path, sql: str) -> pd.DataFrame:
    """A query on a built demo's warehouse, read-only (the demo is shared)."""
    con = duckdb.connect(str(folder / "out" / "warehouse.duckdb"), read_only=True)
    try:
        return con.sql(sql).df()
    finally:
        con.close()

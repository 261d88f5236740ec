"""Where Splink runs: a private in-memory DuckDB per run, or a Spark session (SparkAPI).

Splink leaves ``__splink__`` working tables behind and holds its connection for the
whole run, so it never runs on the warehouse file: each training or prediction run gets
its own in-memory database, closed when the run ends.

On Spark (``matching.backend: spark``) the records travel as Parquet: the prepared table
is written to the exchange folder and read by Spark, and what comes back (pairs,
clusters) is written there by Spark and read by this process, which hands it on as a
pandas table like the DuckDB path does, so everything after matching is the same. Each
run uses a folder of its own under the exchange folder, removed when the run ends.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from splink import DuckDBAPI

logger = logging.getLogger(__name__)

SUPPORTED_BACKENDS = ("duckdb", "spark")


@dataclass(frozen=True)
class SparkRun:
    """A Spark session to match on and the folder that carries Parquet to it and back.

    Attributes:
        session: a ``pyspark.sql.SparkSession`` (typed loosely: pyspark is an extra).
        exchange: a folder the driver and every executor see at the same path.
    """

    session: Any
    exchange: Path


def check_backend(backend: str, spark: SparkRun | None = None) -> str:
    """``backend`` if this build can run it (and, for Spark, a session was given).

    Raises:
        ValueError: an unknown backend, or 'spark' without a Spark session.
    """
    if backend not in SUPPORTED_BACKENDS:
        raise ValueError(
            f"matching backend {backend!r} is not supported; supported: "
            f"{', '.join(SUPPORTED_BACKENDS)}"
        )
    if backend == "spark" and spark is None:
        raise ValueError("matching backend 'spark' needs a Spark session (SparkRun); none given")
    return backend


@dataclass
class SplinkDatabase:
    """One run's Splink database API, and how tables go in and come out of it."""

    api: Any  # DuckDBAPI or SparkAPI
    spark: SparkRun | None = None
    folder: Path | None = None

    def register(self, table: pa.Table, name: str) -> Any:
        """Register a prepared table with Splink (on Spark: through a Parquet file)."""
        if self.spark is None:
            return self.api.register(table, dataset_display_name=name)
        path = self._path(name)
        pq.write_table(table, path)
        partitions = self.api.size_partitions(table.num_rows)
        logger.debug("%s: %d records, %d partitions", name, table.num_rows, partitions)
        frame = self.spark.session.read.parquet(str(path))
        # the session outlives this run: a name of the run's own, so no view is reused
        return self.api.register(frame, dataset_display_name=f"{name}_{self._run}")

    def fetch(self, sql: str, name: str) -> pd.DataFrame:
        """The result of a query on Splink's tables as a pandas table (on Spark: through
        Parquet files Spark writes and this process reads)."""
        if self.spark is None:
            return self.api.duckdb_con.sql(sql).df()
        path = self._path(name)
        self.spark.session.sql(sql).write.mode("overwrite").parquet(str(path))
        return pq.read_table(path).to_pandas()

    def has_rows(self, sql: str) -> bool:
        """Whether a query returns at least one row."""
        if self.spark is None:
            return len(self.api.duckdb_con.execute(f"{sql} limit 1").fetchall()) > 0
        return len(self.spark.session.sql(sql).take(1)) > 0

    @property
    def _run(self) -> str:
        assert self.folder is not None
        return self.folder.name.replace("-", "_")

    def _path(self, name: str) -> Path:
        assert self.folder is not None
        return self.folder / f"{name}.parquet"


@contextmanager
def splink_database(backend: str = "duckdb", threads: int | None = None) -> Iterator[DuckDBAPI]:
    """A Splink database API on a fresh in-memory DuckDB, closed on exit (the duplicate
    check, explanations and blocking report always run here, whatever the backend).

    Args:
        backend: 'duckdb'.
        threads: DuckDB worker threads; None leaves DuckDB's default (all cores).
    """
    if backend != "duckdb":
        raise ValueError(f"splink_database runs on DuckDB only, not {backend!r}")
    con = duckdb.connect(":memory:")
    if threads is not None:
        con.execute(f"SET threads = {int(threads)}")
    logger.debug("opened in-memory DuckDB for Splink")
    try:
        yield DuckDBAPI(connection=con)
    finally:
        con.close()
        logger.debug("closed Splink's in-memory DuckDB")


@contextmanager
def matching_database(
    backend: str = "duckdb", threads: int | None = None, spark: SparkRun | None = None
) -> Iterator[SplinkDatabase]:
    """The Splink database of one training, prediction or clustering run.

    Args:
        backend: 'duckdb' (a fresh in-memory DuckDB) or 'spark' (Splink's SparkAPI).
        threads: DuckDB worker threads; None leaves DuckDB's default (all cores).
        spark: the session and exchange folder, for 'spark'.
    """
    check_backend(backend, spark)
    if backend == "duckdb":
        with splink_database(threads=threads) as api:
            yield SplinkDatabase(api)
        return
    assert spark is not None
    from matching.linkage.spark_api import MatchingSparkAPI

    folder = spark.exchange / f"run-{uuid.uuid4().hex[:12]}"
    folder.mkdir(parents=True)
    session = spark.session
    context = session.sparkContext
    # Splink cuts long query lineages by writing Parquet to the checkpoint folder: a
    # folder of this run's own under the session's, removed with the run when it is local
    base = session.conf.get("spark.checkpoint.dir", None) or str(spark.exchange / "checkpoints")
    checkpoints = f"{base.rstrip('/')}/{folder.name}"
    context.setCheckpointDir(checkpoints)
    before = {t.name for t in session.catalog.listTables() if t.isTemporary}
    try:
        yield SplinkDatabase(MatchingSparkAPI(spark_session=session), spark, folder)
    finally:
        for table in session.catalog.listTables():
            if table.isTemporary and table.name not in before:
                session.catalog.dropTempView(table.name)
        session.catalog.clearCache()
        shutil.rmtree(folder, ignore_errors=True)
        if "://" not in checkpoints or checkpoints.startswith("file:"):
            shutil.rmtree(checkpoints.removeprefix("file:"), ignore_errors=True)

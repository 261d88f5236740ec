"""Resources shared by every asset: the deployment's config, its warehouse and, for
``matching.backend: spark``, the Spark session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import PrivateAttr

from matching.linkage.backend import SparkRun
from matching.linkage.spark_session import start_spark
from sources.config import PipelineConfig, load_config
from warehouse.store import LAYERS
from warehouse.sync_lock import hold_warehouse


class Deployment(dg.ConfigurableResource):
    """The YAML config that describes this deployment's sources and outputs."""

    config_path: str

    @cached_property
    def config(self) -> PipelineConfig:
        return load_config(self.config_path)


class Warehouse(DuckDBResource):
    """The DuckDB warehouse file, with one schema per layer, held by one run at a time.

    Every asset and check of the sync needs this resource, and Dagster sets it up once per
    run before the first step and tears it down after the last when the steps run in one
    process (the Definitions' in-process executor, in ``custmaster run``, the daemon's runs
    and the UI's alike). So the sync lock taken here (:mod:`warehouse.sync_lock`) holds the
    warehouse from the first step to the publish, whoever started the run; a second run
    waits ``sync_wait_seconds`` for it, then fails naming the run that holds it. (``custmaster
    run`` takes the lock itself a moment earlier, to keep it over its summary too; its job
    asking again in the same thread passes through.)

    The run also keeps one connection to the warehouse open from its first step to its last
    (:meth:`_kept_open`), so that each ``connect()`` of a step is served by the database
    DuckDB already has open in the process. Without it every ``connect()`` opened the file
    afresh (reading the catalog) and every close checkpointed it: a sync opens the warehouse
    about 120 times, 40 ms each measured at 100k records under load (1.3 ms with the
    connection kept), about 0.1 s each at 1M. A run killed midway leaves its last writes in
    DuckDB's write-ahead log, which the next opening replays, as it did before. The database
    kept open keeps the pages DuckDB has read cached for the whole run: 1.5 GiB more at the
    peak of a 1M sync (6.49 GiB instead of 4.97); ``memory_limit`` bounds that cache (3GB:
    5.84 GiB, as fast). It is set on the database the run keeps open, so every step's
    connection has it.
    """

    #: the Definitions set it from the config's ``sync.wait_seconds``
    sync_wait_seconds: int = 0
    #: the Definitions set it from the config's ``sync.memory_limit``: DuckDB's
    #: ``memory_limit`` for the run's database (absent: DuckDB's own, 80% of the machine's)
    memory_limit: str | None = None

    _schemas_made: bool = PrivateAttr(default=False)

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[Warehouse]:
        run_id = context.run.run_id if context.run else "(outside a run)"
        say = {"say": context.log.warning} if context.log else {}  # the run's event log
        with hold_warehouse(Path(self.database), run_id, self.sync_wait_seconds, **say):
            with super().yield_for_execution(context) as resource, self._kept_open():
                yield resource

    @contextmanager
    def _kept_open(self) -> Iterator[None]:
        """One connection open for the run: DuckDB then keeps the database open in the
        process, and the steps' connections (same file, same settings) share it. The layers'
        schemas are made once for the run, not at each of the steps' 120 or so connections."""
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        with self.get_connection() as con:
            if self.memory_limit:  # checked by the config; set on the database, for every step
                con.execute(f"SET GLOBAL memory_limit = '{self.memory_limit}'")
            _make_schemas(con)
            self._schemas_made = True
            try:
                yield
            finally:
                self._schemas_made = False
                con.close()

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        with self.get_connection() as con:
            if not self._schemas_made:
                _make_schemas(con)
            yield con


def _make_schemas(con: duckdb.DuckDBPyConnection) -> None:
    for layer in LAYERS:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {layer}")


class Spark(dg.ConfigurableResource):
    """The Spark session the matching steps run Splink on when ``matching.backend`` is spark.

    Our own thin resource rather than dagster-pyspark's ``PySparkResource``: that one starts
    its session when the run starts, needs pyspark importable wherever the Definitions
    load, and knows nothing of Splink's jar. This one starts the session at the first
    matching step that asks (a DuckDB deployment never starts a JVM, and needs no pyspark),
    says plainly when Java or pyspark is missing (:mod:`matching.linkage.spark_session`),
    uses a notebook's or a job cluster's active session when there is one, and stops at the
    end of the run only a session it started itself.
    """

    master: str = "local[*]"
    app_name: str = "customer-master"
    conf: dict[str, str] = {}
    #: folder the Parquet files go through; the Definitions set it from ``spark.exchange_dir``
    exchange_dir: str = "spark"

    _session: Any = PrivateAttr(default=None)
    _started: bool = PrivateAttr(default=False)

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[Spark]:
        try:
            yield self
        finally:
            if self._started and self._session is not None:
                self._session.stop()
                if context.log:
                    context.log.info("stopped the Spark session")

    def run(self) -> SparkRun:
        """The session (started now if this run has none yet) and the exchange folder."""
        exchange = Path(self.exchange_dir)
        if self._session is None:
            self._session, self._started = start_spark(
                self.master, self.app_name, self.conf, exchange
            )
        return SparkRun(self._session, exchange)

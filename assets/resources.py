"""Resources shared by every asset: the deployment's config and its warehouse."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

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
    """

    #: the Definitions set it from the config's ``sync.wait_seconds``
    sync_wait_seconds: int = 0

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[Warehouse]:
        run_id = context.run.run_id if context.run else "(outside a run)"
        say = {"say": context.log.warning} if context.log else {}  # the run's event log
        with hold_warehouse(Path(self.database), run_id, self.sync_wait_seconds, **say):
            with super().yield_for_execution(context) as resource:
                yield resource

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        with self.get_connection() as con:
            for layer in LAYERS:
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {layer}")
            yield con

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


class Deployment(dg.ConfigurableResource):
    """The YAML config that describes this deployment's sources and outputs."""

    config_path: str

    @cached_property
    def config(self) -> PipelineConfig:
        return load_config(self.config_path)


class Warehouse(DuckDBResource):
    """The DuckDB warehouse file, with one schema per layer."""

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        with self.get_connection() as con:
            for layer in LAYERS:
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {layer}")
            yield con

"""How an asset decides, at the start of its step, whether this sync rebuilds it, updates
it with what changed, or leaves it as it is (``warehouse.step_inputs``).

An asset names what decides *how* it builds (config sections, models, files) and the
tables it builds *from*; :func:`plan_step` fingerprints both and compares them with what
its last build read. The asset does the work the :class:`~warehouse.step_inputs.Decision`
says, then calls :meth:`StepPlan.done` so the next sync knows. A run tagged
``custmaster/sync: full`` (``custmaster run --full``) rebuilds everything.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from assets.metadata import PART_TABLES
from assets.resources import Warehouse
from sources.config import PipelineConfig
from warehouse.step_inputs import (
    Decision,
    StepInputs,
    TableChanges,
    carry_table_fingerprints,
    code_fingerprint,
    decide,
    drop_table_fingerprints,
    file_fingerprint,
    fingerprint,
    keep_file_fingerprints,
    keep_table_fingerprint,
    kept_table_fingerprint,
    kept_table_sums,
    recall_file_fingerprints,
    remember,
    table_fingerprint,
    table_sum,
)
from warehouse.store import table_exists

#: Run tag naming the kind of sync asked for: ``full`` rebuilds every step.
SYNC_TAG = "custmaster/sync"
#: Metadata key on every materialisation: what the step did in this sync and why.
WORK_METADATA = "custmaster/work"


@dataclass(frozen=True)
class StepPlan:
    """A step's decision for this sync and the inputs it was made on; ``writes``: the
    ``schema.table`` names of the step's assets and their part tables, whose kept
    fingerprints its build drops; ``changes``: the fingerprints of those tables as they were
    before this sync wrote them, for an incremental step to carry through its writes (see
    :class:`~warehouse.step_inputs.TableChanges`; empty for a whole build)."""

    inputs: StepInputs
    decision: Decision
    writes: tuple[str, ...] = ()
    changes: TableChanges = field(default_factory=TableChanges)

    @property
    def skip(self) -> bool:
        return self.decision.work == "skip"

    @property
    def incremental(self) -> bool:
        return self.decision.work == "incremental"

    def done(
        self, warehouse: Warehouse, run_id: str, con: duckdb.DuckDBPyConnection | None = None
    ) -> None:
        """Record the inputs once the step's tables are written (on ``con`` when given); the
        fingerprints of its tables taken before they were written no longer hold, those the
        step carried through its writes (:attr:`changes`) hold in this run."""
        with _connection(warehouse, con) as opened:
            _drop(opened, warehouse, self.writes, run_id)
            for table, summed in self.changes.after(opened).items():
                if table in self.writes:
                    keep_table_fingerprint(opened, table, summed, run_id)
            remember(opened, self.inputs, run_id)

    def metadata(self) -> dict[str, str]:
        return {WORK_METADATA: f"{self.decision.work}: {self.decision.reason}"}


@contextmanager
def _connection(
    warehouse: Warehouse, con: duckdb.DuckDBPyConnection | None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """``con`` when the caller holds one, else a new connection to ``warehouse``: a step that
    plans many parts (the publish step, one plan per table) opens the warehouse once, not
    three times per part (each open reads the catalog: about 0.1 s)."""
    if con is not None:
        yield con
    else:
        with warehouse.connect() as opened:
            yield opened


def full_sync_asked(context: dg.AssetExecutionContext) -> bool:
    return context.run.tags.get(SYNC_TAG) == "full"


def plan_step(
    context: dg.AssetExecutionContext,
    warehouse: Warehouse,
    step: str,
    *,
    incremental: bool = False,
    con: duckdb.DuckDBPyConnection | None = None,
    **reads: Any,
) -> StepPlan:
    """Decide this sync's work for ``step`` from what it reads (``settings``, ``tables``,
    ``files``, ``data``: see :func:`step_inputs`); ``incremental`` says whether the step can
    work on changed data only; ``con``: a connection the caller holds, used throughout."""
    inputs = step_inputs(warehouse, step, run_id=context.run_id, con=con, **reads)
    writes = _written_tables(context.assets_def)
    changes = TableChanges()
    with _connection(warehouse, con) as opened:
        decision = decide(opened, inputs, full=full_sync_asked(context), incremental=incremental)
        if decision.work == "skip":
            remember(opened, inputs, context.run_id)  # part of this run's inputs, unchanged
            # it writes nothing: its tables' kept fingerprints hold in this run too
            carry_table_fingerprints(
                opened, _tables_of(context.selected_asset_keys), context.run_id
            )
        else:
            if decision.work == "incremental":  # what its writes start from, before the drop
                changes = TableChanges(kept_table_sums(opened, writes))
            _drop(opened, warehouse, writes, context.run_id)
    context.log.info(f"{step}: {decision.work} ({decision.reason})")
    return StepPlan(inputs, decision, writes, changes)


def _written_tables(assets_def: dg.AssetsDefinition) -> tuple[str, ...]:
    """The tables a step writes: its assets' own and their part tables (``PART_TABLES``)."""
    parts = (
        table
        for key in assets_def.keys
        for table in assets_def.metadata_by_key.get(key, {}).get(PART_TABLES, ())
    )
    return tuple(sorted({*_tables_of(assets_def.keys), *parts}))


def _tables_of(keys: Iterable[dg.AssetKey]) -> tuple[str, ...]:
    """The ``schema.table`` a warehouse asset's key names (``raw/dealers``: ``raw.dealers``)."""
    return tuple(sorted(".".join(key.path) for key in keys if len(key.path) == 2))


def step_inputs(
    warehouse: Warehouse,
    step: str,
    *,
    settings: Iterable[object] = (),
    tables: Sequence[str] = (),
    files: Sequence[Path] = (),
    data: Iterable[object] = (),
    run_id: str | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> StepInputs:
    """The fingerprints :func:`plan_step` decides on.

    Args:
        settings: what decides how the step builds (config sections as dicts, model files'
            fingerprints); the code of the domain folders is always part of it.
        tables: ``schema.table`` names the step builds from.
        files: files the step builds from (the stewards' decisions).
        data: anything else the step builds from (the day, for steps whose result
            depends on it).
        run_id: the running sync, whose table fingerprints are taken once.
        con: a connection the caller holds (else one is opened).
    """
    with _connection(warehouse, con) as opened:
        if files:
            recall_file_fingerprints(opened)  # an export unchanged since the last sync: not read
        content = fingerprint(
            *(run_table_fingerprint(opened, warehouse, name, run_id) for name in tables),
            *(file_fingerprint(path) for path in files),
            *data,
        )
        if files:
            keep_file_fingerprints(opened, files)
    return StepInputs(step, fingerprint(code_fingerprint(), *settings), content)


#: Table fingerprints of the running sync: (run id, warehouse, table) → fingerprint. A table
#: is written by one step and read by steps after it, so within a run its fingerprint, once
#: taken by a reader, holds; several readers of staging.customers hash it once.
_RUN_FINGERPRINTS: dict[tuple[str, str, str], str] = {}


def run_table_fingerprint(
    con: duckdb.DuckDBPyConnection, warehouse: Warehouse, table: str, run_id: str | None
) -> str:
    """``table_fingerprint`` of ``schema.table``, taken once per run (none: not kept) and kept
    in the warehouse: the one its writer carried into this run when it skipped, if any."""
    if run_id is None:
        return table_fingerprint(con, *table.split("."))
    key = (run_id, warehouse.database, table)
    if key not in _RUN_FINGERPRINTS:
        if len(_RUN_FINGERPRINTS) > 1000:
            _RUN_FINGERPRINTS.clear()
        digest = kept_table_fingerprint(con, table, run_id)
        if digest is None:
            summed = table_sum(con, *table.split("."))
            digest = "" if summed is None else summed.fingerprint()
            if summed is not None:
                keep_table_fingerprint(con, table, summed, run_id)
        _RUN_FINGERPRINTS[key] = digest
    return _RUN_FINGERPRINTS[key]


def _drop(
    con: duckdb.DuckDBPyConnection, warehouse: Warehouse, tables: Sequence[str], run_id: str
) -> None:
    """``tables`` are (being) written in ``run_id``: no fingerprint taken of them holds."""
    drop_table_fingerprints(con, tables)
    for table in tables:
        _RUN_FINGERPRINTS.pop((run_id, warehouse.database, table), None)


def deployment_settings(config: PipelineConfig) -> dict[str, object]:
    """The config as a step's settings: any change rebuilds (schedule, sensor, sync, serve and
    access and spark excepted: they decide when a sync runs, how long it waits, how the service
    runs, who reads the published sets and which Spark cluster matches, not what a sync builds;
    the publish step, which cuts the role sets, runs at every sync)."""
    return config.model_dump(
        mode="json", exclude={"schedule", "sensor", "sync", "serve", "access", "spark"}
    )


def matching_settings(config: PipelineConfig, warehouse: Warehouse) -> list[object]:
    """Settings of a step that scores with the models in use: the config and those models."""
    return [deployment_settings(config), models_settings(warehouse)]


def models_settings(warehouse: Warehouse) -> list[str]:
    """The model files this sync matches with (``matching.models``), by content."""
    with warehouse.connect() as con:
        if not table_exists(con, "matching", "models"):
            return []
        paths = [
            Path(p)
            for (p,) in con.sql("SELECT path FROM matching.models ORDER BY entity_type").fetchall()
        ]
    return [file_fingerprint(p) for p in paths]

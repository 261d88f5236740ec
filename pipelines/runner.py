"""Run the whole pipeline in-process and explain the outcome to a person.

Used by ``custmaster run``: every asset of the deployment is materialised in one Dagster
run recorded in the project-local instance; failures are reported with the asset and
the error message (which names file, row and field for bad input), failed blocking
checks by name, and a summary of what each layer holds.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from assets.step_work import SYNC_TAG, WORK_METADATA
from matching.linkage.spark_session import SparkUnavailable, spark_problem
from pipelines import collector
from pipelines.config_path import CONFIG_VARIABLE
from pipelines.instance import get_instance
from pipelines.quality_summary import CheckStatus, check_statuses, render_checks, write_summary
from pipelines.schedules import SYNC_JOB
from warehouse.report import report_folder
from warehouse.summary import WarehouseSummary, summarise_warehouse
from warehouse.sync_lock import hold_warehouse

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@dataclass
class RunOutcome:
    """What happened in one run: success, failures, failed checks and the warehouse summary."""

    run_id: str
    succeeded: bool
    failures: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    summary: WarehouseSummary | None = None
    checks: list[CheckStatus] = field(default_factory=list)
    quality_dir: Path | None = None
    work: dict[str, str] = field(default_factory=dict)

    @property
    def sync_kind(self) -> str:
        """Which kind of sync ran and why, from what each step did (``custmaster/work``)."""
        return describe_sync(self.work)

    report: Path | None = None

    def render(self) -> str:
        lines = [f"run {self.run_id}: {'succeeded' if self.succeeded else 'FAILED'}"]
        if self.work:
            lines.append(f"  sync: {self.sync_kind}")
        lines += [f"  failed: {f}" for f in self.failures]
        lines += [f"  blocking check failed: {c}" for c in self.failed_checks]
        if self.summary is not None:
            lines.append(self.summary.render())
        if self.checks:
            lines.append(render_checks(self.checks, self.quality_dir))
        if self.report is not None:
            lines.append(f"\nsync report: {self.report}")
        return "\n".join(lines)


def run_pipeline(config_path: Path, retrain: bool = False, full: bool = False) -> RunOutcome:
    """Materialise every asset for ``config_path``; never raises for a failed step.

    ``retrain`` trains new model versions even when saved ones exist (and so rebuilds what
    they score); ``full`` rebuilds every step instead of working on what changed.

    Raises:
        SyncInProgress: another sync still held the warehouse after ``sync.wait_seconds``.
        SparkUnavailable: the deployment matches on Spark and this machine has no Java or
            no pyspark (said before any step runs, naming what to install).
    """
    with _config_in_environment(config_path):
        return _run(config_path, retrain, full)


@contextmanager
def _config_in_environment(config_path: Path) -> Iterator[None]:
    """``$CUSTMASTER_CONFIG`` naming ``config_path`` while the run lasts (the processes a
    step starts load the definitions from it), as it was afterwards: a run does not change
    which deployment the caller's next command, or the next run in this process, reads."""
    before = os.environ.get(CONFIG_VARIABLE)
    os.environ[CONFIG_VARIABLE] = str(Path(config_path).resolve())
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(CONFIG_VARIABLE, None)
        else:
            os.environ[CONFIG_VARIABLE] = before


def _run(config_path: Path, retrain: bool, full: bool) -> RunOutcome:
    from pipelines.definitions import build_definitions

    defs = build_definitions(config_path)
    config = defs.resources["deployment"].config
    if config.matching.backend == "spark":
        problem = spark_problem()
        if problem:
            raise SparkUnavailable(f"matching.backend is spark, but {problem}")
    job = defs.resolve_job_def(SYNC_JOB)  # the job the schedule and the sensor start
    instance = get_instance(PROJECT_ROOT / ".dagster_home")
    run_id = str(uuid.uuid4())
    collector.loaded()  # the code and the definitions: out of the run's cycle collections
    # held over the summary too, so it describes this run's warehouse and not the next one's
    with hold_warehouse(config.warehouse_path, run_id, config.sync.wait_seconds):
        result = job.execute_in_process(
            instance=instance,
            run_id=run_id,
            raise_on_error=False,
            tags={SYNC_TAG: "full"} if full else None,
            run_config={
                "loggers": {"console": {"config": {"log_level": "WARNING"}}},
                "ops": {"matching__models": {"config": {"retrain": retrain}}},
            },
        )
        summary = summarise_warehouse(config) if config.warehouse_path.exists() else None
    failures = [
        f"{event.step_key}: {_root_cause(event.step_failure_data.error)}"
        for event in result.all_events
        if event.event_type == dg.DagsterEventType.STEP_FAILURE
        # a failed blocking check fails its step too; it is reported with the checks below
        and event.step_failure_data.error.cls_name != "DagsterAssetCheckFailedError"
    ]
    failed_checks = [
        f"{evaluation.asset_key.to_user_string()} · {evaluation.check_name}"
        for evaluation in result.get_asset_check_evaluations()
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    ]
    checks = check_statuses(
        set(job.asset_layer.asset_graph.asset_check_keys), result.get_asset_check_evaluations()
    )
    quality_dir = config.output_path / "quality" / result.run_id
    if checks:
        write_summary(quality_dir, result.run_id, checks)
    materialized = [
        e.step_materialization_data.materialization
        for e in result.get_asset_materialization_events()
    ]
    work = {
        m.asset_key.to_user_string(): str(m.metadata[WORK_METADATA].value)
        for m in materialized
        if WORK_METADATA in m.metadata
    }
    report = report_folder(config) / f"{result.run_id}.html"
    return RunOutcome(
        run_id=result.run_id,
        work=work,
        succeeded=result.success and not failed_checks,
        failures=failures,
        failed_checks=failed_checks,
        summary=summary,
        checks=checks,
        quality_dir=quality_dir if checks else None,
        report=report if report.exists() else None,
    )


def describe_sync(work: dict[str, str]) -> str:
    """``full``, ``incremental`` or ``no change``, with the reason: a full sync names the first
    step's reason for rebuilding (first sync, --full, config or model changed)."""
    kinds = {step: text.split(": ", 1) for step, text in work.items()}
    rebuilt = [(step, why) for step, (kind, why) in kinds.items() if kind == "full"]
    updated = [step for step, (kind, _) in kinds.items() if kind == "incremental"]
    skipped = [step for step, (kind, _) in kinds.items() if kind == "skip"]
    if not rebuilt and not updated:
        return "no change: every step's inputs are unchanged since the last sync"
    if rebuilt and not updated and not skipped:
        return f"full ({rebuilt[0][1]})"
    parts = [f"{len(updated)} step(s) updated with what changed"] if updated else []
    if rebuilt:
        parts.append(
            f"{len(rebuilt)} rebuilt ({', '.join(s for s, _ in rebuilt[:4])}"
            f"{', …' if len(rebuilt) > 4 else ''})"
        )
    parts.append(f"{len(skipped)} unchanged")
    return "incremental: " + ", ".join(parts)


def _root_cause(error) -> str:
    """The error a person needs to see: the innermost cause, not Dagster's wrapper around it."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()

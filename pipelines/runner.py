"""Run the whole pipeline in-process and explain the outcome to a person.

Used by ``custmaster run``: every asset of the deployment is materialised in one Dagster
run recorded in the project-local instance; failures are reported with the asset and
the error message (which names file, row and field for bad input), failed blocking
checks by name, and a summary of what each layer holds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from pipelines.instance import get_instance
from pipelines.quality_summary import CheckStatus, check_statuses, render_checks, write_summary
from pipelines.schedules import SYNC_JOB
from warehouse.report import report_folder
from warehouse.summary import WarehouseSummary, summarise_warehouse

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
    report: Path | None = None

    def render(self) -> str:
        lines = [f"run {self.run_id}: {'succeeded' if self.succeeded else 'FAILED'}"]
        lines += [f"  failed: {f}" for f in self.failures]
        lines += [f"  blocking check failed: {c}" for c in self.failed_checks]
        if self.summary is not None:
            lines.append(self.summary.render())
        if self.checks:
            lines.append(render_checks(self.checks, self.quality_dir))
        if self.report is not None:
            lines.append(f"\nsync report: {self.report}")
        return "\n".join(lines)


def run_pipeline(config_path: Path, retrain: bool = False) -> RunOutcome:
    """Materialise every asset for ``config_path``; never raises for a failed step.

    ``retrain`` trains new model versions even when saved ones exist.
    """
    os.environ["CUSTMASTER_CONFIG"] = str(Path(config_path).resolve())
    from pipelines.definitions import build_definitions

    defs = build_definitions(config_path)
    config = defs.resources["deployment"].config
    job = defs.resolve_job_def(SYNC_JOB)  # the job the schedule and the sensor start
    instance = get_instance(PROJECT_ROOT / ".dagster_home")
    result = job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        run_config={
            "loggers": {"console": {"config": {"log_level": "WARNING"}}},
            "ops": {"matching__models": {"config": {"retrain": retrain}}},
        },
    )
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
    summary = summarise_warehouse(config) if config.warehouse_path.exists() else None
    checks = check_statuses(
        set(job.asset_layer.asset_graph.asset_check_keys), result.get_asset_check_evaluations()
    )
    quality_dir = config.output_path / "quality" / result.run_id
    if checks:
        write_summary(quality_dir, result.run_id, checks)
    report = report_folder(config) / f"{result.run_id}.html"
    return RunOutcome(
        run_id=result.run_id,
        succeeded=result.success and not failed_checks,
        failures=failures,
        failed_checks=failed_checks,
        summary=summary,
        checks=checks,
        quality_dir=quality_dir if checks else None,
        report=report if report.exists() else None,
    )


def _root_cause(error) -> str:
    """The error a person needs to see: the innermost cause, not Dagster's wrapper around it."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()

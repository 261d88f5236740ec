"""How the sync runs by itself: one job for the whole pipeline, a daily schedule, and a
sensor that starts the job when export files land, change or disappear.

Runs of the job carry the tag ``custmaster/warehouse`` (the warehouse file): with the run
queue limit in ``$DAGSTER_HOME/dagster.yaml`` (see :mod:`pipelines.instance`) the run queue
starts at most one of them per warehouse at a time, because DuckDB allows one writer. What
the queue does not see (``custmaster run``, a UI materialisation of a few assets, which
lacks the tag) is kept apart by the sync lock the warehouse resource takes
(:mod:`warehouse.sync_lock`).
"""

from __future__ import annotations

import hashlib
import time

import dagster as dg

from sources.config import PipelineConfig
from sources.landing import LandingSnapshot, landing_snapshot

SYNC_JOB = "customer_master_sync"
DAILY_SCHEDULE = "daily_customer_master_sync"
NEW_FILES_SENSOR = "new_export_files"
WAREHOUSE_TAG = "custmaster/warehouse"
TRIGGER_TAG = "custmaster/trigger"


def warehouse_tag(config: PipelineConfig) -> str:
    """A short, stable value naming the deployment's warehouse file (tag values are short)."""
    return hashlib.sha256(str(config.warehouse_path).encode("utf-8")).hexdigest()[:16]


def build_sync_job(config: PipelineConfig) -> dg.UnresolvedAssetJobDefinition:
    """Every asset and check of the deployment, from the raw files to the published exports."""
    return dg.define_asset_job(
        SYNC_JOB,
        selection=dg.AssetSelection.all(),
        description="Sync: read every export, standardise, match, master, build marts, publish.",
        tags={WAREHOUSE_TAG: warehouse_tag(config)},
    )


def build_daily_schedule(
    config: PipelineConfig, job: dg.UnresolvedAssetJobDefinition
) -> dg.ScheduleDefinition:
    """The daily sync (``schedule.cron`` in ``schedule.timezone``).

    It runs even when no file changed: follow-up lists and lifecycle stages depend on
    the date.
    """
    return dg.ScheduleDefinition(
        name=DAILY_SCHEDULE,
        job=job,
        cron_schedule=config.schedule.cron,
        execution_timezone=config.schedule.timezone,
        tags={TRIGGER_TAG: DAILY_SCHEDULE},
        default_status=(
            dg.DefaultScheduleStatus.RUNNING
            if config.schedule.running
            else dg.DefaultScheduleStatus.STOPPED
        ),
        description=f"Whole sync at {config.schedule.cron} ({config.schedule.timezone}).",
    )


def build_new_files_sensor(
    config: PipelineConfig, job: dg.UnresolvedAssetJobDefinition
) -> dg.SensorDefinition:
    """Starts a sync when a file matching a feed's pattern (or the steward decisions file)
    is new, changed or removed.

    The run key is the fingerprint of every input file's path, size and modification time:
    the same files never start a second run, whatever the cursor says. Files changed within
    ``sensor.settle_seconds`` may still be being copied: the sensor waits for them.
    """

    @dg.sensor(
        name=NEW_FILES_SENSOR,
        job=job,
        minimum_interval_seconds=config.sensor.interval_seconds,
        default_status=(
            dg.DefaultSensorStatus.RUNNING
            if config.sensor.running
            else dg.DefaultSensorStatus.STOPPED
        ),
        description="Sync when export files land, change or disappear in a feed's folder.",
    )
    def new_export_files(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        snapshot = landing_snapshot(config)
        if snapshot.unmatched:
            return dg.SkipReason(f"no file matches: {'; '.join(snapshot.unmatched)}")
        previous = LandingSnapshot.from_cursor(context.cursor)
        if previous is not None and previous.fingerprint == snapshot.fingerprint:
            return dg.SkipReason("no new, changed or removed export file since the last run")
        quiet = time.time() - snapshot.newest_mtime
        if quiet < config.sensor.settle_seconds:
            return dg.SkipReason(
                f"a file changed {quiet:.0f} s ago; waiting {config.sensor.settle_seconds} s "
                "for copies to finish"
            )
        changes = snapshot.changes_since(previous.files if previous else {})
        summary = ", ".join(f"{len(paths)} {kind}" for kind, paths in changes.items())
        context.log.info(f"export files: {summary}: {changes}")
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    run_key=f"files-{snapshot.fingerprint[:32]}",
                    tags={TRIGGER_TAG: NEW_FILES_SENSOR, "custmaster/files": summary},
                )
            ],
            cursor=snapshot.to_cursor(),
        )

    return new_export_files

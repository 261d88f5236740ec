"""The one Dagster ``Definitions`` of Customer Master.

The deployment config is read from ``$CUSTMASTER_CONFIG`` (default: the demo's
``config/demo.yaml``); one raw asset is made per configured feed. The job
``customer_master_sync`` runs everything; a daily schedule and a sensor on the export
folders start it (``pipelines.schedules``).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from assets.activity import ACTIVITY_STAGING_CHECKS, build_activity_assets
from assets.marts import build_all_marts_checks, build_marts_assets
from assets.master import MASTER_ASSETS, MASTER_CHECKS
from assets.matching import MATCHING_ASSETS, MATCHING_CHECKS
from assets.publish import build_publish_asset, serving_index
from assets.raw import build_raw_assets, build_raw_checks
from assets.report import sync_report
from assets.resources import Deployment, Spark, Warehouse
from assets.staging import STAGING_CHECKS, build_staging_assets
from pipelines.config_path import config_path_from_env
from pipelines.schedules import build_daily_schedule, build_new_files_sensor, build_sync_job
from sources.config import load_config


def build_definitions(config_path: str | Path) -> dg.Definitions:
    """Assets, checks and resources for the deployment described by ``config_path``."""
    config = load_config(config_path)
    assets = [
        *build_raw_assets(config),
        *build_staging_assets(config),
        *build_activity_assets(config),
        *MATCHING_ASSETS,
        *MASTER_ASSETS,
        *build_marts_assets(config),
    ]
    sync = build_sync_job(config)
    return dg.Definitions(
        # publishing runs after every other asset: a sync that fails anywhere publishes nothing;
        # the sync report and the service's serving index follow it
        assets=[*assets, build_publish_asset(config, assets), sync_report, serving_index],
        asset_checks=[
            *build_raw_checks(config),
            STAGING_CHECKS,
            ACTIVITY_STAGING_CHECKS,
            MATCHING_CHECKS,
            *MASTER_CHECKS,
            *build_all_marts_checks(config),
        ],
        jobs=[sync],
        schedules=[build_daily_schedule(config, sync)],
        sensors=[build_new_files_sensor(config, sync)],
        resources={
            "deployment": Deployment(config_path=str(Path(config_path).resolve())),
            "warehouse": Warehouse(
                database=str(config.warehouse_path),
                sync_wait_seconds=config.sync.wait_seconds,
                memory_limit=config.sync.memory_limit,
            ),
            "spark": Spark(
                master=config.spark.master,
                app_name=config.spark.app_name,
                conf=dict(config.spark.conf),
                exchange_dir=str(config.spark_exchange_path),
            ),
        },
        executor=dg.in_process_executor,
    )


defs = build_definitions(config_path_from_env())

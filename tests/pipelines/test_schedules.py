"""The daily schedule and the sensor on the export folders: runs start when they should, once."""

import os
import time
from datetime import datetime
from pathlib import Path

import dagster as dg
import pytest
import yaml

from pipelines.schedules import (
    DAILY_SCHEDULE,
    NEW_FILES_SENSOR,
    SYNC_JOB,
    build_daily_schedule,
    build_new_files_sensor,
    build_sync_job,
)
from sources.config import ConfigError, PipelineConfig, load_config

HOUR_AGO = time.time() - 3600


def write_config(folder: Path, **extra) -> Path:
    settings = {
        "output_dir": "out",
        "sources": [
            {
                "name": "regional",
                "kind": "regional",
                "path": "exports/regional/*.csv",
                "entity_type": "company",
                "columns": {"source_record_id": "编号", "name": "客户名称"},
            }
        ],
        "orders": [
            {
                "name": "regional_orders",
                "customer_source": "regional",
                "path": "exports/orders/*.csv",
                "columns": {
                    "order_id": "订单号",
                    "source_record_id": "编号",
                    "order_date": "日期",
                    "amount": "金额",
                },
            }
        ],
        **extra,
    }
    path = folder / "customer_master.yaml"
    path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return path


def land(path: Path, text: str, mtime: float = HOUR_AGO) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8-sig")
    os.utime(path, (mtime, mtime))


@pytest.fixture
def deployment(tmp_path) -> PipelineConfig:
    land(tmp_path / "exports/regional/fujian.csv", "编号,客户名称\nFJ1,厦门洪来文印店\n")
    land(tmp_path / "exports/orders/regional.csv", "订单号,编号,日期,金额\nO1,FJ1,2026-01-02,100\n")
    return load_config(write_config(tmp_path))


def tick(config: PipelineConfig, cursor: str | None = None):
    sensor = build_new_files_sensor(config, build_sync_job(config))
    return sensor.evaluate_tick(dg.build_sensor_context(cursor=cursor))


def test_first_look_requests_a_sync_and_unchanged_files_request_none(deployment):
    first = tick(deployment)
    assert len(first.run_requests) == 1
    key = first.run_requests[0].run_key
    assert key.startswith("files-")
    assert first.run_requests[0].tags["custmaster/files"] == "2 new, 0 changed, 0 removed"

    again = tick(deployment, cursor=first.cursor)
    assert again.run_requests == [] and "no new, changed or removed" in again.skip_message
    # the cursor lost (sensor reset): the same files give the same run key, so Dagster
    # starts no second run for them
    assert tick(deployment, cursor=None).run_requests[0].run_key == key


def test_a_new_file_in_a_source_folder_requests_a_sync_with_a_new_key(deployment, tmp_path):
    first = tick(deployment)
    land(tmp_path / "exports/regional/zhejiang.csv", "编号,客户名称\nZJ1,杭州新新文具店\n")
    second = tick(deployment, cursor=first.cursor)
    assert len(second.run_requests) == 1
    assert second.run_requests[0].run_key != first.run_requests[0].run_key
    assert second.run_requests[0].tags["custmaster/files"] == "1 new, 0 changed, 0 removed"
    assert tick(deployment, cursor=second.cursor).run_requests == []


def test_a_changed_or_removed_file_requests_a_sync(deployment, tmp_path):
    first = tick(deployment)
    land(
        tmp_path / "exports/orders/regional.csv",
        "订单号,编号,日期,金额\nO1,FJ1,2026-01-02,100\nO2,FJ1,2026-02-03,80\n",
    )
    changed = tick(deployment, cursor=first.cursor)
    assert changed.run_requests[0].tags["custmaster/files"] == "0 new, 1 changed, 0 removed"
    land(tmp_path / "exports/regional/zhejiang.csv", "编号,客户名称\nZJ1,杭州新新文具店\n")
    added = tick(deployment, cursor=changed.cursor)
    (tmp_path / "exports/regional/zhejiang.csv").unlink()
    removed = tick(deployment, cursor=added.cursor)
    assert removed.run_requests[0].tags["custmaster/files"] == "0 new, 0 changed, 1 removed"
    # back to the files of the first request: that run key again (already done: no new run)
    assert removed.run_requests[0].run_key == changed.run_requests[0].run_key


def test_a_file_still_being_copied_is_waited_for(deployment, tmp_path):
    first = tick(deployment)
    land(tmp_path / "exports/regional/zhejiang.csv", "编号,客户名称\n", mtime=time.time())
    waiting = tick(deployment, cursor=first.cursor)
    assert waiting.run_requests == [] and "waiting 60 s" in waiting.skip_message
    assert waiting.cursor == first.cursor  # nothing consumed: the next look sees the file as new
    os.utime(tmp_path / "exports/regional/zhejiang.csv", (HOUR_AGO, HOUR_AGO))
    assert len(tick(deployment, cursor=first.cursor).run_requests) == 1


def test_a_feed_whose_folder_is_empty_starts_no_doomed_run(deployment, tmp_path):
    (tmp_path / "exports/orders/regional.csv").unlink()
    result = tick(deployment)
    assert result.run_requests == []
    assert "regional_orders (exports/orders/*.csv)" in result.skip_message


def test_a_new_steward_decision_is_a_reason_to_sync(deployment, tmp_path):
    first = tick(deployment)
    land(
        tmp_path / "steward_decisions.csv",
        "record_key_l,record_key_r,decision\nregional:FJ1,regional:FJ2,no_match\n",
    )
    assert tick(deployment, cursor=first.cursor).run_requests[0].tags["custmaster/files"] == (
        "1 new, 0 changed, 0 removed"
    )


def test_the_daily_schedule_starts_the_whole_sync(deployment):
    schedule = build_daily_schedule(deployment, build_sync_job(deployment))
    assert schedule.name == DAILY_SCHEDULE and schedule.job_name == SYNC_JOB
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 6 * * *", "Asia/Shanghai")
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    result = schedule.evaluate_tick(
        dg.build_schedule_context(scheduled_execution_time=datetime(2026, 11, 23, 6, 0))
    )
    assert len(result.run_requests) == 1
    assert result.run_requests[0].tags["custmaster/trigger"] == DAILY_SCHEDULE


def test_schedule_and_sensor_follow_the_config(tmp_path):
    land(tmp_path / "exports/regional/fujian.csv", "编号,客户名称\nFJ1,厦门洪来文印店\n")
    land(tmp_path / "exports/orders/regional.csv", "订单号,编号,日期,金额\n")
    config = load_config(
        write_config(
            tmp_path,
            schedule={"cron": "30 5 * * 1-5", "timezone": "UTC", "running": True},
            sensor={"interval_seconds": 300, "settle_seconds": 0, "running": True},
        )
    )
    job = build_sync_job(config)
    schedule = build_daily_schedule(config, job)
    sensor = build_new_files_sensor(config, job)
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("30 5 * * 1-5", "UTC")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert sensor.name == NEW_FILES_SENSOR and sensor.minimum_interval_seconds == 300
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    land(tmp_path / "exports/regional/hubei.csv", "编号,客户名称\n", mtime=time.time())
    assert len(tick(config).run_requests) == 1  # settle_seconds 0: no waiting


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ({"timezone": "Asia/Shanghia"}, "unknown time zone 'Asia/Shanghia'"),
        ({"cron": "0 6 * *"}, "expected five cron fields"),
    ],
)
def test_a_wrong_schedule_is_a_config_error(tmp_path, schedule, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write_config(tmp_path, schedule=schedule))


def test_definitions_register_the_sync_and_publish_after_everything(deployment):
    from assets.publish import PUBLISHED, SERVING_INDEX
    from assets.report import SYNC_REPORT
    from pipelines.definitions import build_definitions

    defs = build_definitions(deployment.base_dir / "customer_master.yaml")
    job = defs.resolve_job_def(SYNC_JOB)
    assert defs.resolve_schedule_def(DAILY_SCHEDULE).job_name == SYNC_JOB
    assert defs.resolve_sensor_def(NEW_FILES_SENSOR).job_name == SYNC_JOB
    graph = defs.resolve_asset_graph()
    everything = set(graph.get_all_asset_keys())
    assert set(job.asset_layer.selected_asset_keys) == everything
    # the export waits for every other asset of the sync: a failure anywhere publishes nothing;
    # only the sync report and the service's serving index follow it
    assert graph.get(PUBLISHED).parent_keys == everything - {PUBLISHED, SYNC_REPORT, SERVING_INDEX}
    assert graph.get(PUBLISHED).child_keys == {SYNC_REPORT, SERVING_INDEX}
    assert graph.get(SYNC_REPORT).child_keys == set()
    assert graph.get(SERVING_INDEX).child_keys == set()


def test_publishing_a_table_no_asset_builds_is_a_config_error(tmp_path):
    from pipelines.definitions import build_definitions

    land(tmp_path / "exports/regional/fujian.csv", "编号,客户名称\nFJ1,厦门洪来文印店\n")
    land(tmp_path / "exports/orders/regional.csv", "订单号,编号,日期,金额\n")
    path = write_config(tmp_path, publish={"tables": ["master.customers", "marts.no_such"]})
    with pytest.raises(ConfigError, match="publish.tables: no asset builds marts.no_such"):
        build_definitions(path)

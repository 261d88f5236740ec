"""Shared test settings: no telemetry, no network, a throwaway Dagster home."""

import os

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")


@pytest.fixture(autouse=True)
def _dagster_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    monkeypatch.setenv("DAGSTER_HOME", str(home))


@pytest.fixture(scope="session")
def sync_outputs():
    """A function that runs the sync job on a deployment without its asset checks: every table
    and export a sync writes, in a fraction of the time (the checks write no table). Returns the
    run id; raises when a step fails."""
    from pathlib import Path

    import dagster as dg

    from pipelines.definitions import build_definitions
    from pipelines.schedules import SYNC_JOB

    def sync(config_path: Path) -> str:
        defs = build_definitions(config_path)
        everything = set(defs.resolve_asset_graph().get_all_asset_keys())
        job = defs.resolve_job_def(SYNC_JOB).get_subset(
            asset_selection=everything, asset_check_selection=set()
        )
        result = job.execute_in_process(
            instance=dg.DagsterInstance.ephemeral(),
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
        return result.run_id

    return sync

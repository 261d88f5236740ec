"""The project's Dagster instance: its dagster.yaml, and the event log kept open between
events, which must record every event of a run as Dagster's own does."""

from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from pipelines.event_log import KEPT_OPEN, KeptOpenSqliteEventLogStorage
from pipelines.instance import EARLIER_DAGSTER_YAML, dagster_yaml, ensure_dagster_home


@dg.asset
def greeting(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    context.log.info("hello")
    return dg.MaterializeResult(metadata={"words": 1})


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    return ensure_dagster_home(tmp_path / "dagster_home")


def test_a_new_home_records_runs_through_the_kept_open_event_log(home: Path) -> None:
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, KeptOpenSqliteEventLogStorage)
        assert (home / "dagster.yaml").read_text(encoding="utf-8") == dagster_yaml(home)


def test_every_event_of_every_run_reads_back_from_a_fresh_instance(home: Path) -> None:
    # more runs than databases kept open: the oldest are closed and opened again
    runs = []
    with dg.DagsterInstance.get() as instance:
        for _ in range(KEPT_OPEN + 2):
            result = dg.materialize([greeting], instance=instance)
            assert result.success
            runs.append((result.run_id, len(instance.all_logs(result.run_id))))
    with dg.DagsterInstance.from_config(str(home)) as fresh:
        for run_id, events in runs:
            logs = fresh.all_logs(run_id)
            assert len(logs) == events
            kinds = {r.dagster_event.event_type_value for r in logs if r.dagster_event}
            assert {"STEP_START", "ASSET_MATERIALIZATION", "STEP_SUCCESS"} <= kinds
            assert any(r.user_message == "hello" for r in logs)
        latest = fresh.get_latest_materialization_event(dg.AssetKey("greeting"))
        assert latest is not None and latest.run_id == runs[-1][0]


def test_an_earlier_versions_dagster_yaml_is_brought_up_to_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(EARLIER_DAGSTER_YAML, encoding="utf-8")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    ensure_dagster_home(tmp_path / "unused")
    assert (home / "dagster.yaml").read_text(encoding="utf-8") == dagster_yaml(home.resolve())


def test_a_home_copied_from_another_folder_names_its_own_event_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "copy"
    home.mkdir()
    (home / "dagster.yaml").write_text(dagster_yaml(tmp_path / "original"), encoding="utf-8")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    ensure_dagster_home(tmp_path / "unused")
    written = (home / "dagster.yaml").read_text(encoding="utf-8")
    assert written == dagster_yaml(home.resolve())
    assert "original" not in written


def test_a_dagster_yaml_a_person_wrote_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    own = "telemetry:\n  enabled: false\nrun_monitoring:\n  enabled: true\n"
    (home / "dagster.yaml").write_text(own, encoding="utf-8")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    ensure_dagster_home(tmp_path / "unused")
    assert (home / "dagster.yaml").read_text(encoding="utf-8") == own


def test_the_event_log_commits_without_waiting_for_the_disk(home: Path) -> None:
    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        with storage.index_connection() as conn:
            # 1: NORMAL (Dagster's own connections: 2, FULL)
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1


@dg.asset_check(asset=greeting)
def greeting_is_short() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def test_the_index_tables_are_looked_up_once_and_a_missing_one_each_time(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    dagsters = SqliteEventLogStorage.has_table

    def counted(storage: SqliteEventLogStorage, table_name: str) -> bool:
        asked.append(table_name)
        return dagsters(storage, table_name)

    monkeypatch.setattr(SqliteEventLogStorage, "has_table", counted)
    with dg.DagsterInstance.get() as instance:
        for _ in range(3):
            result = dg.materialize([greeting, greeting_is_short], instance=instance)
            assert result.success
        check = dg.AssetCheckKey(dg.AssetKey("greeting"), "greeting_is_short")
        history = instance.event_log_storage.get_asset_check_execution_history(check, limit=10)
        assert len(history) == 3  # every run's evaluation stored, as with Dagster's storage
        assert {"asset_check_executions", "asset_event_tags"} <= set(asked)
        assert len(asked) == len(set(asked))  # each found table asked of the database once
        storage = instance.event_log_storage
        assert not storage.has_table("no_such_table")
        assert not storage.has_table("no_such_table")
        assert asked.count("no_such_table") == 2  # not found: asked again, it may appear

"""The whole pipeline on a small demo: every row accounted for, checks pass, runs recorded."""

import os
from datetime import UTC, date
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from pipelines.cli import main
from pipelines.config_path import CONFIG_VARIABLE
from sources.config import load_config
from warehouse.serving import read_pointer


@pytest.fixture
def demo(demo_run, demo_for) -> Path:
    """The shared demo after its first run; a copy for a test that runs the pipeline again."""
    return demo_for(demo_run.folder)


def test_run_stages_every_source_and_reconciles(demo, demo_run, capsys):
    outcome = demo_run.outcome
    assert outcome.succeeded, outcome.render()
    con = duckdb.connect(str(demo / "out" / "warehouse.duckdb"), read_only=True)
    per_source = con.execute(
        """
        SELECT r.source, r.received, s.staged, coalesce(q.quarantined, 0)
        FROM (SELECT source, count(*) AS received FROM (
                SELECT source FROM raw.dealers UNION ALL SELECT source FROM raw.key_accounts
                UNION ALL SELECT source FROM raw.regional) GROUP BY source) r
        JOIN (SELECT source, count(*) AS staged FROM staging.customers
              WHERE derived_from_record_key IS NULL GROUP BY source) s USING (source)
        LEFT JOIN (SELECT source, count(*) AS quarantined FROM staging.quarantine GROUP BY source) q USING (source)
        """
    ).fetchall()
    assert {row[0] for row in per_source} == {"dealers", "key_accounts", "regional"}
    for source, received, staged, quarantined in per_source:
        assert received == staged + quarantined, source

    truth = duckdb.read_csv(str(demo / "truth" / "records.csv"))
    staged_keys = {k for (k,) in con.execute("SELECT record_key FROM staging.customers").fetchall()}
    truth_keys = {k for (k,) in truth.project("record_key").fetchall()}
    quarantined = con.execute("SELECT count(*) FROM staging.quarantine").fetchone()[0]
    assert (
        len(truth_keys - staged_keys) <= quarantined * 2
    )  # a quarantined company takes its contact with it
    assert staged_keys <= truth_keys

    # standardisation reached the data: simplified script, E.164 phones, parsed addresses
    assert (
        con.execute("SELECT count(*) FROM staging.customers WHERE name LIKE '%廈門%'").fetchone()[0]
        == 0
    )
    bad_phone = con.execute(
        "SELECT count(*) FROM staging.customers WHERE phone IS NOT NULL AND phone NOT LIKE '+86%'"
    ).fetchone()[0]
    assert bad_phone == 0
    parsed = con.execute(
        "SELECT avg((city IS NOT NULL)::int) FROM staging.customers WHERE address_raw IS NOT NULL"
    ).fetchone()[0]
    assert parsed > 0.9
    contacts = con.execute(
        "SELECT count(*) FROM staging.customers WHERE derived_from_record_key IS NOT NULL"
    ).fetchone()[0]
    assert contacts > 0


def test_run_is_recorded_in_the_dagster_instance(demo_rerun, monkeypatch):
    import dagster as dg

    outcome = demo_rerun.outcome  # run with $DAGSTER_HOME set to this home
    monkeypatch.setenv("DAGSTER_HOME", str(demo_rerun.folder.parent / "dagster_home"))
    instance = dg.DagsterInstance.get()
    assert instance.get_run_by_id(outcome.run_id) is not None


def test_cli_exits_non_zero_naming_the_missing_column(demo, tmp_path, capsys):
    config = (demo / "customer_master.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        config.replace("path: exports/", f"path: {demo}/exports/").replace(
            "output_dir: out", f"output_dir: {tmp_path}/out"
        ),
        encoding="utf-8",
    )
    first_file = sorted((demo / "exports" / "regional").glob("*.csv"))[0]
    header = first_file.read_text(encoding="utf-8-sig").splitlines()[0]
    first_column = header.split(",")[0]
    broken_file = tmp_path / "regional_broken.csv"
    text = first_file.read_text(encoding="utf-8-sig")
    broken_file.write_text(text.replace(first_column, "renamed", 1), encoding="utf-8-sig")
    config_text = broken.read_text(encoding="utf-8").replace(
        f"{demo}/exports/regional/*.csv", str(broken_file)
    )
    broken.write_text(config_text, encoding="utf-8")
    assert main(["run", "--config", str(broken)]) == 1
    printed = capsys.readouterr().out
    assert "regional_broken.csv" in printed and f"'{first_column}'" in printed


def test_cli_rejects_an_invalid_config(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: []\n", encoding="utf-8")
    before = os.environ.get(CONFIG_VARIABLE)
    assert main(["run", "--config", str(bad)]) == 2
    assert "bad.yaml" in capsys.readouterr().err
    # the run named its config to its own steps only: the next command, or the next test in
    # this process, reads the deployment it read before
    assert os.environ.get(CONFIG_VARIABLE) == before


def _sync_day(folder: Path) -> date:
    """The day (in the deployment's time zone) the last sync of ``folder`` recorded its steps."""
    config = load_config(folder / "customer_master.yaml")
    con = duckdb.connect(str(config.warehouse_path), read_only=True)
    try:
        (at,) = con.execute("SELECT max(recorded_at) FROM main.step_inputs").fetchall()[0]
    finally:
        con.close()
    return at.replace(tzinfo=UTC).astimezone(ZoneInfo(config.schedule.timezone)).date()


def test_a_second_sync_on_unchanged_files_rebuilds_nothing(demo_run, demo_rerun):
    """Nothing a sync writes is read by a step before it (a mart fingerprinting the
    relationships before they were rebuilt made every next sync rebuild the marts), and the
    serving index stays the published one."""
    outcome = demo_rerun.outcome
    assert outcome.succeeded, outcome.render()
    rebuilt = {asset: work for asset, work in outcome.work.items() if not work.startswith("skip:")}
    if _sync_day(demo_rerun.folder) != _sync_day(demo_run.folder):  # the day turned: marts move
        rebuilt = {asset: work for asset, work in rebuilt.items() if not asset.startswith("marts/")}
    assert rebuilt == {}
    assert "exports/serving_index" in outcome.work
    serving = load_config(demo_rerun.folder / "customer_master.yaml").serving_path
    pointer = read_pointer(serving)
    assert pointer is not None and pointer.run_id == demo_run.outcome.run_id
    assert pointer.folder.is_dir()

"""The serving step starts the writers' logs of touched customers (``serving.LOGGED``:
the golden step's ``master.golden_touched``, the relationships step's
``master.relationships_touched``, the customer-ID step's ``master.customer_ids_touched``)
again only once its index is published: a step that fails leaves the logs, and the
previous index, as they were."""

import gc
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from assets.publish import SERVING_INDEX
from matching.master.build import GOLDEN_TOUCHED
from matching.master.relationships import RELATIONSHIPS_TOUCHED
from pipelines.definitions import build_definitions
from pipelines.schedules import SYNC_JOB
from sources.config import load_config
from warehouse.serving import LOGGED, read_pointer, read_table


def serving_step(config_path: Path) -> dg.ExecuteInProcessResult:
    """The serving index step alone, as a sync runs it."""
    defs = build_definitions(config_path)
    job = defs.resolve_job_def(SYNC_JOB).get_subset(
        asset_selection={SERVING_INDEX}, asset_check_selection=set()
    )
    return job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )


@pytest.mark.writes_demo
def test_the_log_is_started_again_only_once_the_index_is_published(demo_run, demo_for, monkeypatch):
    config_path = demo_for(demo_run.folder) / "customer_master.yaml"
    config = load_config(config_path)
    before = read_pointer(config.serving_path)
    assert before is not None
    with duckdb.connect(str(config.warehouse_path)) as con:
        assert con.execute(f"SELECT count(*) FROM {GOLDEN_TOUCHED}").fetchall() == [(0,)]
        assert con.execute(f"SELECT count(*) FROM {RELATIONSHIPS_TOUCHED}").fetchall() == [(0,)]
        for touched_log in set(LOGGED.values()):  # every writer's, kept and empty
            assert con.execute(f"SELECT count(*) FROM {touched_log}").fetchall() == [(0,)]
        # a golden step renamed one customer and logged it
        (customer,) = con.execute("SELECT min(customer_id) FROM master.customers").fetchone()
        con.execute(
            "UPDATE master.customers SET name = 'Renamed' WHERE customer_id = ?", [customer]
        )
        con.execute(f"INSERT INTO {GOLDEN_TOUCHED} VALUES (?)", [customer])
        # a relationships step dropped one customer's relationships and logged it
        query = "SELECT min(from_customer_id) FROM master.relationships"
        (related,) = con.execute(query).fetchone()
        con.execute("DELETE FROM master.relationships WHERE from_customer_id = ?", [related])
        con.execute(f"INSERT INTO {RELATIONSHIPS_TOUCHED} VALUES (?)", [related])

    def fail(*args, **kwargs):
        raise OSError("disk full")

    with monkeypatch.context() as patched:
        patched.setattr("assets.publish.write_serving_files", fail)
        assert not serving_step(config_path).success
    gc.collect()  # the failed step's connection, which its error still held, closed
    assert read_pointer(config.serving_path) == before
    with duckdb.connect(str(config.warehouse_path)) as con:
        assert con.execute(f"FROM {GOLDEN_TOUCHED}").fetchall() == [(customer,)]
        assert con.execute(f"FROM {RELATIONSHIPS_TOUCHED}").fetchall() == [(related,)]

    assert serving_step(config_path).success
    after = read_pointer(config.serving_path)
    assert after is not None and after.folder != before.folder
    names = read_table(after.folder, "customers").set_index("customer_id")["name"]
    assert names[customer] == "Renamed"
    assert related in set(read_table(before.folder, "relationships")["from_customer_id"])
    assert related not in set(read_table(after.folder, "relationships")["from_customer_id"])
    with duckdb.connect(str(config.warehouse_path)) as con:
        assert con.execute(f"SELECT count(*) FROM {GOLDEN_TOUCHED}").fetchall() == [(0,)]
        assert con.execute(f"SELECT count(*) FROM {RELATIONSHIPS_TOUCHED}").fetchall() == [(0,)]
        for touched_log in set(LOGGED.values()):
            assert con.execute(f"SELECT count(*) FROM {touched_log}").fetchall() == [(0,)]

"""The customer-ID step on a warehouse: xref, registry and events written together, typed."""

from datetime import datetime

import duckdb
import pandas as pd
import pytest

from matching.master import build
from matching.master.build import update_customer_ids
from matching.master.customer_ids import CUSTOMER_IDS_TOUCHED, assign_customer_ids
from warehouse.store import table_exists

T1, T2 = datetime(2026, 11, 1), datetime(2026, 11, 2)


def warehouse(*clusters: list[str]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for schema in ("staging", "matching", "master"):
        con.execute(f"CREATE SCHEMA {schema}")
    keys = [key for cluster in clusters for key in cluster]
    con.execute(
        "CREATE TABLE staging.customers AS SELECT k AS record_key, 'dealers' AS source "
        "FROM unnest(?::VARCHAR[]) t(k)",
        [keys],
    )
    for table in ("pairs", "rule_links"):
        con.execute(
            f"CREATE TABLE matching.{table} (record_key_l VARCHAR, record_key_r VARCHAR, "
            "match_probability DOUBLE)"
        )
    set_clusters(con, *clusters)
    return con


def set_clusters(con: duckdb.DuckDBPyConnection, *clusters: list[str]) -> None:
    rows = [(key, "company", cluster[0]) for cluster in clusters for key in cluster]
    con.execute(
        "CREATE OR REPLACE TABLE matching.clusters "
        "(record_key VARCHAR, entity_type VARCHAR, cluster_id VARCHAR)"
    )
    con.executemany("INSERT INTO matching.clusters VALUES (?, ?, ?)", rows)


def rows(con: duckdb.DuckDBPyConnection, query: str) -> list[tuple]:
    return con.execute(query).fetchall()


def test_ids_are_written_typed_and_events_appended_in_run_order():
    con = warehouse(["a"], ["b"])
    con.execute("INSERT INTO matching.pairs VALUES ('a', 'b', 0.97)")
    update_customer_ids(con, "run1", T1)
    # no merge yet, and still text: the published schema must not depend on the data
    types = dict(
        rows(
            con,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE column_name IN ('merged_into', 'related_customer_id')",
        )
    )
    assert types == {"merged_into": "VARCHAR", "related_customer_id": "VARCHAR"}

    set_clusters(con, ["a", "b"])
    counts = update_customer_ids(con, "run2", T2)
    assert counts["ids_merged"] == 1 and counts["records_moved"] == 1
    assert rows(
        con, "SELECT event, customer_id, related_customer_id, run_id FROM master.customer_id_events"
    ) == [
        ("created", "CM00000001", None, "run1"),
        ("created", "CM00000002", None, "run1"),
        ("merged", "CM00000002", "CM00000001", "run2"),
    ]
    assert rows(
        con,
        "SELECT record_key, customer_id, match_probability FROM master.customer_xref "
        "WHERE valid_to IS NULL ORDER BY 1",
    ) == [
        ("a", "CM00000001", 0.97),
        ("b", "CM00000001", 0.97),
    ]


def test_a_failure_midway_leaves_the_last_runs_ids(monkeypatch):
    con = warehouse(["a"], ["b"])
    update_customer_ids(con, "run1", T1)
    before = [rows(con, f"FROM master.{t}") for t in ("customer_xref", "customer_ids")]

    def fail(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(build, "_append_events", fail)
    set_clusters(con, ["a", "b"])
    with pytest.raises(OSError, match="disk full"):
        update_customer_ids(con, "run2", T2)
    after = [rows(con, f"FROM master.{t}") for t in ("customer_xref", "customer_ids")]
    assert after == before
    assert {r[0] for r in rows(con, "SELECT run_id FROM master.customer_id_events")} == {"run1"}


def test_the_registry_updated_in_place_is_the_one_written_whole_through_merge_chains():
    days = [
        (["a"], ["b"], ["c", "d", "e"], ["f"]),
        (["a", "b"], ["c", "d", "e"], ["f"]),  # b's ID merged into a's
        (["a", "b", "c", "d", "e"], ["f"]),  # a's merged into c's: b's chain ends there
        (["f", "g"], ["a", "b", "c"], ["d", "e"]),  # g joins f; d and e split off
        (["a", "b", "c"], ["d", "e"], ["h"]),  # f and g gone: their ID retired; h new
    ]
    con = warehouse(*days[0])
    update_customer_ids(con, "run0", T1)
    registry = rows(con, "FROM master.customer_ids")
    for number, clusters in enumerate(days[1:], start=1):
        previous = rows(con, "FROM master.customer_xref WHERE valid_to IS NULL")
        con.execute("DELETE FROM staging.customers")
        keys = [key for cluster in clusters for key in cluster]
        con.execute(
            "INSERT INTO staging.customers SELECT k, 'dealers' FROM unnest(?::VARCHAR[]) t(k)",
            [keys],
        )
        set_clusters(con, *clusters)
        whole = assign_customer_ids(
            pd.DataFrame(
                [(k, "company", c[0]) for c in clusters for k in c],
                columns=["record_key", "entity_type", "cluster_id"],
            ),
            pd.DataFrame([(k, c) for k, c, *_ in previous], columns=["record_key", "customer_id"]),
            pd.DataFrame(registry, columns=["customer_id", "entity_type", "status", "merged_into"]),
        )
        update_customer_ids(con, f"run{number}", T2)
        registry = rows(con, "FROM master.customer_ids")
        # the same rows in the same order (oldest ID first)
        assert registry == [tuple(r) for r in whole.registry.itertuples(index=False)]
    assert registry == [
        ("CM00000001", "company", "merged", "CM00000003"),
        ("CM00000002", "company", "merged", "CM00000003"),
        ("CM00000003", "company", "active", None),
        ("CM00000004", "company", "retired", None),
        ("CM00000005", "company", "active", None),
        ("CM00000006", "company", "active", None),
    ]


def set_day(con: duckdb.DuckDBPyConnection, clusters: tuple[list[str], ...]) -> None:
    """Stage the records of ``clusters`` and cluster them so."""
    con.execute("DELETE FROM staging.customers")
    keys = [key for cluster in clusters for key in cluster]
    con.execute(
        "INSERT INTO staging.customers SELECT k, 'dealers' FROM unnest(?::VARCHAR[]) t(k)", [keys]
    )
    set_clusters(con, *clusters)


def test_settling_the_clusters_the_log_names_gives_the_ids_of_settling_every_cluster():
    """A sync's ID step settles only the clusters of the records whose cluster rows the
    clustering rewrote (matching.clusters_rewritten), with the same IDs, history and counts
    as settling every cluster."""
    days = [
        (["a"], ["b"], ["c", "d", "e"], ["f"], ["k", "l"], ["m"]),
        (["a", "b"], ["c", "d", "e"], ["f"], ["k", "l"], ["m"]),  # b's ID merged into a's
        (["a", "b", "c", "d", "e"], ["f"], ["k", "l"], ["m"]),  # a's merged into c's
        (["f", "g"], ["a", "b", "c"], ["d", "e"], ["k", "l"], ["m"]),  # g joins; d, e split
        (["a", "b", "c"], ["d", "e"], ["h"], ["k", "l"], ["m"]),  # f, g gone; h new
        (["a", "b", "c"], ["d", "e"], ["h"], ["k", "l"], ["m"]),  # nothing changed
    ]
    every, logged = warehouse(*days[0]), warehouse(*days[0])
    update_customer_ids(every, "run0", T1)
    update_customer_ids(logged, "run0", T1, rewritten="keep")
    cluster_rows = "SELECT record_key, entity_type, cluster_id FROM matching.clusters"
    for number, clusters in enumerate(days[1:], start=1):
        before = set(rows(logged, cluster_rows))
        for con in (every, logged):
            set_day(con, clusters)
        # what the clustering logs: the records whose rows it wrote again or deleted
        rewritten = sorted(r[0] for r in before ^ set(rows(logged, cluster_rows)))
        logged.execute("INSERT INTO matching.clusters_rewritten SELECT unnest(?)", [rewritten])
        counts = update_customer_ids(every, f"run{number}", T2)
        assert update_customer_ids(logged, f"run{number}", T2, rewritten="use") == counts
        for table in ("customer_xref", "customer_ids", "customer_id_events"):
            query = f"FROM master.{table}"
            assert rows(logged, query) == rows(every, query), (number, table)
        assert rows(logged, "FROM matching.clusters_rewritten") == []  # emptied for the next
    assert counts["records_unchanged"] == 9 and counts["active_customers"] == 5
    # a caller that may write the clusters itself keeps no log
    update_customer_ids(logged, "run6", T2)
    assert not rows(
        logged, "FROM information_schema.tables WHERE table_name = 'clusters_rewritten'"
    )


def test_the_ids_whose_registry_row_changed_are_logged_until_the_log_is_started_again():
    """The customer-ID step adds to ``CUSTOMER_IDS_TOUCHED``, while it is kept, every ID
    whose row of the registry it changed or added (merge chains followed included), for the
    serving index; the first run, writing the registry whole, drops it."""
    days = [
        (["a"], ["b"], ["c", "d", "e"], ["f"]),
        (["a", "b"], ["c", "d", "e"], ["f"]),  # b's ID merged into a's
        (["a", "b", "c", "d", "e"], ["f"]),  # a's merged into c's: b's chain moves too
        (["a", "b", "c"], ["d", "e"], ["f"]),  # d and e split off: a new ID
        (["a", "b", "c"], ["d", "e"], ["f"]),  # nothing changed
    ]
    con = warehouse(*days[0])
    con.execute(f"CREATE TABLE {CUSTOMER_IDS_TOUCHED} (customer_id VARCHAR)")
    update_customer_ids(con, "run0", T1)
    assert not table_exists(con, *CUSTOMER_IDS_TOUCHED.split("."))  # written whole
    for number, clusters in enumerate(days[1:], start=1):
        # an index published each day: the log starts empty
        con.execute(f"CREATE OR REPLACE TABLE {CUSTOMER_IDS_TOUCHED} (customer_id VARCHAR)")
        before = set(rows(con, "FROM master.customer_ids"))
        set_day(con, clusters)
        update_customer_ids(con, f"run{number}", T2)
        changed = {r[0] for r in set(rows(con, "FROM master.customer_ids")) - before}
        logged = {c for (c,) in rows(con, f"SELECT customer_id FROM {CUSTOMER_IDS_TOUCHED}")}
        assert logged == changed, number
        assert bool(changed) == (number < 4), number
    # days whose index was not published: all their IDs stay logged
    con.execute(f"CREATE OR REPLACE TABLE {CUSTOMER_IDS_TOUCHED} (customer_id VARCHAR)")
    for number, clusters in enumerate(days[1:], start=5):
        set_day(con, clusters)
        update_customer_ids(con, f"run{number}", T2)
    logged = {c for (c,) in rows(con, f"SELECT customer_id FROM {CUSTOMER_IDS_TOUCHED}")}
    assert {"CM00000001", "CM00000002", "CM00000003"} <= logged

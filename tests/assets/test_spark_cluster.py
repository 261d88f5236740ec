"""Matching through a real Spark standalone cluster: the shared Spark run (``demo_spark_run``
in ``tests/conftest.py``) is a whole ``custmaster run`` whose Spark resource points at a
master and a worker started on 127.0.0.1 from the pyspark distribution
(``spark://127.0.0.1:<port>``), stopped after the run. Its models were trained there, its
pairs scored and its clusters solved there, and written back into the warehouse.

One run on the cluster serves this test and the Spark run's own (``test_spark_run.py``,
``test_spark_backend.py``): this one alone, matching on the cluster with the models trained
on DuckDB, took 229 s of the suite's time beside a 110 s run on ``local[2]``.
"""

from __future__ import annotations

import pytest

from sources.config import load_config
from sources.schema import ENTITY_TYPES
from tests.matching.linkage.spark_support import read_demo, scored_both_ways


def test_matching_runs_on_a_standalone_cluster_and_lands_in_the_warehouse(demo_spark_run, demo_run):
    outcome = demo_spark_run.outcome
    assert outcome.succeeded, outcome.render()
    folder = demo_spark_run.folder
    assert load_config(folder / "customer_master.yaml").spark.master.startswith(
        "spark://127.0.0.1:"
    )
    # the work ran in an executor the cluster's worker started for the run
    executors = list((folder.parent / "cluster" / "worker").glob("app-*/*/stderr"))
    assert executors, "no executor ran on the cluster's worker"
    # scored on the cluster: the same pairs as the run on DuckDB, and the same weights as
    # the models score on DuckDB (one entity type after the other, in key order)
    keys = "record_key_l, record_key_r"
    order = f"ORDER BY entity_type, {keys}"
    duckdb_pairs = read_demo(demo_run.folder, f"SELECT {keys} FROM matching.pairs {order}")
    spark_pairs = read_demo(folder, f"SELECT {keys} FROM matching.pairs {order}")
    assert len(spark_pairs) > 0
    assert spark_pairs.equals(duckdb_pairs)
    for entity_type in ENTITY_TYPES:
        on_cluster, on_duckdb = scored_both_ways(folder, entity_type)
        assert on_cluster[["record_key_l", "record_key_r"]].equals(
            on_duckdb[["record_key_l", "record_key_r"]]
        )
        assert on_cluster["match_weight"].to_numpy() == pytest.approx(
            on_duckdb["match_weight"].to_numpy(), abs=1e-6
        )
    # clustered on the cluster: the same clusters as on DuckDB
    clusters = "SELECT record_key, cluster_id FROM matching.clusters ORDER BY record_key"
    assert read_demo(folder, clusters).equals(read_demo(demo_run.folder, clusters))

"""Matching on Spark (Splink's SparkAPI) gives what matching on DuckDB gives.

The shared 150-customer demo is matched twice, each time from scratch by ``custmaster run``:
on DuckDB (``demo_run``) and with ``matching: {backend: spark}`` (``demo_spark_run``, on a
standalone cluster: both models trained on Spark, pairs scored and clusters solved there).
The tests compare what the two runs left in their warehouses and model folders; nothing
here starts Spark again.
"""

from __future__ import annotations

import pandas as pd
import pytest

from matching.linkage import latest_version
from matching.linkage.evaluation import score_clusters
from sources.config import load_config
from sources.schema import ENTITY_TYPES
from tests.matching.linkage.spark_support import read_demo, scored_both_ways

CLUSTERS = "SELECT record_key, cluster_id FROM matching.clusters ORDER BY record_key"


@pytest.fixture(scope="module")
def spark_demo(demo_spark_run):
    assert demo_spark_run.outcome.succeeded, demo_spark_run.outcome.render()
    return demo_spark_run.folder


def test_matching_on_spark_agrees_with_matching_on_duckdb(spark_demo, demo_run):
    on_spark, on_duckdb = read_demo(spark_demo, CLUSTERS), read_demo(demo_run.folder, CLUSTERS)
    assert set(on_spark["record_key"]) == set(on_duckdb["record_key"])
    between = score_clusters(on_spark, on_duckdb)
    assert between.pairwise_f1 >= 0.995, between
    truth = pd.read_csv(demo_run.folder / "truth" / "records.csv", dtype=str)
    truth = truth[["record_key", "customer_id"]]
    f1_spark = score_clusters(on_spark, truth).pairwise_f1
    f1_duckdb = score_clusters(on_duckdb, truth).pairwise_f1
    assert abs(f1_spark - f1_duckdb) <= 0.005, (f1_spark, f1_duckdb)
    assert f1_duckdb > 0.8  # a demo where matching has something to get right


def test_both_models_were_trained_on_spark_and_saved_in_duckdb_sql(spark_demo):
    model_dir = load_config(spark_demo / "customer_master.yaml").model_path
    for entity_type in ENTITY_TYPES:
        version = latest_version(model_dir, entity_type)
        assert version is not None and version.version == 1, entity_type
        assert version.summary()["backend"] == "spark"
        model = version.load()
        assert model["sql_dialect"] == "duckdb"
        conditions = " ".join(
            level["sql_condition"] for c in model["comparisons"] for level in c["comparison_levels"]
        )
        assert "list_intersect" in conditions or entity_type == "person"
        assert "jaro_winkler(" not in conditions and "size(" not in conditions.lower()


def test_a_model_trained_on_spark_scores_the_same_pairs_on_duckdb(spark_demo):
    """Same model file, same records, other backend: the same pairs, levels and scores."""
    keys = ["record_key_l", "record_key_r"]
    for entity_type in ENTITY_TYPES:
        on_spark, on_duckdb = scored_both_ways(spark_demo, entity_type)
        assert len(on_duckdb) > 0
        assert on_spark[keys].equals(on_duckdb[keys])
        gammas = [c for c in on_duckdb.columns if c.startswith("gamma_")]
        assert (
            on_spark[gammas].astype("int64").to_numpy()
            == on_duckdb[gammas].astype("int64").to_numpy()
        ).all()
        assert on_spark["match_weight"].to_numpy() == pytest.approx(
            on_duckdb["match_weight"].to_numpy(), abs=1e-6
        )


def test_the_parquet_exchange_and_checkpoints_are_cleared_after_each_run(spark_demo):
    exchange = load_config(spark_demo / "customer_master.yaml").spark_exchange_path
    assert exchange.is_dir()  # the runs went through it
    assert [p for p in exchange.rglob("*") if p.is_file()] == []

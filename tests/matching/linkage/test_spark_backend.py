"""Matching on Spark (Splink's SparkAPI, local mode) gives what matching on DuckDB gives.

One Spark session serves the module, and the demo is matched on it once (training both
models, scoring, clustering): the shared 150-customer demo (``demo_run``), which the
pipeline already matched on DuckDB. The tests compare the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from matching.linkage import cluster_records, ensure_models, read_decisions, score_pairs
from matching.linkage.backend import SparkRun
from matching.linkage.evaluation import score_clusters
from matching.linkage.prediction import predict_pairs
from matching.linkage.spark_session import start_spark
from matching.linkage.steps import ModelChoice, junk_rules
from sources.config import MatchingConfig, load_config
from tests.matching.linkage.spark_support import LEAN_CONF, read_demo, skip_without_spark


@dataclass(frozen=True)
class SparkMatching:
    """The demo matched on Spark beside what the pipeline made of it on DuckDB."""

    staged: pd.DataFrame
    settings: MatchingConfig
    models: list[ModelChoice]
    pairs: pd.DataFrame
    clusters: pd.DataFrame
    duckdb_clusters: pd.DataFrame
    truth: pd.DataFrame
    exchange: Path


@pytest.fixture(scope="module")
def spark_matching(demo_run, tmp_path_factory) -> SparkMatching:
    skip_without_spark()
    folder = demo_run.folder
    config = load_config(folder / "customer_master.yaml")
    settings = config.matching.model_copy(update={"backend": "spark"})
    exchange = tmp_path_factory.mktemp("spark_matching") / "exchange"
    session, started = start_spark("local[2]", "customer-master-tests", LEAN_CONF, exchange)
    try:
        spark = SparkRun(session, exchange)
        staged = read_demo(folder, "FROM staging.customers")
        models = ensure_models(
            staged, exchange.parent / "models", settings, retrain=True, spark=spark
        )
        pairs = score_pairs(staged, models, settings, spark=spark)
        decisions = read_decisions(config.decisions_path)
        clusters = cluster_records(staged, pairs, decisions, models, settings, spark=spark)
    finally:
        if started:
            session.stop()
    return SparkMatching(
        staged=staged,
        settings=settings,
        models=models,
        pairs=pairs,
        clusters=clusters.resolution.clusters,
        duckdb_clusters=read_demo(folder, "FROM matching.clusters"),
        truth=pd.read_csv(folder / "truth" / "records.csv", dtype=str),
        exchange=spark.exchange,
    )


def test_matching_on_spark_agrees_with_matching_on_duckdb(spark_matching):
    m = spark_matching
    assert set(m.clusters["record_key"]) == set(m.duckdb_clusters["record_key"])
    between = score_clusters(
        m.clusters[["record_key", "cluster_id"]], m.duckdb_clusters[["record_key", "cluster_id"]]
    )
    assert between.pairwise_f1 >= 0.995, between
    truth = m.truth[["record_key", "customer_id"]]
    on_spark = score_clusters(m.clusters[["record_key", "cluster_id"]], truth).pairwise_f1
    on_duckdb = score_clusters(m.duckdb_clusters[["record_key", "cluster_id"]], truth).pairwise_f1
    assert abs(on_spark - on_duckdb) <= 0.005, (on_spark, on_duckdb)
    assert on_duckdb > 0.8  # a demo where matching has something to get right


def test_a_model_trained_on_spark_is_saved_in_duckdb_sql(spark_matching):
    for choice in spark_matching.models:
        model = choice.version.load()
        assert model["sql_dialect"] == "duckdb"
        conditions = " ".join(
            level["sql_condition"] for c in model["comparisons"] for level in c["comparison_levels"]
        )
        assert "list_intersect" in conditions or choice.version.entity_type == "person"
        assert "jaro_winkler(" not in conditions and "size(" not in conditions.lower()
        assert choice.version.summary()["backend"] == "spark"


def test_a_model_trained_on_spark_scores_the_same_pairs_on_duckdb(spark_matching):
    """Same model file, same records, other backend: the same pairs, levels and scores."""
    m = spark_matching
    for choice in m.models:
        entity_type = choice.version.entity_type
        on_spark = m.pairs[m.pairs["entity_type"] == entity_type].drop(
            columns=["entity_type", "model"]
        )
        on_duckdb = predict_pairs(
            m.staged,
            choice.version.path,
            m.settings.lower_threshold,
            entity_type=entity_type,
            junk=junk_rules(m.settings),
        )
        assert len(on_duckdb) > 0
        keys = ["record_key_l", "record_key_r"]
        assert on_spark[keys].reset_index(drop=True).equals(on_duckdb[keys])
        gammas = [c for c in on_duckdb.columns if c.startswith("gamma_")]
        assert (
            on_spark[gammas].astype("int64").to_numpy()
            == on_duckdb[gammas].astype("int64").to_numpy()
        ).all()
        assert on_spark["match_weight"].to_numpy() == pytest.approx(
            on_duckdb["match_weight"].to_numpy(), abs=1e-6
        )


def test_the_parquet_exchange_and_checkpoints_are_cleared_after_each_run(spark_matching):
    exchange = spark_matching.exchange
    assert exchange.is_dir()  # the runs went through it
    assert [p for p in exchange.rglob("*") if p.is_file()] == []

"""How matching sizes Splink's partitions on Spark (no JVM is started here)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

pytest.importorskip("pyspark")

from matching.linkage.spark_api import MatchingSparkAPI, partitions_for  # noqa: E402


def test_partitions_follow_the_records_between_the_cores_and_splinks_hundred():
    assert partitions_for(150, cores=2) == 2
    assert partitions_for(150, cores=0) == 1
    assert partitions_for(137_880, cores=2) == 7
    assert partitions_for(1_383_599, cores=2) == 70
    assert partitions_for(50_000_000, cores=2) == 100
    assert partitions_for(1_000_000, cores=400) == 100


def _api(shuffle_partitions: str, cores: int) -> MatchingSparkAPI:
    """The API without a session: only what sizing reads (Spark's conf and its cores)."""
    api = MatchingSparkAPI.__new__(MatchingSparkAPI)
    api.spark = SimpleNamespace(
        conf=SimpleNamespace(get=lambda key: shuffle_partitions),
        sparkContext=SimpleNamespace(defaultParallelism=cores),
    )
    api.num_partitions_on_repartition = int(shuffle_partitions) // 2  # Splink's own rule
    return api


def test_spark_default_shuffle_partitions_are_sized_to_the_largest_table_registered():
    api = _api("200", cores=4)
    assert api.size_partitions(300_000) == 15
    assert api.size_partitions(2_000) == 15  # the pairs of a run are those of its records
    assert api.num_partitions_on_repartition == 15


def test_shuffle_partitions_someone_chose_keep_splinks_rule():
    api = _api("400", cores=4)
    assert api.size_partitions(300_000) == 200
    assert api.num_partitions_on_repartition == 200

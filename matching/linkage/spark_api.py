"""Splink's SparkAPI as matching runs it: EM iterations without a shuffle, partitions sized
to the records.

**EM.** Training estimates m by expectation maximisation without term frequencies: Splink
first counts how often each agreement pattern (one level per comparison) occurs among a
training rule's pairs, then iterates on those counts, one query per iteration with a branch
per comparison. Splink's SparkAPI keeps the counts as a lazy view, so every iteration
counted the patterns again from the comparison vectors, with a shuffle per branch: a dozen
Spark stages per iteration, up to 25 iterations per session, three sessions per entity
type. Yet the counts are small whatever the number of records: one row per pattern seen,
bounded by the product of the comparisons' levels and in practice far fewer, as only the
level combinations real pairs reach occur. Here they are counted once,
gathered into one partition and kept in memory; one partition already satisfies every
grouping, so an iteration is one Spark stage with no shuffle. Training the company model
of the matching tests' 22 companies on ``local[2]`` took 1,017 Spark stages before, 768
with this, and 232 with u counted in one chunk as well (``training.u_chunks``); the model
was the same to the last digit.

**Partitions.** Splink repartitions its large intermediate tables (blocked pairs,
comparison vectors, predictions) to half of ``spark.sql.shuffle.partitions``; at Spark's
default of 200 that is 100 partitions, and 100 Parquet files per table, even for a few
thousand records, where each tiny task costs more than its work. When nobody chose the
shuffle partitions (the setting is Spark's default), the tables are cut into one partition
per :data:`RECORDS_PER_PARTITION` records, at least one per core of the cluster, at most
Splink's 100. A deployment that sets ``spark.sql.shuffle.partitions`` gets Splink's rule.
"""

from __future__ import annotations

import math
from typing import Any

from splink.backends.spark import SparkAPI

#: Records per partition of Splink's repartitioned tables when the shuffle partitions are
#: Spark's default: the pairs of 20,000 records (about 100,000 at the demo's 4–7 comparisons
#: per record), roughly tens of MB of comparison vectors, a sound size for one task.
RECORDS_PER_PARTITION = 20_000

#: Spark's own ``spark.sql.shuffle.partitions``: a session still at it chose nothing.
SPARK_DEFAULT_SHUFFLE_PARTITIONS = 200

#: The table of agreement-pattern counts EM iterates on (Splink's name for it).
PATTERN_COUNTS = "__splink__agreement_pattern_counts"


class MatchingSparkAPI(SparkAPI):
    """Splink's ``SparkAPI`` with the EM pattern counts in memory in one partition."""

    _records = 0  # the largest table registered so far

    def _break_lineage_and_repartition(
        self, spark_df: Any, templated_name: str, physical_name: str
    ) -> Any:
        if templated_name == PATTERN_COUNTS:
            # dropped with the run's cache (matching.linkage.backend.matching_database)
            return spark_df.coalesce(1).persist()
        return super()._break_lineage_and_repartition(spark_df, templated_name, physical_name)

    def size_partitions(self, records: int) -> int:
        """Set (and return) the partitions of Splink's large tables for a registered table of
        ``records`` records (the largest one counts), unless the session's shuffle partitions
        were chosen (then Splink's rule stands)."""
        self._records = max(self._records, records)
        chosen = int(self.spark.conf.get("spark.sql.shuffle.partitions"))
        if chosen != SPARK_DEFAULT_SHUFFLE_PARTITIONS:
            return int(self.num_partitions_on_repartition)
        self.num_partitions_on_repartition = partitions_for(
            self._records, self.spark.sparkContext.defaultParallelism
        )
        return self.num_partitions_on_repartition


def partitions_for(records: int, cores: int) -> int:
    """Partitions of Splink's large tables for ``records`` records on ``cores`` cores.

    Examples:
        >>> partitions_for(150, 8), partitions_for(1_000_000, 8), partitions_for(10**8, 8)
        (8, 50, 100)
    """
    splink_default = math.ceil(SPARK_DEFAULT_SHUFFLE_PARTITIONS / 2)
    return min(splink_default, max(cores, 1, math.ceil(records / RECORDS_PER_PARTITION)))

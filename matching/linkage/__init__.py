"""Record linkage: which staged records describe the same real customer.

The pipeline's three steps: ``ensure_models`` (train or load one Splink model per entity
type) and ``score_pairs`` (candidate pairs and their probabilities) in ``steps``, and
``cluster_records`` (links, steward decisions and the size limit into clusters, plus the
review queue) in ``cluster_step``. Inside, one module per job: ``features`` (what is
compared and blocked on), ``junk`` (values that identify nobody), ``comparisons``,
``blocking``, ``model_settings``, ``training``, ``model_store``, ``prediction``,
``components`` (connected components), ``recluster`` (an incremental clustering),
``clustering`` (how a ``match`` joins and a ``no_match`` splits), ``decisions`` (the
stewards' file), ``contacts``, ``review_queue``, ``explanations`` (offline HTML),
``evaluation`` and ``evaluate_run`` (scores against a truth file), ``blocking_report``,
``changes`` (which records an incremental sync scores again), ``pairable`` (the records
that can pair with them); ``backend`` (DuckDB or
Spark), ``spark_session`` and ``spark_sql`` (our SQL in Spark's dialect).

Nothing here knows about the master: ``matching.master`` builds on this package, never the
reverse.
"""

from matching.linkage.backend import SparkRun
from matching.linkage.changes import (
    RecordChanges,
    record_changes,
    remember_scored_records,
    write_rescored_pairs,
)
from matching.linkage.cluster_step import (
    CLUSTER_PAIR_COLUMNS,
    CLUSTERING_COLUMNS,
    REVIEW_RECORD_COLUMNS,
    cluster_records,
    review_queue,
    staged_records,
    update_clusters,
)
from matching.linkage.decisions import Decisions, empty_decisions, read_decisions
from matching.linkage.evaluate_run import evaluate_warehouse, read_truth
from matching.linkage.evaluation import ClusterScores, score_clusters
from matching.linkage.explanations import write_reports
from matching.linkage.features import MATCHING_COLUMNS
from matching.linkage.model_store import ModelVersion, latest_version
from matching.linkage.steps import (
    ModelChoice,
    ensure_models,
    junk_rules,
    models_in_use,
    models_table,
    rescore_pairs,
    score_pairs,
)
from matching.linkage.training import load_model

__all__ = [
    "ClusterScores",
    "Decisions",
    "ModelChoice",
    "ModelVersion",
    "RecordChanges",
    "SparkRun",
    "CLUSTER_PAIR_COLUMNS",
    "CLUSTERING_COLUMNS",
    "MATCHING_COLUMNS",
    "REVIEW_RECORD_COLUMNS",
    "cluster_records",
    "review_queue",
    "empty_decisions",
    "ensure_models",
    "evaluate_warehouse",
    "junk_rules",
    "latest_version",
    "load_model",
    "models_in_use",
    "models_table",
    "read_decisions",
    "read_truth",
    "record_changes",
    "remember_scored_records",
    "score_clusters",
    "rescore_pairs",
    "score_pairs",
    "staged_records",
    "update_clusters",
    "write_reports",
    "write_rescored_pairs",
]

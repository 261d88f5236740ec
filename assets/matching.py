"""Matching layer: which staged records describe the same real customer, and the checks on
clusters and the review queue."""

from collections.abc import Collection

import dagster as dg
import duckdb
import pandas as pd
import pyarrow as pa

from assets.checks import Guard, check_step
from assets.metadata import part_tables, preview, table_metadata
from assets.resources import Deployment, Spark, Warehouse
from assets.staging import STAGED_CUSTOMERS
from assets.step_work import (
    StepPlan,
    deployment_settings,
    matching_settings,
    plan_step,
    step_inputs,
)
from matching.linkage import (
    ModelChoice,
    SparkRun,
    ensure_models,
    junk_rules,
    latest_version,
    models_in_use,
    models_table,
    read_decisions,
    record_changes,
    remember_scored_records,
    rescore_pairs,
    score_pairs,
    staged_records,
    update_clusters,
    write_reports,
    write_rescored_pairs,
)
from matching.linkage.explanations import DEFAULT_MAX_RECORDS, sample_clusters
from matching.linkage.features import PreparedRecords
from matching.linkage.pairable import PairableRecords, load_pairable
from matching.linkage.prepared_store import (
    PREPARED_RECORDS,
    SUPPRESSED_VALUES,
    UNCAPPED,
    load_prepared,
    update_prepared,
)
from matching.linkage.prepared_store import REWRITTEN as PREPARED_REWRITTEN
from matching.linkage.recluster import REWRITTEN as CLUSTERS_REWRITTEN
from matching.linkage.recluster import SNAPSHOTS as CLUSTER_SNAPSHOTS
from quality import resolution_checks
from sources.config import PipelineConfig
from sources.schema import ENTITY_TYPES
from warehouse.step_inputs import file_fingerprint
from warehouse.store import replace_table

PREPARED = dg.AssetKey(["matching", "prepared_records"])
MODELS = dg.AssetKey(["matching", "models"])
PAIRS = dg.AssetKey(["matching", "pairs"])
CLUSTERS = dg.AssetKey(["matching", "clusters"])
REVIEW_QUEUE = dg.AssetKey(["matching", "review_queue"])
REPORTS = dg.AssetKey(["matching", "reports"])


class TrainingConfig(dg.Config):
    """Run configuration of the training step."""

    retrain: bool = False  # train new model versions even when saved ones exist


def _staged(
    warehouse: Warehouse,
    columns: tuple[str, ...] | None = None,
    keys: Collection[str] | None = None,
) -> pd.DataFrame:
    """``staging.customers`` as pandas (``staged_records``)."""
    with warehouse.connect() as con:
        return staged_records(con, columns, keys)


def _spark(cfg: PipelineConfig, spark: Spark) -> SparkRun | None:
    """The Spark session when the deployment matches on Spark (started at first use)."""
    return spark.run() if cfg.matching.backend == "spark" else None


def _prepared(warehouse: Warehouse) -> dict[str, PreparedRecords]:
    """This sync's prepared records of each entity type that has records."""
    with warehouse.connect() as con:
        loaded = {entity_type: load_prepared(con, entity_type) for entity_type in ENTITY_TYPES}
    if any(p is None for p in loaded.values()):
        raise RuntimeError(
            f"{warehouse.database}: no matching.prepared_records; materialise "
            "matching/prepared_records first (`custmaster run` does)"
        )
    return {t: p for t, p in loaded.items() if p is not None and p.table.num_rows}


@dg.asset(
    key=PREPARED,
    deps=[STAGED_CUSTOMERS],
    group_name="matching",
    kinds={"duckdb"},
    metadata=part_tables(SUPPRESSED_VALUES, UNCAPPED, PREPARED_REWRITTEN),
)
def prepared_records(
    context: dg.AssetExecutionContext, deployment: Deployment, warehouse: Warehouse
) -> dg.MaterializeResult:
    """The staged records as the matcher compares and blocks on them, prepared once per sync
    for training, prediction, the serving index and mentioned names; the values suppressed
    as junk (placeholders, values shared by too many records) in matching.suppressed_values.
    An incremental sync prepares only the new and changed records (matching.prepared_uncapped
    keeps each record as prepared before the caps) and caps shared values over all of them."""
    cfg = deployment.config
    plan = plan_step(
        context,
        warehouse,
        "matching.prepared_records",
        settings=[cfg.matching.junk.model_dump()],
        tables=["staging.customers"],
        incremental=True,
    )
    if plan.skip:
        return dg.MaterializeResult(metadata=plan.metadata())
    with warehouse.connect() as con:
        prepared = update_prepared(
            con, junk_rules(cfg.matching), incremental=plan.incremental, changes=plan.changes
        )
        counts = dict(
            con.sql(f"SELECT entity_type, count(*) FROM {PREPARED_RECORDS} GROUP BY 1").fetchall()
        )
        suppressed = dict(
            con.sql(f"SELECT entity_type, count(*) FROM {SUPPRESSED_VALUES} GROUP BY 1").fetchall()
        )
    plan.done(warehouse, context.run_id)
    context.log.info(
        f"prepared records: {counts} ({prepared} prepared again); suppressed values: {suppressed}"
    )
    return dg.MaterializeResult(
        metadata={
            "records": dg.MetadataValue.json(counts),
            "prepared_again": dg.MetadataValue.json(prepared),
            "suppressed_values": dg.MetadataValue.json(suppressed),
            **plan.metadata(),
        }
    )


def _models(warehouse: Warehouse) -> list[ModelChoice]:
    """The model versions this run's training step chose (table matching.models)."""
    with warehouse.connect() as con:
        return models_in_use(con)


@dg.asset(key=MODELS, deps=[PREPARED], group_name="matching", kinds={"splink", "duckdb"})
def matching_models(
    context: dg.AssetExecutionContext,
    config: TrainingConfig,
    deployment: Deployment,
    warehouse: Warehouse,
    spark: Spark,
) -> dg.MaterializeResult:
    """The Splink model of each entity type: u by random sampling, m by EM on several blocking
    rules, saved as a versioned JSON with a training summary. A saved model is reused unless
    retraining is asked for (`custmaster run --retrain`)."""
    cfg = deployment.config

    def inputs() -> dict:
        # which model each entity type uses depends on the saved versions and on which
        # entity types have records to match, not on the records themselves: new records
        # are scored by the model in use, which only --retrain replaces
        saved = [latest_version(cfg.model_path, entity_type) for entity_type in ENTITY_TYPES]
        with warehouse.connect() as con:
            present = con.sql(
                "SELECT entity_type FROM staging.customers GROUP BY 1 HAVING count(*) >= 2 ORDER BY 1"
            ).fetchall()
        return {
            "settings": [deployment_settings(cfg), config.retrain],
            "data": [[file_fingerprint(v.path) if v else "" for v in saved], present],
        }

    plan = plan_step(context, warehouse, "matching.models", **inputs())
    if plan.skip:
        return dg.MaterializeResult(metadata=plan.metadata())
    choices = ensure_models(
        _prepared(warehouse),
        cfg.model_path,
        cfg.matching,
        retrain=config.retrain,
        spark=_spark(cfg, spark),
    )
    with warehouse.connect() as con:
        replace_table(con, "matching", "models", models_table(choices))
    # the saved versions as they are now: a version trained here is not a change next time
    StepPlan(step_inputs(warehouse, "matching.models", **inputs()), plan.decision).done(
        warehouse, context.run_id
    )
    described = [f"{c.version.name} ({'trained' if c.trained else 'saved'})" for c in choices]
    context.log.info(f"models: {', '.join(described)}")
    return dg.MaterializeResult(
        metadata={
            "models": dg.MetadataValue.json({c.version.name: c.version.summary() for c in choices}),
            "trained_this_run": [c.version.name for c in choices if c.trained],
            **plan.metadata(),
        }
    )


@dg.asset(
    key=PAIRS,
    deps=[MODELS],
    group_name="matching",
    kinds={"splink", "duckdb"},
    metadata=part_tables("matching.scored_records"),
)
def candidate_pairs(
    context: dg.AssetExecutionContext, deployment: Deployment, warehouse: Warehouse, spark: Spark
) -> dg.MaterializeResult:
    """Pairs of records the model scored at or above the lower threshold: probability, match
    weight and the level every comparison reached. Companies are only paired with companies.
    An incremental sync scores only the pairs of new and changed records and keeps the rest
    (``matching.scored_records`` remembers what was scored)."""
    cfg = deployment.config
    plan = plan_step(
        context,
        warehouse,
        "matching.pairs",
        settings=matching_settings(cfg, warehouse),
        tables=["staging.customers"],
        incremental=True,
    )
    if plan.skip:
        return dg.MaterializeResult(metadata=plan.metadata())
    models = _models(warehouse)
    with warehouse.connect() as con:
        changes = record_changes(con) if plan.incremental else None
    work: dict[str, object] = plan.metadata()
    if changes is None:
        pairs = score_pairs(_prepared(warehouse), models, cfg.matching, spark=_spark(cfg, spark))
        with warehouse.connect() as con:
            replace_table(
                con, "matching", "pairs", pa.Table.from_pandas(pairs, preserve_index=False)
            )
            remember_scored_records(con)
    else:
        with warehouse.connect() as con:
            pairable = (
                {
                    c.version.entity_type: load_pairable(
                        con, c.version.entity_type, c.version.load(), changes.changed
                    )
                    for c in models
                }
                if cfg.matching.backend == "duckdb"
                else {t: PairableRecords(p, None) for t, p in _prepared(warehouse).items()}
            )
        fresh = rescore_pairs(pairable, changes, models, cfg.matching, spark=_spark(cfg, spark))
        with warehouse.connect() as con:
            write_rescored_pairs(con, fresh, changes)
            remember_scored_records(con, changes)
        work.update(
            records_scored_again=len(changes.changed),
            records_removed=len(changes.removed),
            records_read=dict(sorted((t, p.records.table.num_rows) for t, p in pairable.items())),
        )
    with warehouse.connect() as con:
        per_type = dict(
            con.execute(
                "SELECT entity_type, count(*) FROM matching.pairs GROUP BY 1 ORDER BY 1"
            ).fetchall()
        )
        head = con.sql("FROM matching.pairs LIMIT 5").to_arrow_table()
    plan.done(warehouse, context.run_id)
    context.log.info(f"pairs: {per_type}")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(per_type.values()),
            "preview": preview(head),
            "pairs_per_entity_type": dg.MetadataValue.json(per_type),
            **work,
        }
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            CLUSTERS,
            deps=[PAIRS],
            group_name="matching",
            kinds={"duckdb"},
            description="One row per staged record with its cluster (the records of one real customer), "
            "after steward decisions and the cluster-size limit; cut links, decision conflicts and the links "
            "relational rules added (contact persons of one company) beside it.",
            metadata=part_tables(
                "matching.cut_links",
                "matching.decision_conflicts",
                "matching.rule_links",
                *CLUSTER_SNAPSHOTS,
                CLUSTERS_REWRITTEN,
            ),
        ),
        dg.AssetSpec(
            REVIEW_QUEUE,
            deps=[PAIRS],
            group_name="matching",
            kinds={"duckdb", "csv", "parquet"},
            description="Pairs a steward should decide, both records side by side with the probability and "
            "the evidence; exported to <output_dir>/review/review_queue.csv and .parquet.",
        ),
    ]
)
def clusters_and_review(
    context: dg.AssetExecutionContext, deployment: Deployment, warehouse: Warehouse, spark: Spark
):
    cfg = deployment.config
    plan = plan_step(
        context,
        warehouse,
        "matching.clusters",
        settings=matching_settings(cfg, warehouse),
        tables=["staging.customers", "matching.pairs"],
        files=[cfg.decisions_path],
        incremental=True,
    )
    if plan.skip:
        yield dg.MaterializeResult(asset_key=CLUSTERS, metadata=plan.metadata())
        yield dg.MaterializeResult(asset_key=REVIEW_QUEUE, metadata=plan.metadata())
        return
    decisions = read_decisions(cfg.decisions_path)
    review_dir = cfg.output_path / "review"
    with warehouse.connect() as con:
        update = update_clusters(
            con,
            decisions,
            cfg.matching,
            review_dir,
            incremental=plan.incremental,
            spark=_spark(cfg, spark),
        )
        head = con.sql("FROM matching.clusters ORDER BY record_key LIMIT 5").to_arrow_table()
    resolution, queue, counts = update.resolution, update.review_queue, update.counts
    solved = update.records_solved_again
    work = {} if solved is None else {"records_solved_again": solved}
    plan.done(warehouse, context.run_id)
    context.log.info(f"clusters: {counts}; review queue: {len(queue)} pairs")
    yield dg.MaterializeResult(
        asset_key=CLUSTERS,
        metadata=dict(
            {"dagster/row_count": counts["records"], "preview": preview(head)},
            **counts,
            **work,
            steward_decisions=len(decisions),
            unknown_decision_records=dg.MetadataValue.json(
                resolution.unknown_decision_records[:20]
            ),
            **plan.metadata(),
        ),
    )
    yield dg.MaterializeResult(
        asset_key=REVIEW_QUEUE,
        metadata=table_metadata(
            pa.Table.from_pandas(queue, preserve_index=False),
            reasons=dg.MetadataValue.json(queue["reason"].value_counts().to_dict()),
            csv=dg.MetadataValue.path(str(review_dir / "review_queue.csv")),
            **plan.metadata(),
        ),
    )


@dg.asset(key=REPORTS, deps=[CLUSTERS], group_name="matching", kinds={"html"})
def matching_reports(
    context: dg.AssetExecutionContext, deployment: Deployment, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Explanations a person can open offline, per entity type: Splink's match-weights chart,
    comparison viewer and cluster studio (largest clusters), in <output_dir>/reports/. They
    explain the models, so they are written again when a model (or the config) changes, or
    on a full sync, not on every sync."""
    cfg = deployment.config
    plan = plan_step(
        context,
        warehouse,
        "matching.reports",
        settings=matching_settings(cfg, warehouse),
    )
    if plan.skip:
        return dg.MaterializeResult(metadata=plan.metadata())
    with warehouse.connect() as con:
        clusters = con.sql("SELECT record_key, entity_type, cluster_id FROM matching.clusters").df()
    written = []
    for choice in _models(warehouse):
        entity_type = choice.version.entity_type
        of_type = clusters[clusters["entity_type"] == entity_type]
        # only the staged records the dashboards show are read, not the whole table
        shown = sample_clusters(of_type[["record_key", "cluster_id"]], DEFAULT_MAX_RECORDS)
        written += write_reports(
            _staged(warehouse, keys=shown["record_key"]),
            of_type,
            choice.version.load(),
            entity_type,
            cfg.output_path / "reports",
            cfg.matching.upper_threshold,
            junk_rules(cfg.matching),
        )
    plan.done(warehouse, context.run_id)
    context.log.info(f"reports: {', '.join(p.name for p in written)}")
    return dg.MaterializeResult(
        metadata={**{p.stem: dg.MetadataValue.path(str(p)) for p in written}, **plan.metadata()}
    )


MATCHING_ASSETS = [
    prepared_records,
    matching_models,
    candidate_pairs,
    clusters_and_review,
    matching_reports,
]


def _clusters_checks(con: duckdb.DuckDBPyConnection, _run: str, config: PipelineConfig):
    return resolution_checks.check_clusters(
        con, config.quality.giant_cluster_size, config.quality.max_unlinked_share
    )


def _review_queue_checks(con: duckdb.DuckDBPyConnection, _run: str, config: PipelineConfig):
    return [resolution_checks.check_review_queue(con, config.quality.max_review_queue)]


MATCHING_CHECKS = check_step(
    "matching_quality",
    [
        Guard(CLUSTERS, resolution_checks.CLUSTER_CHECKS, _clusters_checks),
        Guard(REVIEW_QUEUE, (resolution_checks.REVIEW_QUEUE_CHECK,), _review_queue_checks),
    ],
    "No giant cluster (blocking); share of records left unlinked, review-queue size (warn).",
)

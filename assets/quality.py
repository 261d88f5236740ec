"""Quality gates: every suite of ``quality/`` as Dagster asset checks on the asset it guards.

Blocking checks (severity ERROR) stop the assets downstream of the one they guard in the
same run; rate checks warn. Each check's full result is written to
``<output_dir>/quality/<run_id>/<schema>.<table>.<check>.json`` and linked from its metadata.
Great Expectations is imported inside the check bodies (``quality.gx``), never here.

The checks of one layer run in one step (a Dagster op per layer, not per table): a step
costs more than validating a small table, and a layer's tables are ready together.
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import dagster as dg
import duckdb
import pandas as pd

from assets.checks import check_specs, stored_results
from assets.master import ATTRIBUTE_LINEAGE, CUSTOMER_XREF, GOLDEN_CUSTOMERS, RELATIONSHIPS
from assets.matching import CLUSTERS, REVIEW_QUEUE
from assets.raw import raw_asset_key
from assets.resources import Deployment, Warehouse
from assets.staging import STAGED_CUSTOMERS
from quality import master_suite, resolution_checks
from quality.gx import Suite, validate
from quality.history import previous_row_count, record_row_count
from quality.marts_suite import (
    DEFAULT_MART_SPECS,
    MartSpec,
    mart_specs,
    marts_frame,
    marts_suite,
)
from quality.raw_suite import ROWS_VS_PREVIOUS_RUN_CHECK, raw_checks, raw_frame, raw_suite
from quality.results import CheckDef, CheckOutcome
from quality.staged_suite import STAGED_CHECKS, staged_frame, staged_suite
from sources.config import FileSpec, PipelineConfig

#: How a guard evaluates its checks: (warehouse connection, run id, config) → outcomes.
Evaluate = Callable[[duckdb.DuckDBPyConnection, str, PipelineConfig], list[CheckOutcome]]


@dataclass(frozen=True)
class Guard:
    """The checks on one asset and how to evaluate them."""

    asset_key: dg.AssetKey
    checks: tuple[CheckDef, ...]
    evaluate: Evaluate


def build_check_step(
    name: str, guards: Sequence[Guard], description: str
) -> dg.AssetChecksDefinition:
    """One Dagster op that evaluates ``guards`` (only the checks selected for the run)."""
    specs = [spec for g in guards for spec in check_specs(g.asset_key, g.checks)]

    @dg.multi_asset_check(specs=specs, name=name, description=description, can_subset=True)
    def _quality(
        context: dg.AssetCheckExecutionContext, deployment: Deployment, warehouse: Warehouse
    ) -> Iterator[dg.AssetCheckResult]:
        config, run_id = deployment.config, context.run.run_id
        selected = context.selected_asset_check_keys
        for guard in guards:
            wanted = {c.name for c in guard.checks} & {
                k.name for k in selected if k.asset_key == guard.asset_key
            }
            if not wanted:
                continue
            with warehouse.connect() as con:
                outcomes = [o for o in guard.evaluate(con, run_id, config) if o.name in wanted]
            for outcome in outcomes:
                if not outcome.passed:
                    context.log.warning(
                        f"{guard.asset_key.to_user_string()} · {outcome.name}: {outcome.description}"
                    )
            yield from stored_results(outcomes, guard.asset_key, run_id, config.output_path)

    return _quality


def _suite_guard(
    asset_key: dg.AssetKey, suite: Suite, frame: Callable[[duckdb.DuckDBPyConnection], pd.DataFrame]
) -> Guard:
    return Guard(asset_key, suite.checks, lambda con, _run, _cfg: validate(suite, frame(con)))


def _raw_guard(feed: FileSpec) -> Guard:
    def evaluate(con: duckdb.DuckDBPyConnection, run_id: str, config: PipelineConfig):
        previous = previous_row_count(con, feed.name, run_id)
        frame = raw_frame(con, feed)
        outcomes = validate(raw_suite(feed, previous, config.quality), frame)
        accepted = next(o.passed for o in outcomes if o.name == ROWS_VS_PREVIOUS_RUN_CHECK)
        now = datetime.now(UTC).replace(tzinfo=None)
        record_row_count(con, feed.name, run_id, len(frame), accepted, now)
        return outcomes

    return Guard(raw_asset_key(feed.name), raw_checks(feed), evaluate)


def _staged(con: duckdb.DuckDBPyConnection, _run: str, config: PipelineConfig):
    return validate(staged_suite(config, date.today()), staged_frame(con, config))


def _clusters(con: duckdb.DuckDBPyConnection, _run: str, config: PipelineConfig):
    return [
        resolution_checks.check_giant_clusters(con, config.quality.giant_cluster_size),
        resolution_checks.check_unlinked_share(con, config.quality.max_unlinked_share),
    ]


def _review_queue(con: duckdb.DuckDBPyConnection, _run: str, config: PipelineConfig):
    return [resolution_checks.check_review_queue(con, config.quality.max_review_queue)]


def _xref(con: duckdb.DuckDBPyConnection, run_id: str, config: PipelineConfig):
    outcomes = validate(master_suite.xref_suite(), master_suite.xref_frame(con))
    churn = resolution_checks.check_id_churn(con, run_id, config.quality.max_id_churn_share)
    return [*outcomes, churn]


def build_quality_checks(config: PipelineConfig) -> list[dg.AssetChecksDefinition]:
    """Every quality gate of the deployment, one step per layer."""
    feeds = [*config.sources, *config.activity_feeds()]
    return [
        build_check_step(
            "raw_quality",
            [_raw_guard(feed) for feed in feeds],
            "Raw suite on every feed: required columns present, key unique, no sudden loss of rows.",
        ),
        build_check_step(
            "staging_quality",
            [Guard(STAGED_CUSTOMERS, STAGED_CHECKS, _staged)],
            "Valid phone / mobile / e-mail / USCC shares (warn); official provinces, known entity "
            "types, no future dates (blocking).",
        ),
        build_check_step(
            "matching_quality",
            [
                Guard(CLUSTERS, resolution_checks.CLUSTER_CHECKS, _clusters),
                Guard(REVIEW_QUEUE, (resolution_checks.REVIEW_QUEUE_CHECK,), _review_queue),
            ],
            "No giant cluster (blocking); share of records left unlinked, review-queue size (warn).",
        ),
        build_check_step(
            "customer_ids_quality",
            [
                Guard(
                    CUSTOMER_XREF,
                    (*master_suite.xref_suite().checks, resolution_checks.ID_CHURN_CHECK),
                    _xref,
                )
            ],
            "One current xref row per staged record, IDs within one entity type (blocking); "
            "customer-ID churn since the last run (warn).",
        ),
        build_check_step(
            "golden_quality",
            [
                _suite_guard(
                    GOLDEN_CUSTOMERS, master_suite.customers_suite(), master_suite.customers_frame
                ),
                _suite_guard(
                    ATTRIBUTE_LINEAGE, master_suite.lineage_suite(), master_suite.lineage_frame
                ),
            ],
            "One golden record per live customer_id, no reused ID; lineage for every golden "
            "value (blocking).",
        ),
        build_check_step(
            "relationships_quality",
            [
                _suite_guard(
                    RELATIONSHIPS,
                    master_suite.relationships_suite(),
                    master_suite.relationships_frame,
                )
            ],
            "No relationship points to a merged, retired or unknown customer_id (blocking).",
        ),
        *build_marts_checks(mart_specs(config.marts)),
    ]


def _mart_guard(spec: MartSpec) -> Guard:
    return _suite_guard(
        dg.AssetKey(spec.table.split(".")), marts_suite(spec), lambda con: marts_frame(con, spec)
    )


def build_marts_checks(
    specs: Sequence[MartSpec] = DEFAULT_MART_SPECS,
) -> list[dg.AssetChecksDefinition]:
    """The marts suite on each mart table of ``specs`` (asset key ``marts/<table>``):
    ``segments_in_value_sets`` and, where the spec names share columns,
    ``shares_sum_to_100_percent``; both blocking."""
    return [
        build_check_step(
            "marts_quality",
            [_mart_guard(spec) for spec in specs],
            "Segments within their value sets; shares summing to 100% (blocking).",
        )
    ]

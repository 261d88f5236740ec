"""Staged activity: orders, interactions and open invoices of every feed, parsed once, with
their quarantine; and the checks that every row is accounted for and few are quarantined."""

from collections.abc import Iterator

import dagster as dg
import duckdb

from assets.checks import Guard, check_step
from assets.raw import raw_asset_key
from assets.resources import Deployment, Warehouse
from assets.step_work import deployment_settings, plan_step
from quality.reconciliation import (
    ACTIVITY_CHECKS,
    check_quarantined_share,
    reconcile_activity,
    reconciliation_outcome,
)
from quality.results import CheckOutcome
from sources.activity_schema import KINDS, ActivityKind
from sources.activity_staging import stage_activity
from sources.config import PipelineConfig

_DESCRIPTIONS = {
    "orders": "One row per order line of every order feed: its customer record, parsed date, "
    "quantity and amount.",
    "interactions": "One row per call, visit, complaint or survey of every interaction feed, "
    "with its customer record.",
    "receivables": "One row per open invoice of every receivables feed: customer record, due "
    "date, open amount.",
}


def staged_activity_key(table: str) -> dg.AssetKey:
    """``staging/<orders|interactions|receivables>`` (``_quarantine`` for the rows kept out)."""
    return dg.AssetKey(["staging", table])


def _staging_asset(kind: ActivityKind, config: PipelineConfig) -> dg.AssetsDefinition:
    staged, quarantined = (
        staged_activity_key(kind.table),
        staged_activity_key(kind.quarantine_table),
    )
    deps = [raw_asset_key(f.name) for f in kind.feeds(config)]

    @dg.multi_asset(
        name=f"staging_{kind.table}",
        specs=[
            dg.AssetSpec(staged, deps=deps, group_name="staging", kinds={"duckdb"},
                         description=_DESCRIPTIONS[kind.table]),
            dg.AssetSpec(quarantined, deps=deps, group_name="staging", kinds={"duckdb"},
                         description=f"Rows of the {kind.table} feeds that cannot count (empty or repeated "
                         "key, date or amount that does not parse, unreadable row), each with a reason "
                         "naming feed, file, row and field, and the row as sent."),
        ],
    )  # fmt: skip
    def _stage(
        context: dg.AssetExecutionContext, deployment: Deployment, warehouse: Warehouse
    ) -> Iterator[dg.MaterializeResult]:
        feeds = kind.feeds(deployment.config)
        plan = plan_step(
            context,
            warehouse,
            f"staging.{kind.table}",
            settings=[deployment_settings(deployment.config)],
            tables=[f"raw.{f.name}{part}" for f in feeds for part in ("", "__rejected")],
            incremental=True,
        )
        if plan.skip:  # the feeds' rows are what they were: so are the staged ones
            yield dg.MaterializeResult(asset_key=staged, metadata=plan.metadata())
            yield dg.MaterializeResult(asset_key=quarantined, metadata=plan.metadata())
            return
        with warehouse.connect() as con:
            per_feed = stage_activity(
                con, kind, feeds, incremental=plan.incremental, changes=plan.changes
            )
        plan.done(warehouse, context.run_id)
        context.log.info(f"staging.{kind.table}: {per_feed.to_dict('records')}")
        meta = dg.MetadataValue.json(per_feed.to_dict("records"))
        yield dg.MaterializeResult(
            asset_key=staged,
            metadata={
                "dagster/row_count": int(per_feed["staged"].sum()),
                "per_feed": meta,
                **plan.metadata(),
            },
        )
        yield dg.MaterializeResult(
            asset_key=quarantined,
            metadata={
                "dagster/row_count": int(per_feed["quarantined"].sum()),
                "per_feed": meta,
                **plan.metadata(),
            },
        )

    return _stage


def _activity_guard(kind: ActivityKind) -> Guard:
    """``rows_reconcile`` and ``quarantined_share`` on ``staging.<kind>``, blocking."""

    def evaluate(
        con: duckdb.DuckDBPyConnection, _run: str, config: PipelineConfig
    ) -> list[CheckOutcome]:
        table = reconcile_activity(con, kind.table, [f.name for f in kind.feeds(config)])
        return [
            reconciliation_outcome(table),
            check_quarantined_share(table, config.quality.quarantine_limit()),
        ]

    return Guard(staged_activity_key(kind.table), ACTIVITY_CHECKS, evaluate)


ACTIVITY_STAGING_CHECKS = check_step(
    "activity_staging_quality",
    [_activity_guard(kind) for kind in KINDS],
    "Rows received = staged + quarantined per activity feed; no feed quarantined more than "
    "quality.max_quarantined_share of its rows (blocking).",
)


def build_activity_assets(config: PipelineConfig) -> list:
    """The staged activity tables of every kind (their checks: ``ACTIVITY_STAGING_CHECKS``)."""
    return [_staging_asset(kind, config) for kind in KINDS]

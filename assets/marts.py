"""Marts layer: activity attached to golden customers, value, lifecycle, follow-ups, sales;
and the checks that guard them: every activity row kept or quarantined, segments within
their value sets, shares summing to 100%."""

import time
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb

from assets.activity import staged_activity_key
from assets.checks import Guard, check_step, suite_guard
from assets.master import (
    CUSTOMER_ID_EVENTS,
    CUSTOMER_ROLES,
    CUSTOMER_XREF,
    GOLDEN_CUSTOMERS,
    RELATIONSHIPS,
)
from assets.metadata import part_tables, preview
from assets.resources import Deployment, Warehouse
from assets.step_work import StepPlan, deployment_settings, plan_step
from quality.marts_suite import DEFAULT_MART_SPECS, MartSpec, mart_specs, marts_frame, marts_suite
from quality.reconciliation import MARTS_RECONCILIATION, check_marts_reconciliation
from sources.activity_schema import ActivityKind
from sources.config import PipelineConfig
from warehouse import marts
from warehouse.marts.activity import SUMMED_KINDS, customer_rows_table, reconcile_marts
from warehouse.marts.by_customer import inputs_table
from warehouse.marts.followup_due import TABLE as FOLLOWUP_DUE
from warehouse.store import table_exists


def marts_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["marts", table])


ORDERS, INTERACTIONS, RECEIVABLES = (marts_key(k.table) for k in marts.KINDS)
CUSTOMER_VALUE = marts_key("customer_value")
CUSTOMER_LIFECYCLE = marts_key("customer_lifecycle")
LIFECYCLE_HISTORY = marts_key("lifecycle_history")
FOLLOWUP_TODAY = marts_key("followup_today")
SALES_BY_REGION_PRODUCT_MONTH = marts_key("sales_by_region_product_month")
CUSTOMER_GROWTH = marts_key("customer_growth")
CUSTOMER_360 = marts_key("customer_360")
NEXT_ORDER = marts_key("next_order")
CUSTOMER_SATISFACTION = marts_key("customer_satisfaction")
SATISFACTION_BY_TIER_REGION = marts_key("satisfaction_by_tier_region")
SALES_FORECAST = marts_key("sales_forecast")
LEAD_FUNNEL = marts_key("lead_funnel")

_DESCRIPTIONS = {
    "orders": "One row per order line of every source, with its customer_id, parsed date, quantity and amount.",
    "interactions": "Calls, visits, complaints and surveys of every source, with their customer_id.",
    "receivables": "Open invoices of every source with their customer_id; overdue once the due date is past.",
}


def as_of_for_run(context: dg.AssetExecutionContext, config: PipelineConfig) -> date:
    """``marts.as_of`` from the config, else the day this run started in the deployment's time
    zone (``schedule.timezone``): the same day for every asset of the run."""
    record = context.instance.get_run_record_by_id(context.run_id)
    started = record.start_time if record is not None and record.start_time else time.time()
    run_date = datetime.fromtimestamp(started, ZoneInfo(config.schedule.timezone)).date()
    return marts.marts_as_of(config, run_date)


def marts_plan(
    context: dg.AssetExecutionContext,
    deployment: Deployment,
    warehouse: Warehouse,
    mart: str,
    *,
    incremental: bool = False,
) -> StepPlan:
    """Skip ``marts.<mart>`` when neither the tables it is built from (its assets' upstream
    assets) nor the day changed; else rebuild it (or, for a mart that can, update it with
    what changed: ``incremental``).

    Only upstream tables count: they are final when the step starts. A table a later step of
    the same sync rewrites (the relationships, for a mart that does not read them) would
    have been read half-way through the sync, and the next sync, on unchanged files, would
    have found it changed.
    """
    cfg = deployment.config
    own = set(context.assets_def.keys)
    upstream = {".".join(k.path) for k in context.assets_def.dependency_keys if k not in own}
    return plan_step(
        context,
        warehouse,
        f"marts.{mart}",
        settings=[deployment_settings(cfg)],
        tables=sorted(upstream),
        data=[as_of_for_run(context, cfg)],
        incremental=incremental,
    )


def counts_of(con: duckdb.DuckDBPyConnection, table: str, column: str) -> dg.JsonMetadataValue:
    rows = con.execute(
        f"SELECT {column}, count(*) FROM marts.{table} GROUP BY 1 ORDER BY 1"
    ).fetchall()
    return dg.MetadataValue.json({str(k): n for k, n in rows})


def table_metadata(con: duckdb.DuckDBPyConnection, table: str, rows: int, **extra) -> dict:
    head = con.sql(f"FROM marts.{table} LIMIT 5").to_arrow_table()
    return {"dagster/row_count": rows, "preview": preview(head), **extra}


def _activity_asset(kind: ActivityKind) -> dg.AssetsDefinition:
    kept, quarantined = marts_key(kind.table), marts_key(f"{kind.table}_quarantine")
    deps = [
        CUSTOMER_XREF,
        staged_activity_key(kind.table),
        staged_activity_key(kind.quarantine_table),
    ]

    @dg.multi_asset(
        name=f"marts_{kind.table}",
        specs=[
            dg.AssetSpec(kept, deps=deps, group_name="marts", kinds={"duckdb"},
                         metadata=part_tables(f"marts.{customer_rows_table(kind)}")
                         if kind in SUMMED_KINDS else None,
                         description=_DESCRIPTIONS[kind.table]),
            dg.AssetSpec(quarantined, deps=deps, group_name="marts", kinds={"duckdb"},
                         description=f"Rows of the {kind.table} feeds kept out of marts.{kind.table}, each with a "
                         "reason naming feed, file, row and field: received = kept + quarantined."),
        ],
    )  # fmt: skip
    def _activity(
        context: dg.AssetExecutionContext, deployment: Deployment, warehouse: Warehouse
    ) -> Iterator[dg.MaterializeResult]:
        plan = marts_plan(context, deployment, warehouse, kind.table, incremental=True)
        if plan.skip:
            yield dg.MaterializeResult(asset_key=kept, metadata=plan.metadata())
            yield dg.MaterializeResult(asset_key=quarantined, metadata=plan.metadata())
            return
        with warehouse.connect() as con:
            if plan.incremental and table_exists(con, "marts", kind.table):
                # only the rows that changed, their fingerprint carried for its readers
                table = marts.update_activity(con, kind, plan.changes)
            else:
                table = marts.build_activity(con, kind)
            meta = table_metadata(con, kind.table, int(table["kept"].sum()))
        plan.done(warehouse, context.run_id)
        context.log.info(f"marts.{kind.table}: {table.to_dict('records')}")
        per_feed = dg.MetadataValue.json(table.to_dict("records"))
        yield dg.MaterializeResult(
            asset_key=kept, metadata={**meta, "per_feed": per_feed, **plan.metadata()}
        )
        yield dg.MaterializeResult(
            asset_key=quarantined,
            metadata={"dagster/row_count": int(table["quarantined"].sum()), "per_feed": per_feed},
        )

    return _activity


@dg.asset(key=CUSTOMER_VALUE, deps=[ORDERS, RECEIVABLES, GOLDEN_CUSTOMERS], group_name="marts",
          kinds={"duckdb"})  # fmt: skip
def customer_value(
    context: dg.AssetExecutionContext, deployment: Deployment, warehouse: Warehouse
) -> dg.MaterializeResult:
    """What each golden customer is worth: window and lifetime revenue, ABC class, RFM scores and
    segment, value tier, open and overdue amounts and credit tier."""
    plan = marts_plan(context, deployment, warehouse, "customer_value")
    if plan.skip:
        return dg.MaterializeResult(metadata=plan.metadata())
    cfg = deployment.config
    with warehouse.connect() as con:
        rows = marts.build_customer_value(con, cfg.marts, as_of_for_run(context, cfg))
        meta = table_metadata(
            con, "customer_value", rows, abc=counts_of(con, "customer_value", "abc_class")
        )
    plan.done(warehouse, context.run_id)
    return dg.MaterializeResult(metadata={**meta, **plan.metadata()})


@dg.multi_asset(
    specs=[
        dg.AssetSpec(CUSTOMER_LIFECYCLE, deps=[ORDERS, GOLDEN_CUSTOMERS, CUSTOMER_ID_EVENTS, CUSTOMER_ROLES],
                     group_name="marts", kinds={"duckdb"},
                     metadata=part_tables(f"marts.{inputs_table('customer_lifecycle')}"),
                     description="Each customer's lifecycle stage (prospect, new, active, reactivated, dormant, "
                     "churned) and the day it entered it."),
        dg.AssetSpec(LIFECYCLE_HISTORY, deps=[ORDERS, GOLDEN_CUSTOMERS, CUSTOMER_ID_EVENTS, CUSTOMER_ROLES],
                     group_name="marts", kinds={"duckdb"},
                     description="Every stage change across runs (appended, never rebuilt); merged IDs hand "
                     "their history to the survivor."),
    ]
)  # fmt: skip
def customer_lifecycle(
    context: dg.AssetExecutionContext, deployment: Deployment, warehouse: Warehouse
) -> Iterator[dg.MaterializeResult]:
    plan = marts_plan(context, deployment, warehouse, "customer_lifecycle", incremental=True)
    if plan.skip:
        yield dg.MaterializeResult(asset_key=CUSTOMER_LIFECYCLE, metadata=plan.metadata())
        yield dg.MaterializeResult(asset_key=LIFECYCLE_HISTORY, metadata=plan.metadata())
        return
    cfg = deployment.config
    now = datetime.now(UTC).replace(tzinfo=None)
    with warehouse.connect() as con:
        counts = marts.build_lifecycle(
            con,
            cfg.marts,
            as_of_for_run(context, cfg),
            context.run_id,
            now,
            changes_only=plan.incremental,
        )
        meta = table_metadata(con, "customer_lifecycle", counts["customers"],
                               stages=counts_of(con, "customer_lifecycle", "stage"))  # fmt: skip
        history_rows = con.execute("SELECT count(*) FROM marts.lifecycle_history").fetchall()[0][0]
    plan.done(warehouse, context.run_id)
    yield dg.MaterializeResult(asset_key=CUSTOMER_LIFECYCLE, metadata={**meta, **plan.metadata()})
    yield dg.MaterializeResult(
        asset_key=LIFECYCLE_HISTORY,
        metadata={"dagster/row_count": history_rows, "stage_changes": counts["stage_changes"]},
    )


@dg.asset(key=FOLLOWUP_TODAY, group_name="marts", kinds={"duckdb"},
          deps=[ORDERS, INTERACTIONS, CUSTOMER_VALUE, CUSTOMER_LIFECYCLE, CUSTOMER_SATISFACTION, RELATIONSHIPS,
                GOLDEN_CUSTOMERS],
          metadata=part_tables(f"marts.{FOLLOWUP_DUE}", f"marts.{inputs_table(FOLLOWUP_DUE)}"))  # fmt: skip
def followup_today(
    context: dg.AssetExecutionContext, deployment: Deployment, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Who to call today and why (consumables due, service due, dormant care, open complaint,
    satisfaction drop), with the
    person and number to call; one row per customer and reason, best customers first."""
    plan = marts_plan(context, deployment, warehouse, "followup_today", incremental=True)
    if plan.skip:
        return dg.MaterializeResult(metadata=plan.metadata())
    cfg = deployment.config
    with warehouse.connect() as con:
        rows = marts.build_followup_today(
            con, cfg.marts, as_of_for_run(context, cfg), changes_only=plan.incremental
        )
        meta = table_metadata(
            con, "followup_today", rows, reasons=counts_of(con, "followup_today", "reason")
        )
    plan.done(warehouse, context.run_id)
    return dg.MaterializeResult(metadata={**meta, **plan.metadata()})


@dg.asset(key=SALES_BY_REGION_PRODUCT_MONTH, deps=[ORDERS, GOLDEN_CUSTOMERS], group_name="marts",
          kinds={"duckdb"})  # fmt: skip
def sales_by_region_product_month(
    context: dg.AssetExecutionContext, deployment: Deployment, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Orders, customers, quantity and revenue per month, province, city and product."""
    plan = marts_plan(context, deployment, warehouse, "sales_by_region_product_month")
    if plan.skip:
        return dg.MaterializeResult(metadata=plan.metadata())
    with warehouse.connect() as con:
        rows = marts.build_sales_by_region_product_month(con)
        meta = table_metadata(con, "sales_by_region_product_month", rows)
    plan.done(warehouse, context.run_id)
    return dg.MaterializeResult(metadata={**meta, **plan.metadata()})


@dg.asset(
    key=CUSTOMER_GROWTH, deps=[ORDERS, GOLDEN_CUSTOMERS], group_name="marts", kinds={"duckdb"}
)
def customer_growth(
    context: dg.AssetExecutionContext, deployment: Deployment, warehouse: Warehouse
) -> dg.MaterializeResult:
    """The largest and fastest-growing customers of each recent complete period: overall, per
    province and per product."""
    plan = marts_plan(context, deployment, warehouse, "customer_growth")
    if plan.skip:
        return dg.MaterializeResult(metadata=plan.metadata())
    cfg = deployment.config
    with warehouse.connect() as con:
        rows = marts.build_customer_growth(con, cfg.marts, as_of_for_run(context, cfg))
        meta = table_metadata(con, "customer_growth", rows)
    plan.done(warehouse, context.run_id)
    return dg.MaterializeResult(metadata={**meta, **plan.metadata()})


@dg.asset(key=CUSTOMER_360, group_name="marts", kinds={"duckdb"},
          deps=[GOLDEN_CUSTOMERS, CUSTOMER_ROLES, RELATIONSHIPS, INTERACTIONS, CUSTOMER_VALUE,
                CUSTOMER_LIFECYCLE, FOLLOWUP_TODAY],
          metadata=part_tables(f"marts.{inputs_table('customer_360')}"))  # fmt: skip
def customer_360(
    context: dg.AssetExecutionContext, deployment: Deployment, warehouse: Warehouse
) -> dg.MaterializeResult:
    """One wide row per golden customer for analysts: master record, roles, value, lifecycle stage,
    relationship and interaction counts, today's follow-up reasons."""
    plan = marts_plan(context, deployment, warehouse, "customer_360", incremental=True)
    if plan.skip:
        return dg.MaterializeResult(metadata=plan.metadata())
    with warehouse.connect() as con:
        rows = marts.build_customer_360(con, deployment.config.marts, changes_only=plan.incremental)
        meta = table_metadata(con, "customer_360", rows)
    plan.done(warehouse, context.run_id)
    return dg.MaterializeResult(metadata={**meta, **plan.metadata()})


def build_marts_assets(config: PipelineConfig) -> list[dg.AssetsDefinition]:
    """Every marts asset (:data:`warehouse.marts.MART_TABLES`); the activity marts read the
    staged activity. The sales-planning marts are in ``assets.sales``."""
    from assets.sales import SALES_ASSETS

    return [
        *(_activity_asset(kind) for kind in marts.KINDS),
        customer_value,
        customer_lifecycle,
        followup_today,
        sales_by_region_product_month,
        customer_growth,
        customer_360,
        *SALES_ASSETS,
    ]


def _activity_guard(kind: ActivityKind) -> Guard:
    def evaluate(con: duckdb.DuckDBPyConnection, _run: str, config: PipelineConfig):
        return [check_marts_reconciliation(reconcile_marts(con, kind), f"marts.{kind.table}")]

    return Guard(marts_key(kind.table), (MARTS_RECONCILIATION,), evaluate)


ACTIVITY_CHECKS = check_step(
    "activity_quality",
    [_activity_guard(kind) for kind in marts.KINDS],
    "Every staged order, interaction and open invoice is kept in its mart or quarantined "
    "beside it (blocking).",
)


def build_marts_checks(
    specs: Sequence[MartSpec] = DEFAULT_MART_SPECS,
) -> list[dg.AssetChecksDefinition]:
    """The marts suite on each mart table of ``specs`` (asset key ``marts/<table>``):
    ``segments_in_value_sets`` and, where the spec names share columns,
    ``shares_sum_to_100_percent``; both blocking."""
    return [
        check_step(
            "marts_quality",
            [
                suite_guard(
                    dg.AssetKey(spec.table.split(".")),
                    marts_suite(spec),
                    lambda con, spec=spec: marts_frame(con, spec),
                    own_table_only=True,  # marts_frame reads the mart alone
                )
                for spec in specs
            ],
            "Segments within their value sets; shares summing to 100% (blocking).",
        )
    ]


def build_all_marts_checks(config: PipelineConfig) -> list[dg.AssetChecksDefinition]:
    """Every check on the marts of the deployment: activity reconciliation, the marts suite."""
    return [ACTIVITY_CHECKS, *build_marts_checks(mart_specs(config.marts))]

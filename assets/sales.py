"""Sales-planning marts: the revenue forecast, each customer's next order, the lead funnel and
customer satisfaction (whose drops the follow-up list reads)."""

from collections.abc import Iterator

import dagster as dg

from assets.marts import (
    CUSTOMER_LIFECYCLE,
    CUSTOMER_SATISFACTION,
    CUSTOMER_VALUE,
    INTERACTIONS,
    LEAD_FUNNEL,
    NEXT_ORDER,
    ORDERS,
    SALES_FORECAST,
    SATISFACTION_BY_TIER_REGION,
    as_of_for_run,
    counts_of,
    marts_plan,
    table_metadata,
)
from assets.master import CUSTOMER_XREF, GOLDEN_CUSTOMERS
from assets.metadata import part_tables
from assets.resources import Deployment, Warehouse
from assets.staging import STAGED_CUSTOMERS
from warehouse import marts
from warehouse.marts.by_customer import inputs_table


@dg.asset(key=SALES_FORECAST, deps=[ORDERS, GOLDEN_CUSTOMERS], group_name="marts", kinds={"duckdb"})
def sales_forecast(
    context: dg.AssetExecutionContext, deployment: Deployment, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Revenue of the next months per province and product line, with a prediction interval; the
    metadata carries the backtest's sMAPE and bias beside the seasonal-naive baseline's."""
    plan = marts_plan(context, deployment, warehouse, "sales_forecast")
    if plan.skip:
        return dg.MaterializeResult(metadata=plan.metadata())
    cfg = deployment.config
    as_of = as_of_for_run(context, cfg)
    with warehouse.connect() as con:
        rows, backtest = marts.build_sales_forecast_and_backtest(con, cfg.marts.forecast, as_of)
        scores = [s.as_dict() for s in backtest]
        meta = table_metadata(con, "sales_forecast", rows, backtest=dg.MetadataValue.json(scores))
    context.log.info(f"marts.sales_forecast backtest: {scores}")
    plan.done(warehouse, context.run_id)
    return dg.MaterializeResult(metadata={**meta, **plan.metadata()})


@dg.asset(key=NEXT_ORDER, deps=[ORDERS, GOLDEN_CUSTOMERS], group_name="marts", kinds={"duckdb"},
          metadata=part_tables(f"marts.{inputs_table('next_order')}"))  # fmt: skip
def next_order(
    context: dg.AssetExecutionContext, deployment: Deployment, warehouse: Warehouse
) -> dg.MaterializeResult:
    """When each customer with a rhythm is expected to order next, and for how much."""
    plan = marts_plan(context, deployment, warehouse, "next_order", incremental=True)
    if plan.skip:
        return dg.MaterializeResult(metadata=plan.metadata())
    cfg = deployment.config
    with warehouse.connect() as con:
        rows = marts.build_next_order(
            con, cfg.marts.next_order, as_of_for_run(context, cfg), changes_only=plan.incremental
        )
        meta = table_metadata(
            con, "next_order", rows, status=counts_of(con, "next_order", "status")
        )
    plan.done(warehouse, context.run_id)
    return dg.MaterializeResult(metadata={**meta, **plan.metadata()})


@dg.asset(key=LEAD_FUNNEL, group_name="marts", kinds={"duckdb"},
          deps=[STAGED_CUSTOMERS, CUSTOMER_XREF, CUSTOMER_LIFECYCLE, ORDERS])  # fmt: skip
def lead_funnel(
    context: dg.AssetExecutionContext, deployment: Deployment, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Prospects per acquisition channel, source and month of first contact: how many became
    customers, after how many days, and what they spent in their first year."""
    plan = marts_plan(context, deployment, warehouse, "lead_funnel")
    if plan.skip:
        return dg.MaterializeResult(metadata=plan.metadata())
    with warehouse.connect() as con:
        rows = marts.build_lead_funnel(con, as_of_for_run(context, deployment.config))
        meta = table_metadata(con, "lead_funnel", rows)
    plan.done(warehouse, context.run_id)
    return dg.MaterializeResult(metadata={**meta, **plan.metadata()})


@dg.multi_asset(
    specs=[
        dg.AssetSpec(CUSTOMER_SATISFACTION, deps=[INTERACTIONS, CUSTOMER_VALUE, GOLDEN_CUSTOMERS],
                     group_name="marts", kinds={"duckdb"},
                     metadata=part_tables(f"marts.{inputs_table('customer_satisfaction')}"),
                     description="Per customer the latest survey score, its trend, open and closed "
                     "complaints and the days to close them."),
        dg.AssetSpec(SATISFACTION_BY_TIER_REGION, deps=[INTERACTIONS, CUSTOMER_VALUE, GOLDEN_CUSTOMERS],
                     group_name="marts", kinds={"duckdb"},
                     description="Satisfaction and complaints averaged per value tier and province."),
    ]
)  # fmt: skip
def customer_satisfaction(
    context: dg.AssetExecutionContext, deployment: Deployment, warehouse: Warehouse
) -> Iterator[dg.MaterializeResult]:
    plan = marts_plan(context, deployment, warehouse, "customer_satisfaction", incremental=True)
    if plan.skip:
        yield dg.MaterializeResult(asset_key=CUSTOMER_SATISFACTION, metadata=plan.metadata())
        yield dg.MaterializeResult(asset_key=SATISFACTION_BY_TIER_REGION, metadata=plan.metadata())
        return
    cfg = deployment.config
    with warehouse.connect() as con:
        counts = marts.build_customer_satisfaction(
            con, cfg.marts, as_of_for_run(context, cfg), changes_only=plan.incremental
        )
        meta = table_metadata(con, "customer_satisfaction", counts["customers"],
                              trend=counts_of(con, "customer_satisfaction", "trend"))  # fmt: skip
    plan.done(warehouse, context.run_id)
    yield dg.MaterializeResult(
        asset_key=CUSTOMER_SATISFACTION, metadata={**meta, **plan.metadata()}
    )
    yield dg.MaterializeResult(
        asset_key=SATISFACTION_BY_TIER_REGION, metadata={"dagster/row_count": counts["groups"]}
    )


SALES_ASSETS = [sales_forecast, next_order, lead_funnel, customer_satisfaction]

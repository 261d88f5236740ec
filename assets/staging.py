"""Staging layer: every customer source in the canonical schema, plus the quarantine."""

from datetime import date

import dagster as dg

from assets.checks import stored_results
from assets.metadata import table_metadata
from assets.raw import raw_asset_key
from assets.resources import Deployment, Warehouse
from quality.reconciliation import (
    QUARANTINED_SHARE,
    RECONCILIATION_CHECK,
    check_quarantined_share,
    check_reconciliation,
    reconcile_sources,
)
from quality.results import CheckOutcome
from quality.staging_checks import RECORD_KEY_UNIQUE_CHECK, check_record_key_unique
from sources.build_staging import build_staging
from sources.config import PipelineConfig
from warehouse.store import replace_table

STAGED_CUSTOMERS = dg.AssetKey(["staging", "customers"])
QUARANTINE = dg.AssetKey(["staging", "quarantine"])


def build_staging_assets(config: PipelineConfig) -> list:
    """The staging multi-asset and the blocking checks that guard it."""
    raw_keys = [raw_asset_key(s.name) for s in config.sources]
    source_names = [s.name for s in config.sources]

    @dg.multi_asset(
        specs=[
            dg.AssetSpec(
                STAGED_CUSTOMERS,
                deps=raw_keys,
                group_name="staging",
                kinds={"duckdb"},
                description="One row per customer record of every source (and per contact person named on a "
                "company record) in the canonical schema: names, phones, e-mail, IDs, addresses, dates standardised; "
                "problems kept as quality_flags.",
            ),
            dg.AssetSpec(
                QUARANTINE,
                deps=raw_keys,
                group_name="staging",
                kinds={"duckdb"},
                description="Every source row that could not be staged, with the reason and the row as sent.",
            ),
        ],
    )
    def staging_tables(
        context: dg.AssetExecutionContext, deployment: Deployment, warehouse: Warehouse
    ):
        cfg = deployment.config
        with warehouse.connect() as con:
            raw = {
                name: con.sql(f"SELECT * FROM raw.{name}").to_arrow_table() for name in source_names
            }
            rejected = {
                name: con.sql(f"SELECT * FROM raw.{name}__rejected").to_arrow_table()
                for name in source_names
            }
            result = build_staging(raw, rejected, cfg, today=date.today())
            replace_table(con, "staging", "customers", result.customers)
            replace_table(con, "staging", "quarantine", result.quarantine)
        context.log.info(f"staging: {result.counts()}")
        yield dg.MaterializeResult(
            asset_key=STAGED_CUSTOMERS, metadata=table_metadata(result.customers, **result.counts())
        )
        yield dg.MaterializeResult(asset_key=QUARANTINE, metadata=table_metadata(result.quarantine))

    @dg.asset_check(
        asset=STAGED_CUSTOMERS,
        name=RECONCILIATION_CHECK,
        blocking=True,
        description="Rows received = staged + quarantined, per source.",
    )
    def rows_reconcile(
        context: dg.AssetCheckExecutionContext, deployment: Deployment, warehouse: Warehouse
    ) -> dg.AssetCheckResult:
        with warehouse.connect() as con:
            outcome = check_reconciliation(con, source_names)
        return stored_result(outcome, STAGED_CUSTOMERS, context.run.run_id, deployment)

    @dg.asset_check(
        asset=STAGED_CUSTOMERS,
        name=RECORD_KEY_UNIQUE_CHECK,
        blocking=True,
        description="Each staged record has its own record_key.",
    )
    def record_key_unique(
        context: dg.AssetCheckExecutionContext, deployment: Deployment, warehouse: Warehouse
    ) -> dg.AssetCheckResult:
        with warehouse.connect() as con:
            outcome = check_record_key_unique(con)
        return stored_result(outcome, STAGED_CUSTOMERS, context.run.run_id, deployment)

    @dg.asset_check(
        asset=STAGED_CUSTOMERS,
        name=QUARANTINED_SHARE.name,
        blocking=True,
        description=QUARANTINED_SHARE.description,
    )
    def quarantined_share(
        context: dg.AssetCheckExecutionContext, deployment: Deployment, warehouse: Warehouse
    ) -> dg.AssetCheckResult:
        with warehouse.connect() as con:
            table = reconcile_sources(con, source_names)
        limit = deployment.config.quality.quarantine_limit()
        outcome = check_quarantined_share(table, limit)
        return stored_result(outcome, STAGED_CUSTOMERS, context.run.run_id, deployment)

    return [staging_tables, rows_reconcile, record_key_unique, quarantined_share]


def stored_result(
    outcome: CheckOutcome, asset_key: dg.AssetKey, run_id: str, deployment: Deployment
) -> dg.AssetCheckResult:
    """The check result, its full record kept as JSON for the run (``assets.checks``)."""
    (result,) = stored_results([outcome], asset_key, run_id, deployment.config.output_path)
    return result

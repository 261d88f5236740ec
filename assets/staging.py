"""Staging layer: every customer source in the canonical schema, plus the quarantine, and
the checks that guard it."""

from datetime import date

import dagster as dg
import duckdb

from assets.checks import Guard, check_step
from assets.metadata import part_tables, preview
from assets.raw import raw_asset_key
from assets.resources import Deployment, Warehouse
from assets.step_work import deployment_settings, plan_step
from quality.kept_verdicts import validate_in_warehouse
from quality.reconciliation import (
    QUARANTINED_SHARE,
    RECONCILIATION,
    check_quarantined_share,
    reconcile_sources,
    reconciliation_outcome,
)
from quality.results import CheckOutcome
from quality.staged_suite import STAGED_CHECKS, staged_frame_sql, staged_suite
from quality.staging_checks import RECORD_KEY_UNIQUE, check_record_key_unique
from sources.build_staging import (
    ORDER_TABLE,
    build_staging,
    restage_changed,
    restage_in_warehouse,
    write_staging,
)
from sources.config import PipelineConfig
from sources.raw_files import read_in_file_order
from sources.restage_scope import SNAPSHOT as RESTAGED_FILES

STAGED_CUSTOMERS = dg.AssetKey(["staging", "customers"])
QUARANTINE = dg.AssetKey(["staging", "quarantine"])


def build_staging_assets(config: PipelineConfig) -> list[dg.AssetsDefinition]:
    """The staging multi-asset: ``staging.customers`` and ``staging.quarantine``."""
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
                "problems kept as quality_flags. Part of it: staging.customer_order, each record's place in the "
                "order records are prepared and matched in, and staging.staged_files, what each export's rows were "
                "when they were last staged (a day restages only the files that changed).",
                metadata=part_tables(ORDER_TABLE, RESTAGED_FILES),
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
        plan = plan_step(
            context,
            warehouse,
            "staging.customers",
            settings=[deployment_settings(cfg)],
            tables=[f"raw.{n}{part}" for n in source_names for part in ("", "__rejected")],
            data=[date.today()],  # future-date flags depend on the day
            incremental=True,
        )
        if plan.skip:
            yield dg.MaterializeResult(asset_key=STAGED_CUSTOMERS, metadata=plan.metadata())
            yield dg.MaterializeResult(asset_key=QUARANTINE, metadata=plan.metadata())
            return
        with warehouse.connect() as con:
            # a day's staging reads the raw rows of the changed files (and those sharing a
            # key with them); the unchanged records are kept in the warehouse
            counts = restage_changed(con, cfg, date.today()) if plan.incremental else None
            if counts is None:
                raw = {name: read_in_file_order(con, name) for name in source_names}
                rejected = {
                    name: con.sql(f"SELECT * FROM raw.{name}__rejected").to_arrow_table()
                    for name in source_names
                }
                if plan.incremental:
                    counts = restage_in_warehouse(con, raw, rejected, cfg, today=date.today())
                else:
                    result = build_staging(raw, rejected, cfg, today=date.today())
                    write_staging(con, result, cfg)
                    counts = result.counts()
                del raw, rejected
            heads = {
                key: con.sql(f"FROM {'.'.join(key.path)} LIMIT 5").to_arrow_table()
                for key in (STAGED_CUSTOMERS, QUARANTINE)
            }
        plan.done(warehouse, context.run_id)
        context.log.info(f"staging: {counts}")
        rows = {STAGED_CUSTOMERS: counts["staged_records"], QUARANTINE: counts["quarantined"]}
        for key, head in heads.items():
            extra = counts if key == STAGED_CUSTOMERS else {}
            yield dg.MaterializeResult(
                asset_key=key,
                metadata={
                    "dagster/row_count": rows[key],
                    "preview": preview(head),
                    **extra,
                    **plan.metadata(),
                },
            )

    return [staging_tables]


def _staged_checks(
    con: duckdb.DuckDBPyConnection, _run: str, config: PipelineConfig
) -> list[CheckOutcome]:
    accounts = reconcile_sources(con, [s.name for s in config.sources])
    return [
        reconciliation_outcome(accounts),
        check_record_key_unique(con),
        check_quarantined_share(accounts, config.quality.quarantine_limit()),
        *validate_in_warehouse(con, staged_suite(config, date.today()), staged_frame_sql(config)),
    ]


STAGING_CHECKS = check_step(
    "staging_quality",
    [
        Guard(
            STAGED_CUSTOMERS,
            (RECONCILIATION, RECORD_KEY_UNIQUE, QUARANTINED_SHARE, *STAGED_CHECKS),
            _staged_checks,
        )
    ],
    "Rows received = staged + quarantined, one record_key per record, at most "
    "quality.max_quarantined_share of a source quarantined (blocking); valid "
    "phone / mobile / e-mail / USCC shares (warn); official provinces, known entity types, no "
    "future dates (blocking).",
)

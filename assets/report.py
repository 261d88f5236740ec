"""The sync report: one offline HTML page per sync, linked from the run in the Dagster UI."""

from datetime import UTC, datetime

import dagster as dg

from assets.publish import PUBLISHED
from assets.resources import Deployment, Warehouse
from assets.step_work import run_table_fingerprint
from matching.linkage import read_decisions
from warehouse.report import write_sync_report
from warehouse.step_inputs import kept_table_fingerprints, table_fingerprint

SYNC_REPORT = dg.AssetKey(["reports", "sync"])


@dg.asset(
    key=SYNC_REPORT,
    deps=[PUBLISHED],
    group_name="publish",
    kinds={"html"},
    # the lowest priority: the run's remaining check steps go first, so the page shows them all
    op_tags={"dagster/priority": -10},
)
def sync_report(
    context: dg.AssetExecutionContext, deployment: Deployment, warehouse: Warehouse
) -> dg.MaterializeResult:
    """What this sync did, on one page that opens offline: rows in per source and file beside
    the last 14 syncs, every quality check, matching, the customers created, merged, split and
    retired with their evidence, golden values that changed, value and lifecycle. Written to
    <output_dir>/reports/sync/<run_id>.html and latest.html; the headline figures are this
    asset's metadata, so they plot over time."""
    cfg = deployment.config
    with warehouse.connect() as con:
        # the golden values' fingerprint, taken once per sync (the serving index reads it too)
        golden = run_table_fingerprint(con, warehouse, "master.attribute_lineage", context.run_id)
        # the fingerprints this sync kept (its steps' inputs, or carried over by a step that
        # skipped); a table none was kept for (a file's row counts, the quarantine) is small
        # and hashed here, not kept: the report is the sync's last reader
        kept = kept_table_fingerprints(con, context.run_id)

        def fingerprint_now(table: str) -> str:
            return kept[table] if table in kept else table_fingerprint(con, *table.split("."))

        report = write_sync_report(
            con,
            cfg,
            context.run_id,
            datetime.now(UTC),
            read_decisions(cfg.decisions_path),
            golden,
            # a section whose tables this sync left as they were is not read again
            table_fingerprint=fingerprint_now,
        )
    context.log.info(f"sync report: {report.path}")
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.url(report.path.as_uri()),
            "path": dg.MetadataValue.path(str(report.path)),
            "latest": dg.MetadataValue.path(str(report.latest)),
            **{name: dg.MetadataValue.int(int(value)) for name, value in report.headline.items()},
        }
    )

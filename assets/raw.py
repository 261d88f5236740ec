"""Raw layer: each feed's files as sent, one table per feed, with lineage."""

from datetime import UTC, datetime

import dagster as dg

from assets.metadata import table_metadata
from assets.resources import Deployment, Warehouse
from sources.config import FileSpec, PipelineConfig
from sources.ingest import ingest_feed
from warehouse.store import replace_table


def raw_asset_key(feed_name: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", feed_name])


def build_raw_asset(feed: FileSpec, description: str) -> dg.AssetsDefinition:
    """An asset that reads every file of one feed into ``raw.<feed>`` (+ ``raw.<feed>__rejected``)."""

    @dg.asset(
        key=raw_asset_key(feed.name),
        group_name="raw",
        kinds={"duckdb"},
        description=description,
    )
    def _raw(
        context: dg.AssetExecutionContext, deployment: Deployment, warehouse: Warehouse
    ) -> dg.MaterializeResult:
        batch = ingest_feed(
            feed, deployment.config, ingested_at=datetime.now(UTC).replace(tzinfo=None)
        )
        with warehouse.connect() as con:
            replace_table(con, "raw", feed.name, batch.table)
            replace_table(con, "raw", f"{feed.name}__rejected", batch.rejected_table())
        context.log.info(
            f"raw/{feed.name}: {batch.table.num_rows} rows from {len(batch.files)} file(s), {len(batch.rejected)} rejected"
        )
        return dg.MaterializeResult(
            metadata=table_metadata(
                batch.table,
                rows_received=batch.rows_received,
                rows_rejected=len(batch.rejected),
                files=dg.MetadataValue.json([vars(f) for f in batch.files]),
            )
        )

    return _raw


def build_raw_assets(config: PipelineConfig) -> list[dg.AssetsDefinition]:
    """One raw asset per customer source, order feed, interaction feed and receivables feed."""
    assets = [
        build_raw_asset(
            s,
            f"Customer export '{s.name}' ({s.kind}) exactly as sent, one row per file row, with lineage.",
        )
        for s in config.sources
    ]
    assets += [
        build_raw_asset(o, f"Orders of '{o.customer_source}' customers as sent, with lineage.")
        for o in config.orders
    ]
    assets += [
        build_raw_asset(
            i, f"Calls, visits, complaints and surveys of '{i.customer_source}' customers as sent."
        )
        for i in config.interactions
    ]
    assets += [
        build_raw_asset(
            r, f"Open invoices of '{r.customer_source}' customers (accounts receivable) as sent."
        )
        for r in config.receivables
    ]
    return assets

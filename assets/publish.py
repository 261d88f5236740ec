"""Publishing: the tables downstream tools read, as Parquet files with a manifest."""

from collections.abc import Sequence
from datetime import UTC, datetime

import dagster as dg

from assets.resources import Deployment, Warehouse
from sources.config import ConfigError, PipelineConfig
from warehouse.publish import publish_tables

PUBLISHED = dg.AssetKey(["exports", "published"])


def table_asset_key(table: str) -> dg.AssetKey:
    """The asset that builds warehouse table ``schema.table``."""
    return dg.AssetKey(table.split("."))


def build_publish_asset(
    config: PipelineConfig, upstream: Sequence[dg.AssetsDefinition]
) -> dg.AssetsDefinition:
    """The export asset; it runs last, after every asset of ``upstream``, so a sync that fails
    anywhere publishes nothing and the previous export stays as it was.

    Raises:
        ConfigError: a table in ``publish.tables`` is built by none of ``upstream``.
    """
    built = {key for asset in upstream for key in asset.keys}
    deps: list[dg.AssetKey] = sorted(built, key=lambda key: key.to_user_string())
    unknown = [t for t in config.publish.tables if table_asset_key(t) not in built]
    if unknown:
        raise ConfigError(
            f"{config.base_dir}: publish.tables: no asset builds {', '.join(unknown)}"
        )

    @dg.asset(
        key=PUBLISHED,
        deps=deps,
        group_name="publish",
        kinds={"parquet"},
    )
    def published(
        context: dg.AssetExecutionContext, deployment: Deployment, warehouse: Warehouse
    ) -> dg.MaterializeResult:
        """The published tables as ``<output_dir>/exports/<table>.parquet`` with
        ``_manifest.json`` (columns and types, row counts, checksums, run id, time). Written only
        when the whole sync succeeded; files are replaced whole, the manifest last."""
        cfg = deployment.config
        with warehouse.connect() as con:
            publication = publish_tables(
                con, cfg.publish.tables, cfg.exports_path, context.run_id, datetime.now(UTC)
            )
        rows = {t.name: t.rows for t in publication.tables}
        context.log.info(f"published to {cfg.exports_path}: {rows}")
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(cfg.exports_path)),
                "manifest": dg.MetadataValue.path(str(publication.manifest_path)),
                "rows": dg.MetadataValue.json(rows),
                "tables": dg.MetadataValue.md(
                    "| table | file | rows | columns |\n|---|---|---:|---:|\n"
                    + "\n".join(
                        f"| {t.table} | {t.file} | {t.rows} | {len(t.columns)} |"
                        for t in publication.tables
                    )
                ),
            }
        )

    return published

"""Publishing: the tables downstream tools read, as Parquet files with a manifest, and the
serving index the HTTP service loads."""

from collections.abc import Sequence
from datetime import UTC, datetime

import dagster as dg

from assets.marts import CUSTOMER_LIFECYCLE, CUSTOMER_VALUE, FOLLOWUP_TODAY
from assets.master import (
    ATTRIBUTE_LINEAGE,
    CUSTOMER_ROLES,
    CUSTOMER_XREF,
    GOLDEN_CUSTOMERS,
    RELATIONSHIPS,
)
from assets.matching import MODELS, PREPARED, REVIEW_QUEUE
from assets.resources import Deployment, Warehouse
from assets.staging import STAGED_CUSTOMERS
from assets.step_work import deployment_settings, models_settings, plan_step
from matching.linkage import junk_rules
from matching.linkage.prepared_store import restart_rewritten_log
from sources.config import ConfigError, PipelineConfig
from warehouse.access import ROLE_SCOPE_TABLES, publish_role_sets
from warehouse.publish import WRITER, publish_tables
from warehouse.serving import SERVING_INPUTS, publishing, read_pointer, restart_touched_log
from warehouse.serving_write import write_serving_files

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
        ``_manifest.json`` (columns and types, row counts, checksums, run id, time), and with
        ``access:`` each role's set in ``exports/roles/<name>/``, cut to its customers and
        masked as it says. Written only when the whole sync succeeded; files are replaced
        whole, the manifest last. A table unchanged since its file was published keeps
        that file (the same rows give the same bytes); the manifest is written every sync."""
        cfg = deployment.config
        now = datetime.now(UTC)
        # one plan per table: a day that changes some tables exports only those again; all
        # on one connection (three openings of the warehouse per table cost seconds)
        with warehouse.connect() as con:
            plans = {
                table: plan_step(
                    context,
                    warehouse,
                    f"exports.published/{table}",
                    con=con,
                    settings=[deployment_settings(cfg), WRITER],
                    tables=[table],
                )
                for table in cfg.publish.tables
            }
            unchanged = {table for table, plan in plans.items() if plan.skip}
            publication = publish_tables(
                con, cfg.publish.tables, cfg.exports_path, context.run_id, now, unchanged
            )
            # a role's file of a table is kept while the table, the role's scope tables and
            # its config are unchanged: a role's set is written at every sync with the main
            # export, so a table the main export keeps is unchanged since the role's file of
            # it was written too (a day that changed the orders cuts the order marts again)
            role_configs = cfg.access.roles if cfg.access else []
            role_plans = {
                role.name: plan_step(
                    context,
                    warehouse,
                    f"exports.published/roles/{role.name}",
                    con=con,
                    settings=[deployment_settings(cfg), role.model_dump(mode="json"), WRITER],
                    tables=ROLE_SCOPE_TABLES,
                )
                for role in role_configs
            }
            roles = publish_role_sets(
                con,
                role_configs,
                cfg.publish.tables,
                cfg.role_exports_path,
                context.run_id,
                now,
                unchanged={name: unchanged for name, plan in role_plans.items() if plan.skip},
            )
            for plan in [*plans.values(), *role_plans.values()]:
                if not plan.skip:
                    plan.done(warehouse, context.run_id, con)
        rows = {t.name: t.rows for t in publication.tables}
        context.log.info(
            f"published to {cfg.exports_path}: {rows}; unchanged, kept: {sorted(unchanged)}"
        )
        role_rows = {name: {t.name: t.rows for t in p.tables} for name, p in roles.items()}
        return dg.MaterializeResult(
            metadata={
                "role_rows": dg.MetadataValue.json(role_rows),
                "unchanged_tables": dg.MetadataValue.json(sorted(unchanged)),
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


SERVING_INDEX = dg.AssetKey(["exports", "serving_index"])


#: The assets whose tables a serving index is made from (``SERVING_INPUTS``; the customer
#: IDs are part of the xref asset). Declared, so that the index is published after them in
#: any selection of assets: a step that read them before they were rebuilt would serve the
#: last sync's master, and would take this sync's fingerprints of them too early.
SERVING_INPUT_ASSETS = (
    GOLDEN_CUSTOMERS,
    ATTRIBUTE_LINEAGE,
    CUSTOMER_XREF,
    RELATIONSHIPS,
    CUSTOMER_ROLES,
    STAGED_CUSTOMERS,
    PREPARED,
    MODELS,
    REVIEW_QUEUE,
    CUSTOMER_VALUE,
    CUSTOMER_LIFECYCLE,
    FOLLOWUP_TODAY,
)


@dg.asset(
    key=SERVING_INDEX,
    deps=[PUBLISHED, *SERVING_INPUT_ASSETS],
    group_name="publish",
    kinds={"parquet"},
)
def serving_index(
    context: dg.AssetExecutionContext, deployment: Deployment, warehouse: Warehouse
) -> dg.MaterializeResult:
    """What ``custmaster serve`` loads, as ``<output_dir>/serving/<sync>/`` and
    ``CURRENT.json``: the customer tables and the duplicate check's prepared records,
    blocking indexes, term frequencies and models, so the service starts in seconds and swaps
    to each new sync whole. Published after the exports, from the same warehouse state; a sync
    that changed none of the tables it reads (``SERVING_INPUTS``) leaves the current one; one
    that changed some updates the current one's tables; any sync takes each unchanged model's
    scoring statement from the current one."""
    cfg = deployment.config
    plan = plan_step(
        context,
        warehouse,
        "exports.serving_index",
        settings=[deployment_settings(cfg), models_settings(warehouse)],
        tables=SERVING_INPUTS,
        incremental=True,
    )
    current = read_pointer(cfg.serving_path)
    if plan.skip and current is not None and current.folder.is_dir():
        context.log.info(f"serving index: {current.folder.name} stays current")
        return dg.MaterializeResult(
            metadata={"path": dg.MetadataValue.path(str(current.folder)), **plan.metadata()}
        )
    # an incremental sync starts from the current index: its tables are updated with the rows
    # of the customers that changed, and what does not depend on the records is taken whole
    previous = current.folder if plan.incremental and current is not None else None
    with warehouse.connect() as con:
        with publishing(
            cfg.serving_path, context.run_id, datetime.now(UTC), keep=cfg.serve.keep
        ) as (folder, contents):
            files = write_serving_files(
                con,
                folder,
                junk_rules(cfg.matching),
                previous,
                current.folder if current is not None and current.folder.is_dir() else None,
                rewritten="use",
            )
            contents["tables"], contents["check_records"] = files.tables, files.check_records
        # published: the next sync's index starts from this one, and needs only the prepared
        # rows rewritten from now on (a failure before this line keeps the log growing)
        restart_rewritten_log(con)
        # published: the golden step's log now counts from this index
        restart_touched_log(con)
    plan.done(warehouse, context.run_id)
    context.log.info(f"serving index: {contents}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(cfg.serving_path)),
            "rows": dg.MetadataValue.json(contents["tables"]),
            "check_records": dg.MetadataValue.json(contents["check_records"]),
            **plan.metadata(),
        }
    )

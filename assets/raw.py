"""Raw layer: each feed's files as sent, one table per feed, with lineage, and the raw
suite that guards every feed."""

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb

from assets.checks import Guard, check_step
from assets.metadata import part_tables, table_metadata
from assets.resources import Deployment, Warehouse
from assets.step_work import StepPlan, plan_step
from quality.history import TABLE as FEED_ROW_COUNTS
from quality.history import previous_row_count, record_row_count
from quality.raw_suite import ROWS_VS_PREVIOUS_RUN_CHECK, check_raw_table, raw_checks
from sources.config import FileSpec, PipelineConfig
from sources.raw_files import (
    files_table,
    files_table_name,
    hash_grown_book,
    read_feed,
    write_raw,
)
from sources.readers import SourceReadError, expand_paths
from warehouse.store import replace_table


def raw_asset_key(feed_name: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", feed_name])


def build_raw_asset(feed: FileSpec, description: str) -> dg.AssetsDefinition:
    """An asset that reads every file of one feed into ``raw.<feed>``. Part of it (named in
    its metadata): ``raw.<feed>__rejected``, the rows its reader could not split into fields,
    ``raw.<feed>__files``, what each file was when read (on a delta only the files whose
    bytes changed are read again: ``sources.raw_files``), and the feed's rows of ``quality.feed_row_counts``, its row count per run, which its
    ``rows_vs_previous_run`` check keeps."""

    @dg.asset(
        key=raw_asset_key(feed.name),
        group_name="raw",
        kinds={"duckdb"},
        description=description,
        metadata=part_tables(
            f"raw.{feed.name}__rejected", f"raw.{files_table_name(feed.name)}", FEED_ROW_COUNTS
        ),
    )
    def _raw(
        context: dg.AssetExecutionContext, deployment: Deployment, warehouse: Warehouse
    ) -> dg.MaterializeResult:
        # one connection for the plan, the read, the writes and the record: opening the
        # warehouse reads its catalog (about 28 ms of CPU at 100k records), and a step that
        # opened it for each took four
        with warehouse.connect() as con:
            plan = _plan(context, warehouse, con, feed, deployment.config)
            if plan is not None and plan.skip:
                return dg.MaterializeResult(metadata=plan.metadata())
            now = datetime.now(UTC).replace(tzinfo=None)
            # on a delta only the files whose bytes changed are read
            reuse = plan is not None and plan.incremental
            batch = read_feed(con, feed, deployment.config, now, reuse=reuse)
            # a growing book: its new rows; a changed file among unchanged ones: its rows
            write_raw(con, feed.name, batch.table, batch.held, batch.kept, batch.kept_rows)
            replace_table(con, "raw", f"{feed.name}__rejected", batch.rejected_table())
            replace_table(con, "raw", files_table_name(feed.name), files_table(batch))
            if plan is not None:
                plan.done(warehouse, context.run_id, con)
        context.log.info(
            f"raw/{feed.name}: {batch.rows} rows from {len(batch.files)} file(s), {len(batch.rejected)} rejected"
        )
        return dg.MaterializeResult(
            metadata=table_metadata(
                batch.table,
                **{"dagster/row_count": batch.rows},
                rows_received=batch.rows_received,
                rows_rejected=len(batch.rejected),
                files=dg.MetadataValue.json([vars(f) for f in batch.files]),
                **(plan.metadata() if plan is not None else {}),
            )
        )

    return _raw


def _plan(
    context: dg.AssetExecutionContext,
    warehouse: Warehouse,
    con: duckdb.DuckDBPyConnection,
    feed: FileSpec,
    config: PipelineConfig,
) -> StepPlan | None:
    """Read the feed again only when its files (by content) or its config changed; None when
    its pattern matches no file (ingestion then says so)."""
    try:
        paths = expand_paths(config.base_dir, feed.path)
    except SourceReadError:
        return None
    hash_grown_book(con, feed, config)  # a book that grew: hashed once, for the plan and the read
    return plan_step(
        context,
        warehouse,
        f"raw.{feed.name}",
        incremental=True,
        con=con,
        settings=[feed.model_dump(mode="json")],
        files=paths,
        # which files, named as the config names them: a deployment moved to another folder
        # (or restored from a backup) has read these files already
        data=[_as_configured(p, config.base_dir) for p in paths],
    )


def _as_configured(path: Path, base_dir: Path) -> str:
    """``path`` relative to the config's folder where it lies inside it, else as it is."""
    try:
        return path.resolve().relative_to(base_dir.resolve()).as_posix()
    except ValueError:
        return str(path)


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


def _raw_guard(feed: FileSpec) -> Guard:
    def evaluate(con: duckdb.DuckDBPyConnection, run_id: str, config: PipelineConfig):
        previous = previous_row_count(con, feed.name, run_id)
        outcomes, rows = check_raw_table(con, feed, previous, config.quality, run_id)
        accepted = next(o.passed for o in outcomes if o.name == ROWS_VS_PREVIOUS_RUN_CHECK)
        now = datetime.now(UTC).replace(tzinfo=None)
        record_row_count(con, feed.name, run_id, rows, accepted, now)
        return outcomes

    return Guard(raw_asset_key(feed.name), raw_checks(feed), evaluate)


def build_raw_checks(config: PipelineConfig) -> list[dg.AssetChecksDefinition]:
    """The raw suite on every feed, in one step (``raw_quality``)."""
    feeds = [*config.sources, *config.activity_feeds()]
    return [
        check_step(
            "raw_quality",
            [_raw_guard(feed) for feed in feeds],
            "Raw suite on every feed: required columns present, key unique, no sudden loss of rows.",
        )
    ]

"""Small helpers that turn tables into Dagster metadata (row counts, previews)."""

from __future__ import annotations

from typing import Any

import dagster as dg
import pyarrow as pa

from quality import kept_verdicts, master_suite, memo, partitioned_frames
from warehouse import step_inputs


def preview(table: pa.Table, rows: int = 5) -> dg.MarkdownMetadataValue:
    """The first rows of a table as Markdown for the asset page."""
    frame = table.slice(0, rows).to_pandas()
    return dg.MetadataValue.md(frame.to_markdown(index=False) if len(frame) else "(empty)")


def table_metadata(table: pa.Table, **extra: Any) -> dict[str, Any]:
    return {"dagster/row_count": table.num_rows, "preview": preview(table), **extra}


#: Definition metadata of an asset naming the warehouse tables written as part of it, beside
#: the table of its own key (``raw/dealers`` is ``raw.dealers``): every table the pipeline
#: writes is an asset's own table or one of these (``tests/assets/test_warehouse_tables_are_assets.py``).
PART_TABLES = "custmaster/part_tables"


def part_tables(*tables: str) -> dict[str, list[str]]:
    """``metadata=`` of an asset that also writes ``tables`` (``schema.table``)."""
    return {PART_TABLES: list(tables)}


#: Tables the sync keeps about itself, not about customers, written by every step: what each
#: step last built from (``warehouse.step_inputs``, through ``assets.step_work``), the
#: checks' last outcomes (``quality.memo``, through ``assets.checks``), the verdicts GX
#: gave on the values of the suites validated in the warehouse (``quality.kept_verdicts``),
#: the exports' fingerprints kept while a file stays as it was and the tables' fingerprints
#: kept while their writer skips (``step_inputs``), the counts of the suites validated by
#: partition (``quality.partitioned_frames``: the lineage check's).
SYNC_TABLES = (
    step_inputs.TABLE,
    step_inputs.FILES_TABLE,
    step_inputs.TABLES_TABLE,
    memo.TABLE,
    kept_verdicts.TABLE,
    partitioned_frames.STATES,
    *partitioned_frames.kept_tables(master_suite.LINEAGE_PARTITIONS),
)

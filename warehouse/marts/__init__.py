"""The marts (schema ``marts``): what sales and service work from, built in DuckDB SQL.

Each builder creates or replaces its tables from the master layer, the raw activity feeds
and the marts before it, with every business number taken from the ``marts:`` section of
the config (:class:`sources.config.MartsConfig`). In dependency order:

=================================  ==========================================================
``build_activity``                 ``orders``, ``interactions``, ``receivables`` (+ ``_quarantine``)
``build_customer_value``           ``customer_value``
``build_lifecycle``                ``customer_lifecycle``, appends to ``lifecycle_history``
``build_followup_today``           ``followup_today``
``build_sales_by_region_product_month``, ``build_customer_growth``   sales over time
``build_customer_360``             ``customer_360``
=================================  ==========================================================

Example:
    >>> with connect(config.warehouse_path) as con:  # doctest: +SKIP
    ...     build_marts(con, config, as_of=date(2026, 9, 30), run_id="manual")
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb

from sources.config import MartsConfig, PipelineConfig
from warehouse.marts.activity import INTERACTIONS, KINDS, ORDERS, RECEIVABLES, build_activity
from warehouse.marts.customer_360 import build_customer_360
from warehouse.marts.followup import REASONS, build_followup_today
from warehouse.marts.lifecycle import HISTORY_STAGES, STAGES, build_lifecycle
from warehouse.marts.sales import build_customer_growth, build_sales_by_region_product_month
from warehouse.marts.value import CREDIT_TIERS, NEVER_ORDERED, build_customer_value

__all__ = [
    "INTERACTIONS",
    "KINDS",
    "ORDERS",
    "REASONS",
    "RECEIVABLES",
    "build_activity",
    "build_customer_360",
    "build_customer_growth",
    "build_customer_value",
    "build_followup_today",
    "build_lifecycle",
    "build_marts",
    "build_sales_by_region_product_month",
    "marts_as_of",
    "value_sets",
]


def marts_as_of(config: PipelineConfig, run_date: date) -> date:
    """The day the marts describe: ``marts.as_of`` from the config, else the run's date."""
    return config.marts.as_of or run_date


def value_sets(marts: MartsConfig) -> dict[str, dict[str, tuple[str, ...]]]:
    """Mart → segment column → every value it can hold under ``marts`` (empty values aside),
    for quality checks: a value outside its set means the mart's SQL is wrong."""
    return {
        "marts.customer_value": {
            "abc_class": ("A", "B", "C"),
            "rfm_segment": (
                *(s.name for s in marts.rfm.segments),
                marts.rfm.unmatched,
                NEVER_ORDERED,
            ),
            "value_tier": (*(t.name for t in marts.value_tiers), marts.no_value_tier),
            "credit_tier": CREDIT_TIERS,
        },
        "marts.customer_lifecycle": {"stage": STAGES},
        "marts.lifecycle_history": {"stage": HISTORY_STAGES},
        "marts.followup_today": {"reason": REASONS},
    }


def build_marts(
    con: duckdb.DuckDBPyConnection,
    config: PipelineConfig,
    as_of: date,
    run_id: str,
    recorded_at: datetime | None = None,
) -> dict[str, int]:
    """Every mart in dependency order (what the Dagster assets do one by one); row counts."""
    counts: dict[str, int] = {}
    for kind in KINDS:
        reconciled = build_activity(con, kind, kind.feeds(config))
        counts[kind.table] = int(reconciled["kept"].sum())
        counts[f"{kind.table}_quarantine"] = int(reconciled["quarantined"].sum())
    marts = config.marts
    counts["customer_value"] = build_customer_value(con, marts, as_of)
    recorded_at = recorded_at or datetime.now(UTC).replace(tzinfo=None)
    lifecycle = build_lifecycle(con, marts, as_of, run_id, recorded_at)
    counts["customer_lifecycle"] = lifecycle["customers"]
    counts["lifecycle_history_added"] = lifecycle["stage_changes"]
    counts["followup_today"] = build_followup_today(con, marts, as_of)
    counts["sales_by_region_product_month"] = build_sales_by_region_product_month(con)
    counts["customer_growth"] = build_customer_growth(con, marts, as_of)
    counts["customer_360"] = build_customer_360(con, marts)
    return counts

"""The marts (schema ``marts``): what sales and service work from, built in DuckDB SQL.

Each builder creates or replaces its tables from the master layer, the staged activity
(``staging.orders``, ``staging.interactions``, ``staging.receivables``) and the marts before
it, with every business number taken from the ``marts:`` section of the config
(:class:`sources.config.MartsConfig`). In dependency order (the Dagster assets of
``assets.marts`` run them one by one; :data:`MART_TABLES` lists the tables):

=================================  ==========================================================
``build_activity``                 ``orders``, ``interactions``, ``receivables`` (+ ``_quarantine``;
                                   ``update_activity`` rewrites only their changed rows)
``build_customer_value``           ``customer_value``
``build_lifecycle``                ``customer_lifecycle``, appends to ``lifecycle_history``
``build_next_order``               ``next_order``
``build_customer_satisfaction``    ``customer_satisfaction``, ``satisfaction_by_tier_region``
``build_followup_today``           ``followup_today`` (and ``followup_due``, its reasons
                                   read from orders, kept per customer)
``build_sales_by_region_product_month``, ``build_customer_growth``   sales over time
``build_sales_forecast``           ``sales_forecast`` (``backtest`` measures it; a sync
                                   does both in ``build_sales_forecast_and_backtest``)
``build_lead_funnel``              ``lead_funnel``
``build_customer_360``             ``customer_360``
=================================  ==========================================================
"""

from __future__ import annotations

from datetime import date

from sources.config import MartsConfig, PipelineConfig
from warehouse.marts.activity import (
    INTERACTIONS,
    KINDS,
    ORDERS,
    RECEIVABLES,
    build_activity,
    update_activity,
)
from warehouse.marts.customer_360 import build_customer_360
from warehouse.marts.followup import REASONS, build_followup_today
from warehouse.marts.forecast import (
    backtest,
    build_sales_forecast,
    build_sales_forecast_and_backtest,
)
from warehouse.marts.lead_funnel import build_lead_funnel
from warehouse.marts.lifecycle import HISTORY_STAGES, STAGES, build_lifecycle
from warehouse.marts.next_order import STATUSES, build_next_order
from warehouse.marts.sales import build_customer_growth, build_sales_by_region_product_month
from warehouse.marts.satisfaction import TRENDS, build_customer_satisfaction
from warehouse.marts.value import CREDIT_TIERS, NEVER_ORDERED, build_customer_value

__all__ = [
    "INTERACTIONS",
    "MART_TABLES",
    "KINDS",
    "ORDERS",
    "REASONS",
    "RECEIVABLES",
    "backtest",
    "build_activity",
    "build_customer_360",
    "build_customer_growth",
    "build_customer_satisfaction",
    "build_customer_value",
    "build_followup_today",
    "build_lead_funnel",
    "build_lifecycle",
    "build_next_order",
    "build_sales_by_region_product_month",
    "build_sales_forecast",
    "build_sales_forecast_and_backtest",
    "marts_as_of",
    "update_activity",
    "value_sets",
]


#: Every mart table, in the order the builders create them: the one list the summary, the
#: assets and the tests read.
MART_TABLES = (
    *(t for kind in KINDS for t in (kind.table, kind.quarantine_table)),
    "customer_value", "customer_lifecycle", "lifecycle_history", "next_order",
    "customer_satisfaction", "satisfaction_by_tier_region", "followup_today",
    "sales_by_region_product_month", "customer_growth", "sales_forecast", "lead_funnel",
    "customer_360",
)  # fmt: skip


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
        "marts.next_order": {"status": STATUSES},
        "marts.customer_satisfaction": {
            "trend": TRENDS,
            "value_tier": (*(t.name for t in marts.value_tiers), marts.no_value_tier),
            "abc_class": ("A", "B", "C"),
        },
    }

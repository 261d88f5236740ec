"""The ``publish:`` section: which warehouse tables other tools read as Parquet."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from sources.config.base import Strict

_PUBLISHABLE = re.compile(r"^(raw|staging|matching|master|marts)\.[a-z_][a-z0-9_]*$")


#: Tables exported to Parquet when the config names none: the golden master and the marts
#: that sales, service and BI tools work from (docs/schema.md documents every column).
DEFAULT_PUBLISHED_TABLES = (
    "master.customers",
    "master.customer_xref",
    "master.relationships",
    "master.customer_roles",
    "marts.customer_value",
    "marts.customer_lifecycle",
    "marts.followup_today",
    "marts.customer_360",
    "marts.sales_by_region_product_month",
    "marts.sales_forecast",
    "marts.next_order",
    "marts.lead_funnel",
    "marts.customer_satisfaction",
    "marts.satisfaction_by_tier_region",
)


class PublishConfig(Strict):
    """The tables other tools read, exported as ``<dir>/<table>.parquet`` with a manifest."""

    dir: str = Field(default="exports", description="export folder, relative to output_dir")
    tables: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PUBLISHED_TABLES),
        min_length=1,
        description="warehouse tables as schema.table; the file is named after the table",
    )

    @field_validator("tables")
    @classmethod
    def _qualified_and_unique(cls, tables: list[str]) -> list[str]:
        bad = [t for t in tables if not _PUBLISHABLE.match(t)]
        if bad:
            raise ValueError(
                f"not a warehouse table (schema.table, schema one of raw, staging, matching, "
                f"master, marts): {', '.join(bad)}"
            )
        names = [t.split(".")[1] for t in tables]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"two tables would export to the same file: {', '.join(repeated)}")
        return tables

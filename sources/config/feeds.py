"""The ``sources:``, ``orders:``, ``interactions:`` and ``receivables:`` sections: which
exports exist, how to read them, and how their columns map onto the canonical records.
Also ``staging:``, the settings of standardising what they contain.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from sources.activity_schema import INTERACTIONS, ORDERS, RECEIVABLES
from sources.config.base import ColumnRef, Strict
from sources.schema import MAPPABLE_FIELDS


class EntityTypeFromColumn(Strict):
    """Entity type read from a column whose values map onto company / person."""

    column: str
    values: dict[str, Literal["company", "person"]]
    default: Literal["company", "person"] | None = None


class FileSpec(Strict):
    """Where an export lives and how to read it (shared by customer, order and interaction feeds)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    path: str
    format: Literal["csv", "xlsx", "parquet"] | None = None
    encoding: str = "auto"
    sheet: str | None = None
    delimiter: str | None = None

    def mapped_columns(self) -> dict[str, list[str]]:
        """Canonical field → the source columns it is built from (in join order)."""
        columns: dict[str, ColumnRef] = self.columns  # type: ignore[attr-defined]  # set by subclasses
        return {
            field: [ref] if isinstance(ref, str) else list(ref) for field, ref in columns.items()
        }

    def required_source_columns(self) -> list[str]:
        """Every source column the mapping reads, in mapping order, without repeats."""
        seen: dict[str, None] = {}
        for refs in self.mapped_columns().values():
            seen.update(dict.fromkeys(refs))
        return list(seen)


class SourceConfig(FileSpec):
    """One department's customer export (one or more files of the same layout)."""

    kind: Literal["dealer", "key_account", "regional", "other"]
    entity_type: Literal["company", "person"] | EntityTypeFromColumn
    columns: dict[str, ColumnRef]
    trust: int = Field(default=0, description="higher wins in source-trust survivorship")
    contact_takes_mobile: bool = Field(
        default=True,
        description="on a company row that names a contact person, the row's mobile is the "
        "contact's too when the contact has none of their own",
    )

    @field_validator("columns")
    @classmethod
    def _known_fields(cls, columns: dict[str, ColumnRef]) -> dict[str, ColumnRef]:
        unknown = sorted(set(columns) - set(MAPPABLE_FIELDS))
        if unknown:
            raise ValueError(
                f"unknown canonical field(s) {', '.join(unknown)}; "
                f"known fields: {', '.join(MAPPABLE_FIELDS)}"
            )
        if "source_record_id" not in columns:
            raise ValueError("'source_record_id' must be mapped: it is the record's key")
        if "name" not in columns:
            raise ValueError("'name' must be mapped")
        return columns

    @model_validator(mode="after")
    def _entity_column_read(self) -> SourceConfig:
        if isinstance(self.entity_type, EntityTypeFromColumn) and "entity_type" in self.columns:
            raise ValueError(
                "map the entity type either in 'entity_type' or in 'columns', not both"
            )
        return self

    def required_source_columns(self) -> list[str]:
        columns = super().required_source_columns()
        if (
            isinstance(self.entity_type, EntityTypeFromColumn)
            and self.entity_type.column not in columns
        ):
            columns.append(self.entity_type.column)
        return columns


#: The fields each activity feed may map, from the canonical activity records.
ORDER_FIELDS = ORDERS.mappable_fields
INTERACTION_FIELDS = INTERACTIONS.mappable_fields
RECEIVABLE_FIELDS = RECEIVABLES.mappable_fields


class ActivityFeed(FileSpec):
    customer_source: str
    columns: dict[str, ColumnRef]
    _fields: tuple[str, ...] = ()
    _required: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _known_fields(self) -> ActivityFeed:
        unknown = sorted(set(self.columns) - set(self._fields))
        if unknown:
            raise ValueError(
                f"unknown field(s) {', '.join(unknown)}; known fields: {', '.join(self._fields)}"
            )
        missing = [f for f in self._required if f not in self.columns]
        if missing:
            raise ValueError(f"field(s) {', '.join(missing)} must be mapped")
        return self


class OrderFeed(ActivityFeed):
    """Orders placed by the customers of one customer source."""

    _fields = ORDER_FIELDS
    _required = ("order_id", "source_record_id", "order_date", "amount")


class ReceivableFeed(ActivityFeed):
    """Open invoices (accounts receivable) of one source's customers: what each still owes and
    by when. A customer with an open amount is a debtor; past its due date it is overdue."""

    _fields = RECEIVABLE_FIELDS
    _required = ("invoice_id", "source_record_id", "due_date", "amount_open")


class InteractionFeed(ActivityFeed):
    """Calls, visits, complaints and satisfaction scores of one source's customers."""

    _fields = INTERACTION_FIELDS
    _required = ("interaction_id", "source_record_id", "interaction_date", "interaction_type")


class StagingConfig(Strict):
    """Standardisation settings."""

    default_region: str = Field(
        default="CN",
        description="region for numbers without +country; not used yet: the phone standardiser "
        "reads every such number as Chinese (CN), whatever is set here",
    )
    future_date_tolerance_days: int = 1

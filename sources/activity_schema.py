"""The canonical activity records: orders, interactions and open invoices, as staged.

Beside the customer record (``sources.schema``), each kind of activity feed is staged into
``staging.<kind>`` (one row per usable feed row) and ``staging.<kind>_quarantine`` (one
row per row that is not). A kind names its key field (one feed row per key), its fields
with their types (text, date, amount, number) and the fields that must parse for the row
to count: an order without a date or an amount is no order.

Staged columns, in order: lineage (``feed``, ``customer_source``, ``source_file``,
``source_row``, ``record_hash``), the customer record it was booked on
(``source_record_id``, ``record_key`` = ``<customer_source>:<source_record_id>``), the
kind's fields as typed values, ``quality_flags`` (optional fields sent but unreadable,
e.g. ``quantity_unparseable``) and ``raw``: the mapped fields as sent, as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from sources.config import ActivityFeed, PipelineConfig

FieldType = Literal["text", "date", "amount", "number"]
#: The DuckDB type of each field type in the staged tables.
SQL_TYPES: dict[str, str] = {
    "text": "VARCHAR",
    "date": "DATE",
    "amount": "DECIMAL(18, 2)",
    "number": "DOUBLE",
}
#: Lineage columns of a staged activity row (and of its quarantine row).
ACTIVITY_LINEAGE = ("feed", "customer_source", "source_file", "source_row", "record_hash")


@dataclass(frozen=True)
class ActivityKind:
    """One kind of activity feed: its table, key field, fields (name, type), what must parse."""

    table: str
    id_field: str
    fields: tuple[tuple[str, FieldType], ...]
    required: tuple[str, ...]
    lowercase: tuple[str, ...] = ()

    def feeds(self, config: PipelineConfig) -> list[ActivityFeed]:
        """The deployment's feeds of this kind (``orders:``, ``interactions:``, ``receivables:``)."""
        return list(getattr(config, self.table))

    @property
    def mappable_fields(self) -> tuple[str, ...]:
        """The fields a feed of this kind may map (``columns:`` in the config): its key, the
        customer record it is booked on, then the other fields."""
        rest = (f for f, _ in self.fields if f != self.id_field)
        return (self.id_field, "source_record_id", *rest)

    @property
    def quarantine_table(self) -> str:
        return f"{self.table}_quarantine"

    def staged_columns(self) -> tuple[str, ...]:
        """Columns of ``staging.<table>``, in order."""
        return (
            *ACTIVITY_LINEAGE,
            "source_record_id",
            "record_key",
            *(f for f, _ in self.fields),
            "quality_flags",
            "raw",
        )


ORDERS = ActivityKind(
    table="orders",
    id_field="order_id",
    fields=(("order_id", "text"), ("order_date", "date"), ("product", "text"),
            ("product_line", "text"), ("quantity", "number"), ("amount", "amount")),
    required=("order_date", "amount"),
)  # fmt: skip
INTERACTIONS = ActivityKind(
    table="interactions",
    id_field="interaction_id",
    fields=(("interaction_id", "text"), ("interaction_date", "date"), ("interaction_type", "text"),
            ("satisfaction_score", "number"), ("status", "text"), ("closed_date", "date"),
            ("note", "text")),
    required=("interaction_date",),
    lowercase=("interaction_type", "status"),
)  # fmt: skip
RECEIVABLES = ActivityKind(
    table="receivables",
    id_field="invoice_id",
    fields=(("invoice_id", "text"), ("invoice_date", "date"), ("due_date", "date"),
            ("amount_open", "amount")),
    required=("due_date", "amount_open"),
)  # fmt: skip
#: Every kind, in the order they are staged.
KINDS = (ORDERS, INTERACTIONS, RECEIVABLES)

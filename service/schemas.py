"""What the API takes and gives, as pydantic models (they are also the OpenAPI document).

Limits on lengths keep one request from costing the others: the longest name in the
demo's million records is 38 characters, a form field of 200 is generous.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

FIELD = 200


class CheckRequest(BaseModel):
    """A record as a CRM form sends it before creating a customer."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "厦门洪来文印店", "phone": "(0592)555-1234"}],
        },
    )

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)] = Field(
        max_length=FIELD, description="company or person name"
    )
    phone: str | None = Field(default=None, max_length=FIELD, description="landline, any format")
    mobile: str | None = Field(default=None, max_length=FIELD, description="mobile, any format")
    email: str | None = Field(default=None, max_length=FIELD)
    address: str | None = Field(default=None, max_length=FIELD, description="address as typed")
    uscc: str | None = Field(
        default=None, max_length=FIELD, description="unified social credit code"
    )
    id_number: str | None = Field(default=None, max_length=FIELD, description="personal ID number")
    entity_type: Literal["company", "person"] | None = Field(
        default=None, description="guessed from the input when not given"
    )
    limit: int = Field(default=5, ge=1, le=50, description="most candidates returned")


class CandidateOut(BaseModel):
    """An existing customer the record may be."""

    customer_id: str
    probability: float = Field(description="match probability, 0–1")
    match_weight: float
    name: str | None
    record_key: str = Field(description="the customer's source record that matched best")
    reasons: list[str] = Field(description="the comparisons that agreed, in the model's words")


class CheckResponse(BaseModel):
    run_id: str = Field(description="the sync whose master answered")
    candidates: list[CandidateOut] = Field(description="best first")


class CustomerResponse(BaseModel):
    """One live customer with everything the master knows of it."""

    customer_id: str = Field(description="the live customer")
    requested_id: str = Field(description="the ID asked for")
    merged: bool = Field(description="true when the ID asked for was merged into customer_id")
    run_id: str
    golden: dict[str, Any] = Field(description="the golden record (columns of customers)")
    lineage: list[dict[str, Any]] = Field(
        description="per golden attribute: value, source record and the rule that chose it"
    )
    records: list[dict[str, Any]] = Field(description="the customer's current source records")
    relationships: list[dict[str, Any]]
    roles: list[dict[str, Any]]
    value: dict[str, Any] | None = Field(description="the row of customer_value")
    lifecycle: dict[str, Any] | None = Field(description="the row of customer_lifecycle")
    followups: list[dict[str, Any]] = Field(description="today's follow-ups (followup_today)")


class SearchHit(BaseModel):
    customer_id: str
    entity_type: str
    name: str | None
    city: str | None
    phone: str | None
    mobile: str | None
    email: str | None
    uscc: str | None


class SearchResponse(BaseModel):
    run_id: str
    customers: list[SearchHit]


class Health(BaseModel):
    status: Literal["ok"]
    run_id: str = Field(description="the sync the service answers from")
    published_at: str
    folder: str
    load_seconds: float
    rows: dict[str, int]

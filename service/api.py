"""The HTTP API: duplicate check, customer page, search, health; docs that work offline;
the customer pages (``service.pages``) and the stewards' review page (``service.review``).

Every endpoint takes the snapshot current when the request starts and answers from it
alone (``SnapshotHolder.use``); every answer names the sync (``run_id``) it came from.

Bad input is a 422 whose ``detail`` names the field (``loc``), as FastAPI reports a
validation error; the duplicate check's own refusals (a name of blanks only, …) are
reported the same way. The Swagger UI (``/docs``) and ReDoc (``/redoc``) pages load their
scripts from the service itself (``fastapi-offline`` ships them), not from a CDN.
"""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated

from fastapi import FastAPI, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi_offline import FastAPIOffline

from service.access import AccessControl, require_tokens
from service.pages import pages_router
from service.reload import SnapshotHolder
from service.review import review_router
from service.schemas import (
    CandidateOut,
    CheckRequest,
    CheckResponse,
    CustomerResponse,
    Health,
    SearchHit,
    SearchResponse,
)
from service.scoped import candidates_of, candidates_within, customers_of

CHECK_FIELDS = ("name", "phone", "mobile", "email", "address", "uscc", "id_number")


def create_app(
    holder: SnapshotHolder,
    decisions_path: FilePath | None = None,
    access: AccessControl | None = None,
) -> FastAPI:
    """The API and pages answering from ``holder``'s current snapshot; with
    ``decisions_path`` (the deployment's steward decisions file) also the review page; with
    ``access`` every request needs a bearer token and sees its role's customers only
    (``service.access``, ``service.scoped``)."""
    app = FastAPIOffline(
        title="Customer Master",
        summary="The golden customer master at the moment of work.",
        description="Duplicate check for CRM forms, customer pages and search over the "
        "last published sync. Every answer names the sync (`run_id`) it comes from.",
        version="1",
    )

    @app.get("/health", response_model=Health, tags=["operations"])
    def health() -> Health:
        """200 with the published sync the service answers from."""
        with holder.use() as snapshot:
            return Health(status="ok", **snapshot.describe())

    @app.post(
        "/v1/check",
        response_model=CheckResponse,
        tags=["duplicate check"],
        responses={422: {"description": "a field is missing, too long or of the wrong kind"}},
    )
    def check(record: CheckRequest, request: Request) -> CheckResponse:
        """The most likely existing customers for a new record, best first: the same engine
        and answers as `custmaster check` (with access: among the role's customers)."""
        fields = {f: getattr(record, f) for f in CHECK_FIELDS}
        with holder.use() as snapshot:
            try:
                # a role's check blocks and scores its own records only
                within = candidates_within(request, snapshot)
                found = snapshot.check(record.entity_type, record.limit, fields, within)
            except ValueError as exc:
                raise RequestValidationError(
                    [{"type": "value_error", "loc": ("body", "name"), "msg": str(exc)}]
                ) from exc
            found = candidates_of(request, snapshot, found)[: record.limit]
            return CheckResponse(
                run_id=snapshot.run_id,
                candidates=[CandidateOut(**c.as_dict()) for c in found],
            )

    @app.get(
        "/v1/customers/{customer_id}",
        response_model=CustomerResponse,
        tags=["customers"],
        responses={404: {"description": "no customer has ever had this ID, or it was retired"}},
    )
    def customer(
        customer_id: Annotated[str, Path(max_length=64, description="a customer ID (CM…)")],
        request: Request,
    ) -> CustomerResponse:
        """The golden record with its source records, attribute lineage, relationships,
        roles, value, lifecycle and today's follow-ups. An ID that was merged answers with
        the live customer (`merged: true`, `customer_id` the survivor)."""
        with holder.use() as snapshot:
            resolved, found = customers_of(request, snapshot).lookup(customer_id)
            if found is None or resolved.customer_id is None:
                reason = "retired: its records left the sources" if resolved.status else "unknown"
                raise HTTPException(404, f"customer {customer_id}: {reason}")
            return CustomerResponse(
                customer_id=resolved.customer_id,
                requested_id=customer_id,
                merged=resolved.status == "merged",
                run_id=snapshot.run_id,
                **found,
            )

    @app.get("/v1/customers", response_model=SearchResponse, tags=["customers"])
    def search(
        q: Annotated[
            str,
            Query(
                min_length=1,
                max_length=200,
                description="part of a name, or a whole phone, e-mail, credit code or ID",
            ),
        ],
        request: Request,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> SearchResponse:
        """Customers by name, phone, e-mail or credit code, typed in any common format."""
        with holder.use() as snapshot:
            hits = customers_of(request, snapshot).search(q, limit)
            return SearchResponse(
                run_id=snapshot.run_id, customers=[SearchHit(**hit) for hit in hits]
            )

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/customers")

    if access is not None:
        require_tokens(app, access)
    app.include_router(pages_router(holder))
    if decisions_path is not None:
        app.include_router(review_router(holder, decisions_path))
    return app

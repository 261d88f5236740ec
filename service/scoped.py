"""The customer answers as one role may see them: its customers only, masked as it says.

``customers_of(request, snapshot)`` is what an endpoint asks instead of
``snapshot.customers``: without ``access:`` that store itself, with it a ``ScopedCustomers``
view with the same methods. The view answers a customer outside the role's scope exactly
as a customer never issued (404 "unknown": existence is not revealed), searches only
among the role's customers, shows a relationship only when the customer on its other side
is in scope too, drops the person to call from a follow-up when that person is outside
it, lists review pairs only when both records' customers are in scope, and masks
personal data (``warehouse.access.mask_row``) when the role says ``pii: masked``.
The rule for "in scope" is the exports' own (``warehouse.access.scope_query``).

Every customer ID an answer carries is noted on the principal for the audit line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Request

from matching.duplicate_check import Candidate
from service.access import Principal, principal_of
from service.customers import CustomerStore, Resolved
from warehouse.access import mask_row
from warehouse.access.scope import CONTACT_COLUMNS

if TYPE_CHECKING:
    from service.snapshot import Snapshot


def customers_of(request: Request, snapshot: Snapshot) -> CustomerStore | ScopedCustomers:
    """The customer store the caller of ``request`` may read."""
    principal = principal_of(request)
    return (
        snapshot.customers if principal is None else ScopedCustomers(snapshot.customers, principal)
    )


def candidates_of(request: Request, snapshot: Snapshot, found: list[Candidate]) -> list[Candidate]:
    """The duplicate check's candidates the caller may see (all without ``access:``)."""
    principal = principal_of(request)
    if principal is None:
        return found
    return ScopedCustomers(snapshot.customers, principal).candidates(found)


class ScopedCustomers:
    """A ``CustomerStore`` as one principal's role sees it."""

    def __init__(self, store: CustomerStore, principal: Principal) -> None:
        self._store = store
        self._principal = principal
        rows = principal.role.rows
        self._table: str | None = None
        self._ids: frozenset[str] | None = None  # None: every customer
        if rows:
            self._table, self._ids = store.scope(principal.role.name, rows)

    def in_scope(self, customer_id: str | None) -> bool:
        return customer_id is not None and (self._ids is None or customer_id in self._ids)

    def _out(self, row: dict[str, Any]) -> dict[str, Any]:
        return mask_row(row) if self._principal.masked else row

    def _given(self, *customer_ids: str | None) -> None:
        self._principal.customer_ids.extend(c for c in customer_ids if c)

    def lookup(self, customer_id: str) -> tuple[Resolved, dict[str, Any] | None]:
        """As ``CustomerStore.lookup``; a customer outside the scope is unknown."""
        resolved = self._store.resolve(customer_id)
        if resolved.customer_id is None or not self.in_scope(resolved.customer_id):
            scoped = self._ids is not None
            return (Resolved(customer_id, None, None) if scoped else resolved), None
        return resolved, self.customer(resolved.customer_id)

    def customer(self, customer_id: str) -> dict[str, Any] | None:
        """As ``CustomerStore.customer``, cut to the scope and masked."""
        if not self.in_scope(customer_id):
            return None
        page = self._store.customer(customer_id)
        if page is None:
            return None
        page["relationships"] = [
            r
            for r in page["relationships"]
            if self.in_scope(r["from_customer_id"]) and self.in_scope(r["to_customer_id"])
        ]
        page["followups"] = [self._followup(f) for f in page["followups"]]
        for part in ("golden", "value", "lifecycle"):
            if page[part] is not None:
                page[part] = self._out(page[part])
        for part in ("lineage", "records", "relationships", "roles", "followups"):
            page[part] = [self._out(row) for row in page[part]]
        self._given(customer_id)
        for r in page["relationships"]:
            self._given(r["from_customer_id"], r["to_customer_id"])
        return page

    def _followup(self, row: dict[str, Any]) -> dict[str, Any]:
        if self.in_scope(row.get("contact_customer_id")):
            return row
        return {**row, **{c: None for c in CONTACT_COLUMNS if c in row}}

    def search(self, query: str, limit: int) -> list[dict[str, Any]]:
        """As ``CustomerStore.search``, among the role's customers only, masked."""
        hits = self._store.search(query, limit, within=self._table)
        self._given(*(hit["customer_id"] for hit in hits))
        return [self._out(hit) for hit in hits]

    def review_queue(self) -> list[dict[str, Any]]:
        """The review pairs whose both records' customers are in scope, masked."""
        pairs = [
            pair
            for pair in self._store.review_queue()
            if self.in_scope(pair["customer_id_l"]) and self.in_scope(pair["customer_id_r"])
        ]
        for pair in pairs:
            self._given(pair["customer_id_l"], pair["customer_id_r"])
        return [self._out(pair) for pair in pairs]

    def candidates(self, found: list[Candidate]) -> list[Candidate]:
        """The duplicate check's candidates in scope (names stay, nothing else is personal)."""
        kept = [c for c in found if self.in_scope(c.customer_id)]
        self._given(*(c.customer_id for c in kept))
        return kept

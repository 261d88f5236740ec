"""The customer answers as one role may see them: its customers only, masked as it says.

``customers_of(request, snapshot)`` is what an endpoint asks instead of
``snapshot.customers``: without ``access:`` that store itself, with it a ``ScopedCustomers``
view with the same methods. The view answers a customer outside the role's scope exactly
as a customer never issued (404 "unknown": existence is not revealed), searches only
among the role's customers, shows a relationship only when the customer on its other side
is in scope too, drops the person to call from a follow-up when that person is outside
it, lists review pairs only when the role sees both records, and masks personal data
(``warehouse.access.mask_row``) when the role says ``pii: masked``. A page names no
record the role does not see: a contact's record drawn from the record of a company
outside the scope is left out, a lineage row keeps its value but not such a record's key,
evidence loses such keys, a record's contact person outside the scope is emptied. The
duplicate check scores only the role's records (``candidates_within``). The rules are the
exports' own (``warehouse.access.scope``).

Every customer ID an answer carries is noted on the principal for the audit line.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from fastapi import Request

from matching.duplicate_check import Candidate
from service.access import Principal, principal_of
from service.customers import CustomerStore, Resolved
from warehouse.access import mask_row
from warehouse.access.scope import CONTACT_COLUMNS, RECORD_CONTACT_COLUMNS, RECORD_KEY_PATTERN

if TYPE_CHECKING:
    from service.snapshot import Snapshot


def customers_of(request: Request, snapshot: Snapshot) -> CustomerStore | ScopedCustomers:
    """The customer store the caller of ``request`` may read."""
    principal = principal_of(request)
    return (
        snapshot.customers if principal is None else ScopedCustomers(snapshot.customers, principal)
    )


def candidates_within(request: Request, snapshot: Snapshot) -> frozenset[str] | None:
    """The record keys the caller's duplicate check answers from (None: every record)."""
    principal = principal_of(request)
    if principal is None:
        return None
    return ScopedCustomers(snapshot.customers, principal).records


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
        self.records: frozenset[str] | None = None  # None: every record
        self._quiet: frozenset[str] = frozenset()
        if rows:
            scope = store.scope(principal.role.name, rows)
            self._table, self._ids = scope.table, scope.ids
            self.records, self._quiet = scope.records, scope.quiet

    def in_scope(self, customer_id: str | None) -> bool:
        return customer_id is not None and (self._ids is None or customer_id in self._ids)

    def sees(self, record_key: str | None) -> bool:
        return record_key is not None and (self.records is None or record_key in self.records)

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
        if self.records is not None:
            page["records"] = [
                self._record(r) for r in page["records"] if self.sees(r["record_key"])
            ]
            page["lineage"] = [
                {**r, "record_key": r["record_key"] if self.sees(r["record_key"]) else None}
                for r in page["lineage"]
            ]
            hidden = self._hidden(page)
            page["relationships"] = [
                {**r, "evidence": [e for e in r["evidence"] or [] if e not in hidden]}
                if r.get("evidence") is not None
                else r
                for r in page["relationships"]
            ]
            page["roles"] = [
                {**r, "evidence": None}
                if set(re.findall(RECORD_KEY_PATTERN, str(r.get("evidence") or ""))) & hidden
                else r
                for r in page["roles"]
            ]
        for part in ("golden", "value", "lifecycle"):
            if page[part] is not None:
                page[part] = self._out(page[part])
        for part in ("lineage", "records", "relationships", "roles", "followups"):
            page[part] = [self._out(row) for row in page[part]]
        self._given(customer_id)
        for r in page["relationships"]:
            self._given(r["from_customer_id"], r["to_customer_id"])
        return page

    def _record(self, row: dict[str, Any]) -> dict[str, Any]:
        if row["record_key"] not in self._quiet:
            return row
        return {**row, **{c: None for c in RECORD_CONTACT_COLUMNS if c in row}}

    def _hidden(self, page: dict[str, Any]) -> set[str]:
        """The record keys the page's evidence names that the role does not see."""
        named = {e for r in page["relationships"] for e in r.get("evidence") or []}
        for r in page["roles"]:
            named |= set(re.findall(RECORD_KEY_PATTERN, str(r.get("evidence") or "")))
        unseen = [key for key in sorted(named) if not self.sees(key)]
        return self._store.record_keys(unseen)

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
        """The review pairs of two records the role sees (so of its customers), masked."""
        pairs = [
            pair
            for pair in self._store.review_queue()
            if self.in_scope(pair["customer_id_l"])
            and self.in_scope(pair["customer_id_r"])
            and self.sees(pair["record_key_l"])
            and self.sees(pair["record_key_r"])
        ]
        for pair in pairs:
            self._given(pair["customer_id_l"], pair["customer_id_r"])
        return [self._out(pair) for pair in pairs]

    def candidates(self, found: list[Candidate]) -> list[Candidate]:
        """The duplicate check's candidates in scope (names stay, nothing else is personal)."""
        kept = [c for c in found if self.in_scope(c.customer_id) and self.sees(c.record_key)]
        self._given(*(c.customer_id for c in kept))
        return kept

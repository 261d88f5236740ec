"""One customer's page and the customer search, over the tables of one serving index.

The tables (``warehouse.serving.SERVING_TABLES``) are the index's DuckDB file, attached
read-only when the index loads (``open_tables``: milliseconds, nothing copied); DuckDB
reads and caches the blocks a request touches. A published folder never changes, and the
open file stays readable even when a later sync prunes it. Each request queries through
its own cursor (DuckDB cursors may run on several threads).

Search standardises the query as the pipeline stages a record (the duplicate check's
``standardise_input``): ``(0592)555-1234`` finds ``+865925551234``, ``廈門`` finds ``厦门``,
an e-mail is lower-cased and a credit code must pass its check digit. A name matches as a
substring of the golden name (or its pinyin); phones, e-mails, credit codes and customer
IDs match whole.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from matching.duplicate_check import standardise_input
from warehouse.access import scope_query
from warehouse.access.scope import visible_records_query
from warehouse.serving import SERVING_TABLES, open_tables

log = logging.getLogger(__name__)

#: Golden-record columns a search result carries.
SEARCH_COLUMNS = ("customer_id", "entity_type", "name", "city", "phone", "mobile", "email", "uscc")


@dataclass(frozen=True)
class RoleScope:
    """What one role sees of a loaded index (``CustomerStore.scope``).

    Attributes:
        table: the name of a table of its customers' IDs (for queries).
        ids: its customers' IDs.
        records: the record keys it sees (``warehouse.access.scope.visible_records_query``).
        quiet: those of ``records`` naming a contact person who is not the role's.
    """

    table: str
    ids: frozenset[str]
    records: frozenset[str]
    quiet: frozenset[str]


@dataclass(frozen=True)
class Resolved:
    """Which live customer an ID asked for stands for."""

    requested: str
    customer_id: str | None  # the live customer; None when unknown or retired
    status: str | None  # active / merged / retired; None when never issued


class CustomerStore:
    """The customer tables of one serving index, in memory."""

    def __init__(self, folder: Path) -> None:
        self._con = open_tables(folder)
        self.rows: dict[str, int] = {}
        for name in SERVING_TABLES:
            self.rows[name] = int(self._con.sql(f"SELECT count(*) FROM {name}").fetchall()[0][0])
        self._scopes: dict[str, RoleScope] = {}
        self._scoping = threading.Lock()

    def scope(self, role: str, rows: dict[str, list[str]]) -> RoleScope:
        """What ``role`` (with row scope ``rows``) sees: worked out at the role's first
        request on this index, by the rules the role exports follow
        (``warehouse.access.scope``)."""
        key = f"{role}:{sorted(rows.items())}"  # a role is its name and its rows
        with self._scoping:
            if key not in self._scopes:
                table = f"scope_{len(self._scopes)}"
                visible = f"{table}_records"
                cursor = self._con.cursor()
                try:
                    query = scope_query(rows, "customers", "records")
                    cursor.execute(f"CREATE OR REPLACE TABLE {table} AS {query}")
                    cursor.execute(
                        f"CREATE OR REPLACE TABLE {visible} AS "
                        f"{visible_records_query(table, 'records')}"
                    )
                    ids = cursor.execute(f"SELECT customer_id FROM {table}").fetchall()
                    keys = cursor.execute(f"SELECT record_key FROM {visible}").fetchall()
                    quiet = cursor.execute(
                        f"SELECT derived_from_record_key FROM records WHERE "
                        f"derived_from_record_key IN (SELECT record_key FROM {visible}) "
                        f"AND record_key NOT IN (SELECT record_key FROM {visible})"
                    ).fetchall()
                finally:
                    cursor.close()
                self._scopes[key] = RoleScope(
                    table,
                    frozenset(str(row[0]) for row in ids),
                    frozenset(str(row[0]) for row in keys),
                    frozenset(str(row[0]) for row in quiet),
                )
            return self._scopes[key]

    def record_keys(self, keys: list[str]) -> set[str]:
        """Those of ``keys`` that are keys of current source records."""
        if not keys:
            return set()
        found = self._rows(
            "SELECT record_key FROM records WHERE list_contains(?, record_key)", [keys]
        )
        return {str(row["record_key"]) for row in found}

    def close(self) -> None:
        self._con.close()

    def _rows(self, sql: str, params: list[Any] | dict[str, Any]) -> list[dict[str, Any]]:
        cursor = self._con.cursor()
        try:
            result = cursor.execute(sql, params)
            columns = [d[0] for d in result.description or []]
            return [
                {c: _plain(v) for c, v in zip(columns, row, strict=True)}
                for row in result.fetchall()
            ]
        finally:
            cursor.close()

    def resolve(self, customer_id: str) -> Resolved:
        """The live customer behind ``customer_id`` (a merged ID resolves to its survivor)."""
        found = self._rows(
            "SELECT status, merged_into FROM customer_ids WHERE customer_id = ?", [customer_id]
        )
        if not found:
            return Resolved(customer_id, None, None)
        status, merged_into = found[0]["status"], found[0]["merged_into"]
        if status == "active":
            return Resolved(customer_id, customer_id, status)
        if status == "merged" and merged_into:
            return Resolved(customer_id, merged_into, status)
        return Resolved(customer_id, None, status)

    def lookup(self, customer_id: str) -> tuple[Resolved, dict[str, Any] | None]:
        """The live customer behind ``customer_id`` and its page; None when there is none."""
        resolved = self.resolve(customer_id)
        if resolved.customer_id is None:
            return resolved, None
        return resolved, self.customer(resolved.customer_id)

    def customer(self, customer_id: str) -> dict[str, Any] | None:
        """Everything the master knows of one live customer; None when it has no golden row."""
        golden = self._rows("FROM customers WHERE customer_id = ?", [customer_id])
        if not golden:
            return None
        one = [customer_id]
        value = self._rows("FROM customer_value WHERE customer_id = ?", one)
        lifecycle = self._rows("FROM customer_lifecycle WHERE customer_id = ?", one)
        return {
            "golden": golden[0],
            "lineage": self._rows(
                "SELECT attribute, value, record_key, source, rule FROM attribute_lineage "
                "WHERE customer_id = ? ORDER BY attribute",
                one,
            ),
            "records": self._rows(
                "SELECT * EXCLUDE (customer_id) FROM records WHERE customer_id = ? "
                "ORDER BY record_key",
                one,
            ),
            "relationships": self._rows(
                "SELECT from_customer_id, to_customer_id, relationship_type, evidence, "
                "confidence, inferred FROM relationships "
                "WHERE from_customer_id = ? OR to_customer_id = ? "
                "ORDER BY relationship_type, from_customer_id, to_customer_id",
                [customer_id, customer_id],
            ),
            "roles": self._rows(
                "SELECT role, evidence FROM customer_roles WHERE customer_id = ? ORDER BY role",
                one,
            ),
            "value": value[0] if value else None,
            "lifecycle": lifecycle[0] if lifecycle else None,
            "followups": self._rows(
                "FROM followup_today WHERE customer_id = ? ORDER BY priority", one
            ),
        }

    def review_queue(self) -> list[dict[str, Any]]:
        """The sync's review queue, the pairs whose decision moves most records first: a match
        joins both customers' records, a no_match splits the customer they share."""
        return self._rows(
            """SELECT q.*, cl.customer_id AS customer_id_l, cr.customer_id AS customer_id_r,
                      CASE WHEN cl.customer_id = cr.customer_id THEN kl.record_count
                           ELSE kl.record_count + kr.record_count END AS records_affected
               FROM review_queue q
               LEFT JOIN records cl ON cl.record_key = q.record_key_l
               LEFT JOIN records cr ON cr.record_key = q.record_key_r
               LEFT JOIN customers kl ON kl.customer_id = cl.customer_id
               LEFT JOIN customers kr ON kr.customer_id = cr.customer_id
               ORDER BY records_affected DESC NULLS LAST, match_probability DESC NULLS LAST,
                        record_key_l, record_key_r""",
            [],
        )

    def search(self, query: str, limit: int, within: str | None = None) -> list[dict[str, Any]]:
        """Live customers whose name contains ``query`` or whose phone, mobile, e-mail, credit
        code or ID is ``query``, as the pipeline would stage it; best-known names first.
        ``within``: a table of the customer IDs to search among (a role's ``scope``)."""
        staged = _staged_query(query)
        columns = ", ".join(SEARCH_COLUMNS)
        among = f"customer_id IN (SELECT customer_id FROM {within}) AND " if within else ""
        return self._rows(
            f"""SELECT {columns} FROM customers
                WHERE {among}(customer_id = $raw
                   OR (length($name) > 0 AND (contains(name, $name) OR contains(name_pinyin, $name)))
                   OR phone IN ($phone, $mobile) OR mobile IN ($phone, $mobile)
                   OR email = $email OR uscc = $uscc)
                ORDER BY record_count DESC, customer_id LIMIT $limit""",
            {"raw": query.strip(), "limit": limit, **staged},
        )


def _plain(value: Any) -> Any:
    """Amounts as numbers in JSON (pydantic writes a Decimal as text)."""
    return float(value) if isinstance(value, Decimal) else value


def _staged_query(query: str) -> dict[str, str]:
    """The search text staged as each kind of field it could be; '' where it is none."""
    staged = standardise_input(
        {"name": query, "phone": query, "mobile": query, "email": query, "uscc": query},
        "company",
    ).iloc[0]

    def text(column: str) -> str:
        value = staged[column]
        return str(value) if isinstance(value, str) and not pd.isna(value) else ""

    name = text("name") or query.strip()
    return {
        "name": name,
        "phone": text("phone"),
        "mobile": text("mobile"),
        "email": text("email"),
        "uscc": text("uscc"),
    }

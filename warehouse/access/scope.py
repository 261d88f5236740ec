"""Which customers a role sees, and how any table is cut down to them.

The rule, written once and run on the warehouse (role exports) and on a serving index's
tables (the service): a customer is in a role's scope when, for every key of the role's
``rows``, its golden record or one of its current source records holds one of the
listed values; the key ``source`` means one of its records comes from a listed source.
A role without ``rows`` sees every customer.

How a table is cut (``role_query``), by the columns that tie its rows to customers:

- ``from_customer_id`` and ``to_customer_id`` (relationships): both sides in scope, so a
  relationship never shows a customer outside the scope on its other side;
- ``customer_id``: the customer in scope; a follow-up whose person to call
  (``contact_customer_id``) is outside the scope keeps the row but loses that person
  (``contact_*`` columns empty); ``customer_360``'s relationship counts are counted again
  over the relationships the role sees, so they agree with its ``relationships`` file;
- ``record_key_l`` and ``record_key_r`` (review queue), or ``record_key``: the current
  customers of the records in scope;
- none of these (aggregates: sales by province and month, the forecast, the lead funnel):
  kept whole for a role that sees every customer; for a scoped role, filtered on its
  ``rows`` columns when the table has all of them (a province row of the sales counts only
  customers of that golden province, a funnel row only customers with a record from that
  source, so every customer it counts is in scope); otherwise **withheld**, and the
  role's manifest says why. Tables of the ``raw`` layer (source columns under the sources'
  own names, personal data unrecognisable) are withheld from masked roles.
"""

from __future__ import annotations

from dataclasses import dataclass

from sources.config import RoleConfig
from warehouse.access.masking import masked_attribute_expression, masked_expression
from warehouse.marts.customer_360 import RELATIONSHIP_COUNTS, relationship_counts_query

#: The columns of a follow-up that name the person to call.
CONTACT_COLUMNS = ("contact_name", "contact_phone", "contact_customer_id")


def literal(value: str) -> str:
    """A SQL text literal."""
    return "'" + str(value).replace("'", "''") + "'"


def ident(name: str) -> str:
    """A quoted SQL identifier (raw tables keep the sources' own column names)."""
    return '"' + name.replace('"', '""') + '"'


def scope_query(rows: dict[str, list[str]] | None, customers: str, records: str) -> str:
    """SQL of the customer IDs in scope: ``customers`` is the golden table
    (``master.customers``), ``records`` the current source records with their
    ``customer_id`` (``warehouse.views.CURRENT_RECORDS``)."""
    if not rows:
        return f"SELECT customer_id FROM {customers}"
    tests = []
    for column, values in sorted(rows.items()):
        allowed = "(" + ", ".join(literal(v) for v in sorted(values)) + ")"
        on_record = (
            f"c.customer_id IN (SELECT customer_id FROM {records} "
            f"WHERE CAST({column} AS VARCHAR) IN {allowed})"
        )
        if column == "source":
            tests.append(on_record)
        else:
            tests.append(f"(CAST(c.{column} AS VARCHAR) IN {allowed} OR {on_record})")
    return f"SELECT customer_id FROM {customers} c WHERE " + " AND ".join(tests)


@dataclass(frozen=True)
class RoleQuery:
    """A table as a role may see it: the query, or why it is withheld."""

    table: str
    sql: str | None
    withheld: str | None = None


def role_query(
    role: RoleConfig,
    table: str,
    columns: list[str],
    scope: str,
    records: str,
    relationships: str | None = None,
) -> RoleQuery:
    """The query giving ``table`` (``schema.table`` with ``columns``) cut to ``role``'s
    scope and masked as it says.

    Args:
        scope: a relation with the in-scope ``customer_id`` (from ``scope_query``).
        records: current source records (``record_key``, ``customer_id``).
        relationships: the relationships table, for recounting ``customer_360``.
    """
    schema = table.split(".", 1)[0]
    masked = role.pii == "masked"
    if masked and schema == "raw":
        return RoleQuery(table, None, "raw source columns: personal data cannot be recognised")
    names = set(columns)
    scoped = role.rows is not None
    inside = f"IN (SELECT customer_id FROM {scope})"
    where: list[str] = []
    replace: dict[str, str] = {}
    joins = ""
    if {"from_customer_id", "to_customer_id"} <= names:
        where = [f"t.from_customer_id {inside}", f"t.to_customer_id {inside}"]
    elif "customer_id" in names:
        where = [f"t.customer_id {inside}"]
        if scoped and "contact_customer_id" in names:
            for column in CONTACT_COLUMNS:
                if column in names:
                    replace[column] = (
                        f"CASE WHEN t.contact_customer_id {inside} THEN t.{column} END"
                    )
        if scoped and relationships and {"relationships", *RELATIONSHIP_COUNTS} <= names:
            seen = (
                f"(SELECT * FROM {relationships} WHERE from_customer_id {inside} "
                f"AND to_customer_id {inside})"
            )
            joins = f" LEFT JOIN ({relationship_counts_query(seen)}) AS rel USING (customer_id)"
            for column in ("relationships", *RELATIONSHIP_COUNTS):
                replace[column] = f"coalesce(rel.{column}, 0)"
    elif {"record_key_l", "record_key_r"} <= names:
        where = [
            f"t.{key} IN (SELECT record_key FROM {records} WHERE customer_id {inside})"
            for key in ("record_key_l", "record_key_r")
        ]
    elif "record_key" in names:
        where = [f"t.record_key IN (SELECT record_key FROM {records} WHERE customer_id {inside})"]
    elif scoped:
        assert role.rows is not None
        missing = sorted(set(role.rows) - names)
        if missing:
            return RoleQuery(
                table, None, f"no customer key and no {', '.join(missing)} column to filter on"
            )
        where = [
            f"CAST(t.{column} AS VARCHAR) IN ({', '.join(literal(v) for v in sorted(values))})"
            for column, values in sorted(role.rows.items())
        ]
    if not scoped:
        where = []
    select = []
    for column in columns:
        expression = replace.get(column, f"t.{ident(column)}")
        if masked:
            if column == "value" and "attribute" in names:
                expression = masked_attribute_expression("t.attribute", expression)
            else:
                expression = masked_expression(column, expression)
        select.append(f"{expression} AS {ident(column)}")
    sql = f"SELECT {', '.join(select)} FROM {table} AS t{joins}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return RoleQuery(table, sql)

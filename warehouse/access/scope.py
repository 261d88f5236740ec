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
- ``record_key_l`` and ``record_key_r`` (review queue), or ``record_key``: the records
  the role sees (``visible_records_query``): current records of its customers, less a
  contact person's record drawn from the record of a company outside the scope (that
  record's key is part of the contact's: ``dealers:GZ01-000004:contact``); a row with a
  ``customer_id`` and a ``record_key`` (xref, lineage, orders) needs both;
- none of these (aggregates: sales by province and month, the forecast, the lead funnel):
  kept whole for a role that sees every customer; for a scoped role, filtered on its
  ``rows`` columns when the table has all of them (a province row of the sales counts only
  customers of that golden province, a funnel row only customers with a record from that
  source, so every customer it counts is in scope); otherwise **withheld**, and the
  role's manifest says why. Tables of the ``raw`` layer (source columns under the sources'
  own names, personal data unrecognisable) are withheld from masked roles, and a
  ``raw`` column (a quarantined row as the source sent it) is empty for them.

A kept row never names a customer or a record outside the scope in its other columns
either: another customer's ID (``related_customer_id``, ``merged_into``, any
``*customer_id``) or another record's key (``derived_from_record_key``, ``cluster_id``)
is emptied, an ``evidence`` list loses the record keys the role does not see and an
evidence text naming one is emptied (a contact's role, "named as contact on
dealers:GZ01-000009"), and a staged company record loses its contact person
(``contact_name``, ``contact_title``, ``contact_gender``, ``contact_mobile``) when that
person's own record is not the role's.
"""

from __future__ import annotations

from dataclasses import dataclass

from sources.config import RoleConfig
from warehouse.access.masking import masked_attribute_expression, masked_expression
from warehouse.marts.customer_360 import RELATIONSHIP_COUNTS, relationship_counts_query

#: The columns of a follow-up that name the person to call.
CONTACT_COLUMNS = ("contact_name", "contact_phone", "contact_customer_id")

#: The columns of a staged company record that name its contact person, who is a customer
#: (and a record, ``<record key>:contact``) of their own.
RECORD_CONTACT_COLUMNS = ("contact_name", "contact_title", "contact_gender", "contact_mobile")

#: Columns naming a customer other than the row's own (besides any ``*customer_id``).
CUSTOMER_POINTERS = ("merged_into",)

#: Columns naming a source record other than the row's own.
RECORD_POINTERS = (
    "record_key",
    "record_key_l",
    "record_key_r",
    "derived_from_record_key",
    "cluster_id",
)

#: The column of a quarantined or staged activity row holding the source's row as read: its
#: personal data cannot be recognised by name, so a masked role gets it empty.
RAW_TEXT = "raw"

#: A record key (``<source>:<source_record_id>``) inside a text such as a role's evidence
#: (``named as contact on dealers:GZ01-000009``).
RECORD_KEY_PATTERN = r"[A-Za-z0-9_]+:[^\s,;]+"


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


def visible_records_query(scope: str, records: str, derived: bool = True) -> str:
    """SQL of the record keys a role may see: current records (``records``) of its customers
    (``scope``), except a contact person's record drawn from a company record of a customer
    outside the scope (its key, ``<company record key>:contact``, and its
    ``derived_from_record_key`` name that company record). ``derived``: ``records`` has
    ``derived_from_record_key``."""
    inside = f"customer_id IN (SELECT customer_id FROM {scope})"
    sql = f"SELECT record_key FROM {records} WHERE {inside}"
    if derived:
        sql += (
            f" AND (derived_from_record_key IS NULL OR derived_from_record_key IN "
            f"(SELECT record_key FROM {records} WHERE {inside}))"
        )
    return sql


def hidden_records_query(visible: str, known: list[str]) -> str:
    """SQL of the record keys a role may not see: every key of the ``known`` relations
    (current records, the xref's whole history) not in ``visible``."""
    union = " UNION ".join(f"SELECT record_key FROM {k}" for k in known)
    return f"SELECT record_key FROM ({union}) WHERE record_key NOT IN (SELECT record_key FROM {visible})"


@dataclass(frozen=True)
class RoleRelations:
    """The relations a role's cut reads (names of tables or parenthesised queries).

    Attributes:
        scope: the in-scope ``customer_id`` (``scope_query``).
        records: current source records (``record_key``, ``customer_id``, and
            ``derived_from_record_key`` when staged with it).
        visible: the record keys the role sees (``visible_records_query``).
        hidden: the known record keys it does not (``hidden_records_query``).
        relationships: the relationships table, for recounting ``customer_360``.
    """

    scope: str
    records: str
    visible: str
    hidden: str
    relationships: str | None = None


@dataclass(frozen=True)
class RoleQuery:
    """A table as a role may see it: the query, or why it is withheld."""

    table: str
    sql: str | None
    withheld: str | None = None


def role_query(
    role: RoleConfig, table: str, columns: dict[str, str], on: RoleRelations
) -> RoleQuery:
    """The query giving ``table`` (``schema.table`` with ``columns``, name → DuckDB type)
    cut to ``role``'s scope and masked as it says; ``on`` names the scope's relations."""
    schema = table.split(".", 1)[0]
    masked = role.pii == "masked"
    if masked and schema == "raw":
        return RoleQuery(
            table,
            None,
            "raw source columns under the sources' own names: personal data cannot be "
            "recognised to mask it",
        )
    names = set(columns)
    scoped = role.rows is not None
    inside = f"IN (SELECT customer_id FROM {on.scope})"
    seen = f"IN (SELECT record_key FROM {on.visible})"
    where: list[str] = []
    filtered: set[str] = set()  # key columns the rows are cut on
    replace: dict[str, str] = {}
    joins = ""
    if {"from_customer_id", "to_customer_id"} <= names:
        where = [f"t.from_customer_id {inside}", f"t.to_customer_id {inside}"]
        filtered = {"from_customer_id", "to_customer_id"}
    elif "customer_id" in names:
        where = [f"t.customer_id {inside}"]
        filtered = {"customer_id"}
        if "record_key" in names:  # an xref row of a record now elsewhere, a contact's record
            where.append(f"(t.record_key IS NULL OR t.record_key {seen})")
            filtered.add("record_key")
        if scoped and "contact_customer_id" in names:
            for column in CONTACT_COLUMNS:
                if column in names:
                    replace[column] = (
                        f"CASE WHEN t.contact_customer_id {inside} THEN t.{column} END"
                    )
        if scoped and on.relationships and {"relationships", *RELATIONSHIP_COUNTS} <= names:
            shown = (
                f"(SELECT * FROM {on.relationships} WHERE from_customer_id {inside} "
                f"AND to_customer_id {inside})"
            )
            joins = f" LEFT JOIN ({relationship_counts_query(shown)}) AS rel USING (customer_id)"
            for column in ("relationships", *RELATIONSHIP_COUNTS):
                replace[column] = f"coalesce(rel.{column}, 0)"
    elif {"record_key_l", "record_key_r"} <= names:
        where = [f"t.record_key_l {seen}", f"t.record_key_r {seen}"]
        filtered = {"record_key_l", "record_key_r"}
    elif "record_key" in names:
        where = [f"t.record_key {seen}"]
        filtered = {"record_key"}
    elif scoped:
        assert role.rows is not None
        missing = sorted(set(role.rows) - names)
        if missing:
            return RoleQuery(
                table,
                None,
                f"an aggregate with no customer key and no {' or '.join(missing)} column: its "
                "figures count customers outside this role's scope and cannot be cut to its own",
            )
        where = [
            f"CAST(t.{column} AS VARCHAR) IN ({', '.join(literal(v) for v in sorted(values))})"
            for column, values in sorted(role.rows.items())
        ]
    if not scoped:
        where = []
    else:
        replace.update(_pointers(names - filtered - set(replace), inside, seen))
        if "evidence" in names:
            replace["evidence"] = _evidence_without(on.hidden, columns["evidence"])
        if "record_key" in names and RECORD_CONTACT_COLUMNS[0] in names:
            mine = _contact_of_record(on.records, on.visible)
            for column in RECORD_CONTACT_COLUMNS:
                if column in names:
                    replace[column] = f"CASE WHEN {mine} THEN t.{column} END"
    select = []
    for column in columns:
        expression = replace.get(column, f"t.{ident(column)}")
        if masked:
            if column == RAW_TEXT:
                expression = f"CAST(NULL AS {columns[column]})"
            elif column == "value" and "attribute" in names:
                expression = masked_attribute_expression("t.attribute", expression)
            else:
                expression = masked_expression(column, expression)
        select.append(f"{expression} AS {ident(column)}")
    sql = f"SELECT {', '.join(select)} FROM {table} AS t{joins}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return RoleQuery(table, sql)


def _pointers(columns: set[str], inside: str, seen: str) -> dict[str, str]:
    """Expressions emptying another customer's ID (``related_customer_id``,
    ``merged_into``, …) or another record's key (``derived_from_record_key``, a cluster's
    representative record) that a kept row names, when it is outside the scope."""
    out: dict[str, str] = {}
    for column in sorted(columns):
        if column in CUSTOMER_POINTERS or column.endswith("customer_id"):
            out[column] = f"CASE WHEN t.{column} {inside} THEN t.{column} END"
        elif column in RECORD_POINTERS:
            out[column] = f"CASE WHEN t.{column} {seen} THEN t.{column} END"
    return out


def _evidence_without(hidden: str, type_: str) -> str:
    """An ``evidence`` list without the record keys in ``hidden``; an evidence text emptied
    when it names one."""
    if type_.endswith("[]"):
        return (
            "CASE WHEN t.evidence IS NOT NULL THEN coalesce((SELECT list(u.e ORDER BY u.i) "
            "FROM (SELECT unnest(t.evidence) AS e, generate_subscripts(t.evidence, 1) AS i) u "
            f"WHERE u.e NOT IN (SELECT record_key FROM {hidden})), []) END"
        )
    return (
        "CASE WHEN NOT EXISTS (SELECT 1 FROM (SELECT unnest(regexp_extract_all("
        f"CAST(t.evidence AS VARCHAR), {literal(RECORD_KEY_PATTERN)})) AS k) u "
        f"WHERE u.k IN (SELECT record_key FROM {hidden})) THEN t.evidence END"
    )


def _contact_of_record(records: str, visible: str) -> str:
    """The condition on a staged record that the contact person it names is the role's:
    no record drawn from it (``derived_from_record_key``) is outside what it sees."""
    return (
        f"t.record_key NOT IN (SELECT derived_from_record_key FROM {records} "
        f"WHERE derived_from_record_key IS NOT NULL "
        f"AND record_key NOT IN (SELECT record_key FROM {visible}))"
    )

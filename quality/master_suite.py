"""The master suites: the golden master's promises, checked after every run. All blocking.

- ``master.customer_xref``: ``one_current_xref_row_per_record`` (every staged record has
  exactly one current xref row, and no current row belongs to a record no longer staged)
  and ``customer_id_one_entity_type`` (an ID never crosses entity types, over the whole
  history and the ID registry);
- ``master.customers``: ``customer_id_unique`` (one golden record per live ID, every live
  ID has one, and a merged or retired ID never comes back);
- ``master.attribute_lineage``: ``lineage_complete`` (every golden value has a lineage row
  naming a current record of that customer, carrying that value);
- ``master.relationships``: ``relationships_point_to_live_ids`` (no relationship names a
  merged, retired or unknown ID).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from quality.gx import Expect, Rows, Suite, read_frame
from quality.partitioned_frames import PartitionedFrame
from quality.results import ERROR, CheckDef
from sources.schema import GOLDEN_ATTRIBUTE_GROUPS
from warehouse.store import table_columns
from warehouse.views import CURRENT_XREF

XREF_CHECK = CheckDef(
    "one_current_xref_row_per_record",
    ERROR,
    "every staged record is in exactly one current xref row",
)
ENTITY_TYPE_CHECK = CheckDef(
    "customer_id_one_entity_type", ERROR, "a customer_id never crosses entity types"
)
CUSTOMERS_CHECK = CheckDef(
    "customer_id_unique",
    ERROR,
    "one golden record per live customer_id; merged and retired IDs never come back",
)
LINEAGE_CHECK = CheckDef(
    "lineage_complete", ERROR, "every golden value has lineage to a record of its customer"
)
RELATIONSHIPS_CHECK = CheckDef(
    "relationships_point_to_live_ids", ERROR, "no relationship names a merged or retired ID"
)


def _in(check: CheckDef, column: str, values: list, says: str) -> Expect:
    return Expect(
        check.name, "ExpectColumnValuesToBeInSet", {"column": column, "value_set": values}, says
    )


def xref_suite() -> Suite:
    return Suite(
        name="master.customer_xref",
        checks=(XREF_CHECK, ENTITY_TYPE_CHECK),
        expectations=(
            Expect(
                XREF_CHECK.name,
                "ExpectColumnValuesToBeBetween",
                {"column": "current_rows", "min_value": 1, "max_value": 1},
                "staged records without exactly one current xref row",
            ),
            _in(XREF_CHECK, "staged", [True], "current xref rows of records that are not staged"),
            Expect(
                ENTITY_TYPE_CHECK.name,
                "ExpectColumnValuesToBeBetween",
                {"column": "id_entity_types", "min_value": 1, "max_value": 1},
                "xref rows whose customer_id has been given to more than one entity type",
            ),
        ),
        index_columns=("record_key", "customer_id"),
    )


def xref_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """:data:`XREF_FRAME` as a DataFrame."""
    return read_frame(con, XREF_FRAME)


#: What the xref suite reads: one row per xref row (all periods) and per staged record
#: missing from the xref. ``current_rows`` and ``staged`` are set on current rows and
#: missing records only; ``id_entity_types`` counts the entity types the row's ID has had
#: in the xref history and the ID registry.
#:
#: A record's current rows and whether it is staged are counted in one aggregation over
#: both tables, not two joined apart: on tables ten times the 100k demo's (1.38M xref rows)
#: 1.23 s of CPU instead of 1.64-2.07 s, the same rows (``EXCEPT ALL`` both ways; load
#: average 4-5). A staged record missing from the xref is one with no current row.
XREF_FRAME = """
        WITH per_record AS (
            SELECT record_key, sum(is_current) AS n, bool_or(is_staged) AS staged FROM (
                SELECT record_key, 1 AS is_current, false AS is_staged
                FROM master.customer_xref WHERE valid_to IS NULL
                UNION ALL SELECT record_key, 0, true FROM staging.customers
            ) GROUP BY record_key
        ),
        id_types AS (
            SELECT customer_id, count(DISTINCT entity_type) AS n FROM (
                SELECT customer_id, entity_type FROM master.customer_xref
                UNION ALL SELECT customer_id, entity_type FROM master.customer_ids
            ) GROUP BY customer_id
        )
        SELECT x.record_key, x.customer_id, x.entity_type,
               CASE WHEN x.valid_to IS NULL THEN p.n END AS current_rows,
               CASE WHEN x.valid_to IS NULL THEN p.staged END AS staged,
               t.n AS id_entity_types
        FROM master.customer_xref x
        LEFT JOIN per_record p USING (record_key)
        LEFT JOIN id_types t USING (customer_id)
        UNION ALL
        SELECT record_key, NULL, NULL, 0, true, NULL FROM per_record
        WHERE staged AND n = 0 AND record_key IS NOT NULL
        """


def customers_suite() -> Suite:
    return Suite(
        name="master.customers",
        checks=(CUSTOMERS_CHECK,),
        expectations=(
            Expect(
                CUSTOMERS_CHECK.name,
                "ExpectColumnValuesToNotBeNull",
                {"column": "golden_customer_id"},
                "live customer IDs (current xref) without a golden record",
            ),
            Expect(
                CUSTOMERS_CHECK.name,
                "ExpectColumnValuesToBeUnique",
                {"column": "golden_customer_id"},
                "customer IDs with more than one golden record",
            ),
            _in(
                CUSTOMERS_CHECK,
                "registry_status",
                ["active"],
                "golden records under an ID the registry holds as merged, retired or unknown",
            ),
            _in(
                CUSTOMERS_CHECK,
                "in_current_xref",
                [True],
                "golden records of an ID no current source record carries",
            ),
        ),
        index_columns=("customer_id",),
    )


def customers_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """:func:`customers_frame_sql` as a DataFrame."""
    return read_frame(con, customers_frame_sql(con))


def customers_frame_sql(_con: duckdb.DuckDBPyConnection | None = None) -> str:
    """One row per golden record, plus one per live ID (current xref) without one."""
    return """
        WITH live AS (
            SELECT DISTINCT customer_id FROM master.customer_xref WHERE valid_to IS NULL
        )
        SELECT c.customer_id, c.customer_id AS golden_customer_id,
               coalesce(r.status, 'unknown') AS registry_status,
               c.customer_id IN (SELECT customer_id FROM live) AS in_current_xref
        FROM master.customers c LEFT JOIN master.customer_ids r USING (customer_id)
        UNION ALL
        SELECT l.customer_id, NULL, NULL, true FROM live l
        WHERE l.customer_id NOT IN (SELECT customer_id FROM master.customers)
        """


def lineage_suite() -> Suite:
    return Suite(
        name="master.attribute_lineage",
        checks=(LINEAGE_CHECK,),
        expectations=(
            Expect(
                LINEAGE_CHECK.name,
                "ExpectColumnValuesToNotBeNull",
                {"column": "lineage_record_key"},
                "golden values without a lineage row",
            ),
            _in(
                LINEAGE_CHECK,
                "record_of_customer",
                [True],
                "lineage rows naming a record that is not the customer's",
            ),
            _in(
                LINEAGE_CHECK,
                "same_value",
                [True],
                "lineage rows whose value differs from the golden value",
            ),
        ),
        index_columns=("customer_id", "attribute", "value", "lineage_value"),
    )


def _same_value_sql(attribute: str, data_type: str) -> str | None:
    """Whether the lineage value (text, ``l.value``) is the golden value (its text,
    ``v.value``), compared in the column's type; None for text, compared as it is.

    The golden value's text casts back to the value itself (a date, a timestamp, a number
    printed by DuckDB reads back the same), so comparing it is comparing the typed value.
    """
    if data_type.startswith(("DATE", "TIMESTAMP")):
        return f"WHEN '{attribute}' THEN TRY_CAST(l.value AS TIMESTAMP) = v.value::TIMESTAMP"
    if data_type == "VARCHAR":
        return None
    return f"WHEN '{attribute}' THEN TRY_CAST(l.value AS {data_type}) = v.value::{data_type}"


#: A golden value whose lineage fails one of the suite's expectations (in ``lineage_frame``).
_LINEAGE_BROKEN = "lineage_record_key IS NULL OR NOT record_of_customer OR NOT same_value"


def lineage_frame(con: duckdb.DuckDBPyConnection) -> Rows:
    """:func:`lineage_frame_sql` for GX's pandas engine: it reads only the three checked
    columns; the columns that name a row are taken for the example rows only
    (:class:`~quality.gx.Rows`)."""
    index = list(lineage_suite().index_columns)
    table = con.sql(lineage_frame_sql(con)).to_arrow_table()
    frame = con.from_arrow(table).project("lineage_record_key, record_of_customer, same_value").df()

    def keys(labels: list[int]) -> pd.DataFrame:
        return table.select(index).take(labels).to_pandas().set_axis(labels)

    return Rows(frame, keys)


def _golden_columns(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, str], dict[str, str]]:
    """The types of ``master.customers``' columns, and the column holding each golden
    attribute that some customer has."""
    types = dict(table_columns(con, "master", "customers"))
    golden = {
        attribute: columns[0]
        for attribute, columns in GOLDEN_ATTRIBUTE_GROUPS.items()
        if types.get(columns[0], "NULL").strip('"') != "NULL"  # no customer has a value
    }
    return types, golden


def lineage_digests_sql(con: duckdb.DuckDBPyConnection) -> str:
    """Per customer (``__key``), a ``digest`` of what its rows of :func:`lineage_frame_sql`
    read: its golden record's attribute values, its lineage rows and its current xref rows
    (the number of each and the sum of their hashes)."""
    _types, golden = _golden_columns(con)
    values = ", ".join(["c.customer_id", *(f"c.{column}" for column in golden.values())])
    return f"""
        SELECT c.customer_id AS __key, hash(c.n, c.s, l.n, l.s, x.n, x.s) AS digest
        FROM (SELECT c.customer_id, count(*) AS n, sum(hash({values})) AS s
              FROM master.customers c GROUP BY ALL) c
        LEFT JOIN (SELECT customer_id, count(*) AS n,
                          sum(hash(attribute, record_key, value)) AS s
                   FROM master.attribute_lineage GROUP BY ALL) l USING (customer_id)
        LEFT JOIN (SELECT customer_id, count(*) AS n, sum(hash(record_key)) AS s
                   FROM {CURRENT_XREF} GROUP BY ALL) x USING (customer_id)"""


def lineage_frame_sql(
    con: duckdb.DuckDBPyConnection,
    customers: str | None = None,
    *,
    keyed: bool = False,
    ordered: bool = True,
) -> str:
    """One row per golden attribute value, with its lineage row (if any), in the order of
    their customer, attribute and lineage row; of the customers in the relation
    ``customers`` (a ``customer_id`` column) only, when given, and of a customer without
    an ID (none, in a sound master). ``keyed``: each row's customer first (``__key``),
    whether its row fails or not.

    The rows of a customer read nothing but that customer's golden record, lineage rows
    and current xref rows (:data:`LINEAGE_PARTITIONS` keeps the others' counts).
    ``ordered`` False: in no particular order (sorting 4.3M golden values at 1M records
    costs more than the joins: for what is counted, not listed).

    The three checked columns: ``lineage_record_key`` as true where the value has a lineage
    row, else null (only its nullness is checked), ``record_of_customer``, ``same_value``;
    the columns that name a row are filled only on rows that fail one of them, the only
    rows an example can show.

    The golden values are unpivoted once (one row per customer and attribute with a value)
    and joined with the lineage in one join, not one join per attribute: at 1M records
    (4.26M golden values, loaded machine) 4.1 s of CPU instead of 11.9 s, the same rows
    (compared with ``EXCEPT ALL`` both ways). Whether the lineage record is the customer's
    is one join after that.
    """
    types, golden = _golden_columns(con)
    texts = ", ".join(
        f'c.{column}::VARCHAR AS "{attribute}"' for attribute, column in golden.items()
    )
    typed = " ".join(
        sql
        for a, column in golden.items()
        if (sql := _same_value_sql(a, types[column])) is not None
    )
    same = f"CASE v.attribute {typed} ELSE l.value = v.value END" if typed else "l.value = v.value"
    index = list(lineage_suite().index_columns)
    of = (
        (lambda _alias: "")
        if customers is None
        else lambda alias: f" WHERE {alias}.customer_id IN (SELECT customer_id FROM {customers})"
    )
    no_id = "" if customers is None else " OR c.customer_id IS NULL"
    order = """ORDER BY checked.customer_id, checked.attribute, checked.lineage_record_key,
                     checked.lineage_value"""
    return f"""WITH v AS (
                UNPIVOT (SELECT c.customer_id, {texts} FROM master.customers c{of("c")}{no_id})
                ON COLUMNS(* EXCLUDE (customer_id)) INTO NAME attribute VALUE value
            ),
            golden AS (
                SELECT v.customer_id, v.attribute, v.value, l.record_key AS lineage_record_key,
                       l.value AS lineage_value,
                       CASE WHEN l.record_key IS NOT NULL THEN coalesce({same}, false) END
                           AS same_value
                FROM v LEFT JOIN (FROM master.attribute_lineage l{of("l")}) l
                       ON l.customer_id = v.customer_id AND l.attribute = v.attribute
            ),
            checked AS (
                SELECT g.*, CASE WHEN g.lineage_record_key IS NOT NULL
                                 THEN x.customer_id IS NOT NULL END AS record_of_customer
                FROM golden g
                LEFT JOIN (FROM {CURRENT_XREF} x{of("x")}) x
                       ON x.record_key = g.lineage_record_key AND x.customer_id = g.customer_id
            )
            SELECT {"checked.customer_id AS __key, " if keyed else ""}
                   lineage_record_key IS NOT NULL OR NULL AS lineage_record_key,
                   record_of_customer, same_value,
                   {", ".join(f"CASE WHEN {_LINEAGE_BROKEN} THEN {c} END AS {c}" for c in index)}
            FROM checked
            {order if ordered else ""}"""


def relationships_suite() -> Suite:
    return Suite(
        name="master.relationships",
        checks=(RELATIONSHIPS_CHECK,),
        expectations=(
            _in(
                RELATIONSHIPS_CHECK,
                "from_status",
                ["active"],
                "relationships from an ID that is not live",
            ),
            _in(
                RELATIONSHIPS_CHECK,
                "to_status",
                ["active"],
                "relationships to an ID that is not live",
            ),
        ),
        index_columns=("from_customer_id", "to_customer_id", "relationship_type"),
    )


def relationships_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """:func:`relationships_frame_sql` as a DataFrame."""
    return read_frame(con, relationships_frame_sql(con))


def relationships_frame_sql(_con: duckdb.DuckDBPyConnection | None = None) -> str:
    """Every relationship with the registry status of both ends (``unknown`` if never issued)."""
    return """
        SELECT r.from_customer_id, r.to_customer_id, r.relationship_type,
               coalesce(f.status, 'unknown') AS from_status,
               coalesce(t.status, 'unknown') AS to_status
        FROM master.relationships r
        LEFT JOIN master.customer_ids f ON f.customer_id = r.from_customer_id
        LEFT JOIN master.customer_ids t ON t.customer_id = r.to_customer_id
        """


#: The lineage suite's frame as one partition per customer (``quality.partitioned_frames``):
#: a delta validates the customers whose golden record, lineage or current records changed.
LINEAGE_PARTITIONS = PartitionedFrame(
    name="lineage_frame",
    rows=lambda con, customers, ordered: lineage_frame_sql(
        con, customers, keyed=True, ordered=ordered
    ),
    digests=lineage_digests_sql,
)

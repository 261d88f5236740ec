"""The master layer on the warehouse: persistent IDs for this run's clusters, golden records.

Tables (schema ``master``):

- ``customer_xref``: one row per source record and period, with its customer_id, the
  probability linking it to its cluster, valid_from / valid_to (null: current);
- ``customer_ids``: every customer ID ever issued, active / merged (with the ID it now
  resolves to) / retired;
- ``customer_id_events``: every creation, merge, split and retirement, with the run that
  caused it;
- ``customers``: one golden record per active customer;
- ``attribute_lineage``: for every golden attribute, the record and rule that supplied it;
- ``customer_aliases``: the other names the sources know a customer by (a renamed
  company's old name), with the source and records (``matching.master.aliases``).
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matching.master.aliases import build_aliases
from matching.master.built_from import (
    CURRENT_XREF_SEEN,
    keep_snapshot,
    take_snapshot,
    touched_customers,
)
from matching.master.customer_ids import ASSIGNMENTS, EVENTS, REGISTRY, issue_customer_ids
from matching.master.survivorship import survive
from matching.master.xref import cluster_probability_query, updated_xref
from warehouse.store import quote, replace_table, table_exists
from warehouse.views import CURRENT_XREF


def update_customer_ids(
    con: duckdb.DuckDBPyConnection, run_id: str, now: datetime
) -> dict[str, int]:
    """Give this run's clusters their persistent customer IDs; update xref, registry and events
    (in one transaction: all three are this run's, or none)."""
    has_xref = table_exists(con, "master", "customer_xref")
    previous = (
        CURRENT_XREF
        if has_xref
        else "(SELECT NULL::VARCHAR AS record_key, NULL::VARCHAR AS customer_id WHERE false)"
    )
    registry = "master.customer_ids" if table_exists(con, "master", "customer_ids") else None
    clusters = "(SELECT record_key, entity_type, cluster_id FROM matching.clusters)"
    links = """(SELECT record_key_l, record_key_r, match_probability FROM matching.pairs
                UNION ALL SELECT record_key_l, record_key_r, match_probability FROM matching.rule_links)"""
    con.begin()
    try:
        issue_customer_ids(con, clusters, previous, registry)
        # the xref takes a record's probability only where its customer gained or lost a
        # record (matching.master.xref): computed for those customers' records alone, not
        # over every pair of every cluster
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE __xref_touched_clusters AS
                WITH change AS (
                    SELECT a.customer_id AS now, p.customer_id AS before
                    FROM {ASSIGNMENTS} a FULL JOIN {previous} p USING (record_key)
                    WHERE a.customer_id IS DISTINCT FROM p.customer_id)
                SELECT record_key, cluster_id FROM {ASSIGNMENTS} WHERE customer_id IN (
                    SELECT now FROM change UNION SELECT before FROM change)"""
        )
        probability = cluster_probability_query("__xref_touched_clusters", links)
        counts = updated_xref(
            con,
            "master.customer_xref" if has_xref else None,
            f"""(SELECT a.record_key, a.customer_id, a.entity_type, s.source, p.match_probability
                 FROM {ASSIGNMENTS} a
                 LEFT JOIN staging.customers s USING (record_key)
                 LEFT JOIN {probability} p USING (record_key))""",
            run_id,
            now,
            into="master.customer_xref",
        )
        con.execute("DROP TABLE __xref_touched_clusters")
        con.execute(
            f"""CREATE OR REPLACE TABLE master.customer_ids AS
                SELECT customer_id, entity_type, status, merged_into::VARCHAR AS merged_into
                FROM {REGISTRY}"""
        )
        _append_events(con, run_id, now)
        by_kind = dict(
            con.execute(f"SELECT event, count(*) FROM {EVENTS} GROUP BY event").fetchall()
        )
        counts.update(
            {
                f"ids_{kind}": by_kind.get(kind, 0)
                for kind in ("created", "merged", "split", "retired")
            }
        )
        counts["active_customers"] = con.execute(
            f"SELECT count(DISTINCT customer_id) FROM {ASSIGNMENTS}"
        ).fetchall()[0][0]
        for table in (ASSIGNMENTS, EVENTS, REGISTRY):
            con.execute(f"DROP TABLE {table}")
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return counts


def _append_events(con: duckdb.DuckDBPyConnection, run_id: str, now: datetime) -> None:
    """``master.customer_id_events``: every earlier run's events, then this run's, each in
    the order they were written."""
    earlier = (
        """UNION ALL
           SELECT event, customer_id, related_customer_id::VARCHAR, entity_type, records,
                  run_id, event_at, 0, rowid FROM master.customer_id_events"""
        if table_exists(con, "master", "customer_id_events")
        else ""
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE master.customer_id_events AS
            SELECT * EXCLUDE (part, n) FROM (
                SELECT event, customer_id, related_customer_id::VARCHAR AS related_customer_id,
                       entity_type, records::BIGINT AS records, $run_id::VARCHAR AS run_id,
                       $now::TIMESTAMP AS event_at, 1 AS part, rowid AS n
                FROM {EVENTS}
                {earlier})
            ORDER BY part, n""",
        {"run_id": run_id, "now": now},
    )


#: What each golden record was built from (``matching.master.built_from``).
GOLDEN_INPUTS = "master.golden_inputs"


def build_golden_records(
    con: duckdb.DuckDBPyConnection,
    source_trust: dict[str, int],
    rules: dict[str, tuple[str, ...]],
    incremental: bool = False,
) -> dict[str, int]:
    """Golden record of every active customer from the current xref, with attribute lineage.

    ``incremental``: build again only the customers a record joined or left, or whose
    records' staged values changed, since the last build (``master.golden_inputs``); keep
    the other customers' rows. A golden record depends only on its customer's records, so
    the result is the same as a whole build, row for row.
    """
    xref = con.sql(CURRENT_XREF_SEEN).to_arrow_table()
    take_snapshot(con, "__built_from")
    touched = touched_customers(con, "__built_from", GOLDEN_INPUTS) if incremental else None
    if touched is None:
        golden = survive(con, xref, source_trust, rules)
        replace_table(con, "master", "customers", _typed_like_staging(con, golden.customers))
        replace_table(con, "master", "attribute_lineage", golden.lineage)
    else:
        of_touched = pc.is_in(xref["customer_id"], value_set=pa.array(sorted(touched), pa.string()))
        golden = survive(con, xref.filter(of_touched), source_trust, rules)
        _replace_customers(con, "customers", _typed_like_staging(con, golden.customers), touched)
        _replace_customers(con, "attribute_lineage", golden.lineage, touched, "attribute")
    keep_snapshot(con, "__built_from", GOLDEN_INPUTS)
    aliases = build_aliases(con)
    counts = con.execute(
        "SELECT (SELECT count(*) FROM master.customers), (SELECT count(*) FROM master.attribute_lineage)"
    ).fetchall()[0]
    result = {"customers": counts[0], "lineage_rows": counts[1], "aliases": aliases}
    if touched is not None:
        result["customers_rebuilt"] = len(touched)
    return result


def _replace_customers(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rebuilt: pa.Table | pd.DataFrame,
    touched: set[str],
    *order: str,
) -> None:
    """``master.<table>`` with the rows of ``touched`` customers replaced by ``rebuilt`` and
    the rows of customers no longer live dropped, in a whole build's order."""
    keys = ", ".join(["customer_id", *order])
    con.register("__rebuilt", rebuilt)
    con.register("__touched", pd.DataFrame({"customer_id": sorted(touched)}, dtype=object))
    try:
        con.execute(
            f"""CREATE OR REPLACE TABLE master.{table} AS
                SELECT * FROM (
                    SELECT * FROM master.{table}
                    WHERE customer_id NOT IN (SELECT customer_id FROM __touched)
                      AND customer_id IN (SELECT customer_id FROM {CURRENT_XREF})
                    UNION ALL BY NAME SELECT * FROM __rebuilt)
                ORDER BY {keys}"""
        )
    finally:
        con.unregister("__rebuilt")
        con.unregister("__touched")


def _typed_like_staging(con: duckdb.DuckDBPyConnection, customers: pa.Table) -> pa.Table:
    """Golden columns with the types of the staged columns they come from, dates as dates.

    The published schema must not depend on the data: an attribute no record carries (no
    WeChat IDs in this deployment) is still VARCHAR, not DuckDB's NULL type.
    """
    types = dict(
        con.execute(
            """SELECT column_name, data_type FROM information_schema.columns
               WHERE table_schema = 'staging' AND table_name = 'customers'"""
        ).fetchall()
    )
    types.update(first_seen="DATE", last_updated="DATE")
    columns = ", ".join(
        f"CAST({quote(c)} AS {types[c]}) AS {quote(c)}" if c in types else quote(c)
        for c in customers.column_names
    )
    con.register("__golden", customers)
    try:
        return con.sql(f"SELECT {columns} FROM __golden").to_arrow_table()
    finally:
        con.unregister("__golden")

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

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import duckdb
import pyarrow as pa

from matching.linkage.recluster import REWRITTEN
from matching.master.aliases import build_aliases
from matching.master.built_from import diff_snapshots, keep_snapshot, take_snapshot
from matching.master.customer_ids import (
    ASSIGNMENTS,
    CUSTOMER_IDS_TOUCHED,
    EVENTS,
    REGISTRY,
    issue_customer_ids,
)
from matching.master.survivorship import golden_queries
from matching.master.xref import cluster_probability_query, updated_xref
from warehouse.store import quote, table_exists
from warehouse.views import CURRENT_XREF

#: What :func:`update_customer_ids` does with the clustering's log of rewritten records
#: (``matching.linkage.recluster.REWRITTEN``): ``ignore`` it (settle every cluster and drop
#: the log: a caller that may write ``matching.clusters`` itself), ``keep`` one (settle every
#: cluster, then start the log empty for the next clustering to fill: a sync's whole
#: build) or ``use`` it (settle only the clusters it touches when it is there, every
#: cluster when not, and leave it empty: a sync's incremental build).
RewrittenLog = Literal["ignore", "keep", "use"]


def update_customer_ids(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    now: datetime,
    *,
    rewritten: RewrittenLog = "ignore",
) -> dict[str, int]:
    """Give this run's clusters their persistent customer IDs; update xref, registry and events
    (in one transaction: all three are this run's, or none). ``rewritten``: see
    :data:`RewrittenLog`; the IDs are the same whichever is given."""
    has_xref = table_exists(con, "master", "customer_xref")
    previous = (
        CURRENT_XREF
        if has_xref
        else "(SELECT NULL::VARCHAR AS record_key, NULL::VARCHAR AS customer_id WHERE false)"
    )
    registry = "master.customer_ids" if table_exists(con, "master", "customer_ids") else None
    links = """(SELECT record_key_l, record_key_r, match_probability FROM matching.pairs
                UNION ALL SELECT record_key_l, record_key_r, match_probability FROM matching.rule_links)"""
    logged = rewritten == "use" and registry is not None and table_exists(con, *_REWRITTEN)
    con.begin()
    try:
        scope = _scope_of_rewritten(con, previous) if logged else None
        kept = _keep_settled_ids(con, previous, registry, scope)
        # only the clusters that are not exactly one customer's records are settled: the IDs
        # of the others are theirs whatever the rest does (matching.master.customer_ids)
        among = f"cluster_id IN (SELECT cluster_id FROM {scope.clusters}) AND" if scope else ""
        clusters = f"""(SELECT record_key, entity_type, cluster_id FROM matching.clusters
                        WHERE {among} cluster_id NOT IN (SELECT cluster_id FROM {kept}))"""
        within = f"customer_id IN (SELECT customer_id FROM {scope.ids}) AND" if scope else ""
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE __id_previous AS
                SELECT record_key, customer_id FROM {previous}
                WHERE {within} customer_id NOT IN (SELECT customer_id FROM {kept})"""
        )
        previous = "__id_previous"
        issue_customer_ids(con, clusters, previous, registry, in_place=registry is not None)
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
            before=previous,
        )
        con.execute("DROP TABLE __xref_touched_clusters")
        kept_records, kept_ids = con.execute(
            f"SELECT coalesce(sum(records), 0), count(*) FROM {kept}"
        ).fetchall()[0]
        if scope is not None:
            # and every cluster the log does not touch: all records but those settled again
            (kept_records,) = con.execute(
                f"""SELECT (SELECT count(*) FROM matching.clusters)
                           - (SELECT count(*) FROM {ASSIGNMENTS})"""
            ).fetchall()[0]
        counts["records_unchanged"] += int(kept_records)
        if registry is None:  # the first run's; later runs update it in place
            con.execute(f"DROP TABLE IF EXISTS {CUSTOMER_IDS_TOUCHED}")
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
        if scope is None:
            (assigned,) = con.execute(
                f"SELECT count(DISTINCT customer_id) FROM {ASSIGNMENTS}"
            ).fetchall()[0]
            counts["active_customers"] = assigned + kept_ids
        else:  # the registry, updated in place, says it without counting every cluster
            counts["active_customers"] = con.execute(
                "SELECT count(*) FROM master.customer_ids WHERE status = 'active'"
            ).fetchall()[0][0]
        for table in (ASSIGNMENTS, EVENTS, REGISTRY, kept, previous):
            con.execute(f"DROP TABLE IF EXISTS {table}")
        if scope is not None:
            scope.drop(con)
        _restart_log(con, rewritten)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return counts


_REWRITTEN = tuple(REWRITTEN.split("."))


@dataclass(frozen=True)
class _Scope:
    """The clusters and IDs the log of rewritten records touches, as temp tables: outside
    them every cluster is exactly the current records of one customer (the last ID step
    left each cluster so, and neither its rows nor its ID's xref rows changed since)."""

    clusters: str = "__id_scope_clusters"
    ids: str = "__id_scope_ids"

    def drop(self, con: duckdb.DuckDBPyConnection) -> None:
        for table in (self.clusters, self.ids):
            con.execute(f"DROP TABLE IF EXISTS {table}")


def _scope_of_rewritten(con: duckdb.DuckDBPyConnection, previous: str) -> _Scope:
    """The clusters that may not be exactly one customer's records, from the log of the
    records whose cluster rows were rewritten since the last ID step: the clusters of those
    records and of every record their last customers hold; and the last customers of the
    records of those clusters and of the logged ones (a customer whose records all left has
    no cluster). A cluster outside keeps its rows and its customer's xref rows as the last
    ID step left them, that is one customer's records exactly.

    On a 1% day at 100k records this is about 1% of the clusters: settling every cluster (a
    join and two aggregates over every record and xref row) was half the step."""
    scope = _Scope()
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {scope.ids} AS
            SELECT DISTINCT customer_id FROM {previous}
            WHERE record_key IN (SELECT record_key FROM {REWRITTEN})"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {scope.clusters} AS
            SELECT DISTINCT cluster_id FROM matching.clusters WHERE record_key IN (
                SELECT record_key FROM {REWRITTEN}
                UNION ALL SELECT record_key FROM {previous}
                WHERE customer_id IN (SELECT customer_id FROM {scope.ids}))"""
    )
    con.execute(
        f"""INSERT INTO {scope.ids} SELECT DISTINCT customer_id FROM {previous}
            WHERE record_key IN (SELECT record_key FROM matching.clusters
                                 WHERE cluster_id IN (SELECT cluster_id FROM {scope.clusters}))
              AND customer_id NOT IN (SELECT customer_id FROM {scope.ids})"""
    )
    return scope


def _restart_log(con: duckdb.DuckDBPyConnection, rewritten: RewrittenLog) -> None:
    """The log of rewritten records empty after IDs were given (``keep``, ``use``), for the
    next clustering to fill; dropped (``ignore``)."""
    if rewritten == "ignore":
        con.execute(f"DROP TABLE IF EXISTS {REWRITTEN}")
    else:
        con.execute(f"CREATE OR REPLACE TABLE {REWRITTEN} (record_key VARCHAR)")


#: Temporary table of the clusters that keep their customer's ID untouched.
SETTLED = "__id_settled_clusters"


def _keep_settled_ids(
    con: duckdb.DuckDBPyConnection,
    previous: str,
    registry: str | None,
    scope: _Scope | None = None,
) -> str:
    """The clusters whose records are exactly the current records of one customer, of the
    ID's entity type (``cluster_id``, ``customer_id``, ``records``), as a temp table;
    ``scope``: only those among its clusters (the others are, :func:`_scope_of_rewritten`).

    Such a cluster and its ID meet no other cluster or ID, so the rules give it that ID
    with no event whatever happens elsewhere, and the ID's registry row stays as it is:
    only the other clusters and IDs (a 1% day: about 1% of them) are settled again, and
    only their records' xref rows compared. Settling every cluster cost about 5 s at 100k
    records on a loaded machine."""
    if registry is None:
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {SETTLED} AS SELECT NULL::VARCHAR AS cluster_id,
                NULL::VARCHAR AS customer_id, 0::BIGINT AS records WHERE false"""
        )
        return SETTLED
    # one ID for all of a cluster's records: their smallest and largest ID are the same
    # (counting the distinct IDs of every cluster cost 15% more of the statement at 100k)
    clusters, ids = "matching.clusters", previous
    if scope is not None:
        clusters = f"""(SELECT record_key, entity_type, cluster_id FROM matching.clusters
                        WHERE cluster_id IN (SELECT cluster_id FROM {scope.clusters}))"""
        ids = f"""(SELECT customer_id FROM {previous}
                   WHERE customer_id IN (SELECT customer_id FROM {scope.ids}))"""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {SETTLED} AS
            WITH per_cluster AS (
                SELECT c.cluster_id, min(c.entity_type) AS entity_type,
                       min(p.customer_id) AS customer_id, count(*) AS records,
                       max(p.customer_id) AS last_id, count(p.customer_id) AS with_id
                FROM {clusters} c LEFT JOIN {previous} p USING (record_key)
                GROUP BY c.cluster_id),
            per_id AS (SELECT customer_id, count(*) AS records FROM {ids} GROUP BY ALL)
            SELECT k.cluster_id, k.customer_id, k.records
            FROM per_cluster k
            JOIN per_id i ON i.customer_id = k.customer_id AND i.records = k.records
            JOIN {registry} r ON r.customer_id = k.customer_id AND r.entity_type = k.entity_type
            WHERE k.last_id = k.customer_id AND k.with_id = k.records"""
    )
    return SETTLED


def _append_events(con: duckdb.DuckDBPyConnection, run_id: str, now: datetime) -> None:
    """``master.customer_id_events``: every earlier run's events, then this run's, each in
    the order they were written (this run's appended: the history is never rewritten)."""
    events = f"""
        SELECT event, customer_id, related_customer_id::VARCHAR AS related_customer_id,
               entity_type, records::BIGINT AS records, $run_id::VARCHAR AS run_id,
               $now::TIMESTAMP AS event_at
        FROM {EVENTS} ORDER BY rowid"""
    if table_exists(con, "master", "customer_id_events"):
        con.execute(
            f"INSERT INTO master.customer_id_events {events}", {"run_id": run_id, "now": now}
        )
    else:
        con.execute(
            f"CREATE TABLE master.customer_id_events AS {events}", {"run_id": run_id, "now": now}
        )


#: What each golden record was built from (``matching.master.built_from``).
GOLDEN_INPUTS = "master.golden_inputs"
#: The customers the golden step touched (a record joined or left them, or a record of
#: theirs changed: their golden record, its lineage and their records are built again)
#: since the serving index was last written (``customer_id``; a customer may be listed
#: more than once). An incremental build adds to it when it is kept; a whole build drops it
#: (every customer is new to it); the serving step reads it instead of comparing the golden
#: inputs with a copy of them, and starts it empty once its index is published
#: (``warehouse.serving``). Absent: the serving step compares every table.
GOLDEN_TOUCHED = "master.golden_touched"


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
    the result is the same as a whole build, row for row. Those customers are added to
    :data:`GOLDEN_TOUCHED` when it is kept; a whole build drops it.
    """
    take_snapshot(con, "__built_from")
    diff = diff_snapshots(con, "__built_from", GOLDEN_INPUTS) if incremental else None
    if diff is None:
        con.execute(f"DROP TABLE IF EXISTS {GOLDEN_TOUCHED}")
        with golden_queries(con, _current_records(con), source_trust, rules) as golden:
            customers, lineage = golden
            con.execute(
                f"CREATE OR REPLACE TABLE master.customers AS {_typed_like_staging(con, customers)}"
            )
            con.execute(f"CREATE OR REPLACE TABLE master.attribute_lineage AS {lineage}")
        keep_snapshot(con, "__built_from", GOLDEN_INPUTS)
        aliases = build_aliases(con)
    else:
        con.register(
            "__touched", pa.table({"customer_id": pa.array(sorted(diff.touched), pa.string())})
        )
        try:
            records = _current_records(con, "__touched")
            with golden_queries(con, records, source_trust, rules) as golden:
                customers, lineage = golden
                _replace_customers(con, "customers", _typed_like_staging(con, customers))
                _replace_customers(con, "attribute_lineage", lineage)
            # logged before the snapshot moves on: a build stopped between the two logs
            # these customers again next time, never loses them
            if table_exists(con, *GOLDEN_TOUCHED.split(".")):
                con.execute(f"INSERT INTO {GOLDEN_TOUCHED} SELECT customer_id FROM __touched")
            diff.keep(con)
            aliases = build_aliases(con, "__touched")
        finally:
            con.unregister("__touched")
    counts = con.execute(
        "SELECT (SELECT count(*) FROM master.customers), (SELECT count(*) FROM master.attribute_lineage)"
    ).fetchall()[0]
    result = {"customers": counts[0], "lineage_rows": counts[1], "aliases": aliases}
    if diff is not None:
        result["customers_rebuilt"] = len(diff.touched)
    return result


def _current_records(con: duckdb.DuckDBPyConnection, customers: str | None = None) -> pa.Table:
    """The current records (``record_key``, ``customer_id``, ``entity_type``,
    ``first_seen_at``) of every customer or of those in the relation ``customers``, from the
    snapshot just taken (``__built_from``: it has when each record entered the master), not
    from a second window over every xref row."""
    only = (
        "" if customers is None else f"WHERE b.customer_id IN (SELECT customer_id FROM {customers})"
    )
    return con.sql(
        f"""SELECT b.record_key, b.customer_id, x.entity_type, b.first_seen_at
            FROM __built_from b
            JOIN master.customer_xref x ON x.record_key = b.record_key AND x.valid_to IS NULL
            {only}"""
    ).to_arrow_table()


def _replace_customers(con: duckdb.DuckDBPyConnection, table: str, rebuilt: str) -> None:
    """``master.<table>`` with the rows of the touched customers (``__touched``) deleted and
    the rows of the query ``rebuilt`` inserted: a customer no longer live is touched (its
    records left or moved), so its rows go too. Rewriting the whole table in a whole build's
    order cost 7.7 s of a 13.8 s update at 100k records (loaded machine); readers order what
    they read (the publisher writes every table ``ORDER BY ALL``)."""
    con.execute(
        f"DELETE FROM master.{table} WHERE customer_id IN (SELECT customer_id FROM __touched)"
    )
    con.execute(f"INSERT INTO master.{table} BY NAME {rebuilt}")


def _typed_like_staging(con: duckdb.DuckDBPyConnection, customers: str) -> str:
    """The golden records of the query ``customers`` with the types of the staged columns
    they come from, dates as dates, as a query (in the same row order).

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
    names = [row[0] for row in con.execute(f"DESCRIBE {customers}").fetchall()]
    columns = ", ".join(
        f"CAST({quote(c)} AS {types[c]}) AS {quote(c)}" if c in types else quote(c) for c in names
    )
    return f"SELECT {columns} FROM ({customers}) ORDER BY customer_id"

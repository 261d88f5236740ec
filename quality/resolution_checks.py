"""Entity-resolution checks no generic data-quality tool has, computed in SQL.

- ``no_giant_clusters`` (blocking, on ``matching.clusters``): no cluster holds more than
  ``quality.giant_cluster_size`` records. A giant cluster is chaining (a shared hotline,
  a long common name prefix) merging unrelated customers into one golden record. The
  check shows the cluster-size distribution and the largest clusters with their names.
- ``unlinked_share`` (warn, on ``matching.clusters``): the share of records that joined
  no other record stays below ``quality.max_unlinked_share``; a jump means the model or
  the blocking broke.
- ``review_queue_size`` (warn, on ``matching.review_queue``): the pairs waiting for a
  steward stay below ``quality.max_review_queue``.
- ``customer_id_churn`` (warn, on ``master.customer_xref``): of the source records known
  before this run and still there, the share whose customer_id changed in this run
  (merges, splits, moves) stays below ``quality.max_id_churn_share``. Downstream systems
  key on customer_id; churn is what breaks them.
"""

from __future__ import annotations

import duckdb

from quality.results import ERROR, WARN, CheckDef, CheckOutcome, outcome_from_metric

GIANT_CLUSTERS_CHECK = CheckDef(
    "no_giant_clusters", ERROR, "no cluster is larger than giant_cluster_size"
)
UNLINKED_SHARE_CHECK = CheckDef(
    "unlinked_share", WARN, "the share of records linked to no other stays below its bound"
)
REVIEW_QUEUE_CHECK = CheckDef(
    "review_queue_size", WARN, "the review queue stays below max_review_queue pairs"
)
ID_CHURN_CHECK = CheckDef(
    "customer_id_churn",
    WARN,
    "the share of records whose customer_id changed stays below its bound",
)
CLUSTER_CHECKS = (GIANT_CLUSTERS_CHECK, UNLINKED_SHARE_CHECK)
#: Upper bounds of the buckets of the cluster-size distribution.
SIZE_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 1000)


#: Every cluster with its entity type and size, as a query: the cluster checks' one count of
#: ``matching.clusters`` (:func:`check_clusters` counts it once for both).
CLUSTER_SIZES = """(SELECT cluster_id, any_value(entity_type) AS entity_type, count(*) AS size
    FROM matching.clusters GROUP BY cluster_id)"""
#: The temporary table :func:`check_clusters` keeps ``CLUSTER_SIZES`` in.
_SIZES_TABLE = "__cluster_sizes"


def _size_counts(
    con: duckdb.DuckDBPyConnection, sizes: str = CLUSTER_SIZES
) -> list[tuple[int, int]]:
    """(cluster size, clusters of that size) over ``matching.clusters`` (its clusters' sizes
    ``sizes``: a query or table shaped like ``CLUSTER_SIZES``)."""
    return con.sql(
        f"SELECT size AS cluster_size, count(*) AS clusters FROM {sizes} GROUP BY size"
    ).fetchall()


def check_clusters(
    con: duckdb.DuckDBPyConnection, giant_size: int, max_unlinked_share: float
) -> list[CheckOutcome]:
    """``no_giant_clusters`` and ``unlinked_share`` (:data:`CLUSTER_CHECKS`), with the clusters
    counted once for both: counting every record of ``matching.clusters`` by its cluster
    for the sizes, again for the largest and again for the records alone took 1.03-1.36 s
    of CPU at 1.38M records (the 100k demo's ten times over, six runs alternated, load
    average 8-10); counted once, 0.48-0.60 s, the same outcomes."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_SIZES_TABLE} AS FROM {CLUSTER_SIZES}")
    try:
        return [
            check_giant_clusters(con, giant_size, _SIZES_TABLE),
            check_unlinked_share(con, max_unlinked_share, _SIZES_TABLE),
        ]
    finally:
        con.execute(f"DROP TABLE IF EXISTS {_SIZES_TABLE}")


def cluster_size_distribution(
    con: duckdb.DuckDBPyConnection, sizes: list[tuple[int, int]] | None = None
) -> list[dict[str, object]]:
    """Clusters and records per size bucket (``1``, ``2``, ``3-5``, …, ``>1000``), from the
    (size, clusters) counts when given."""
    sizes = _size_counts(con) if sizes is None else sizes
    buckets: list[dict[str, object]] = []
    low = 1
    for high in (*SIZE_BUCKETS, None):
        label = f">{low - 1}" if high is None else (str(high) if high == low else f"{low}-{high}")
        inside = [(s, n) for s, n in sizes if s >= low and (high is None or s <= high)]
        if inside:
            buckets.append(
                {
                    "size": label,
                    "clusters": sum(n for _, n in inside),
                    "records": sum(s * n for s, n in inside),
                }
            )
        low = (high or 0) + 1
    return buckets


def check_giant_clusters(
    con: duckdb.DuckDBPyConnection, giant_size: int, sizes: str = CLUSTER_SIZES
) -> CheckOutcome:
    """Blocking: no cluster larger than ``giant_size``; the largest shown with their names
    (the clusters' sizes ``sizes``: a query or table shaped like ``CLUSTER_SIZES``).

    The five largest clusters are chosen from the clusters alone, and only their records'
    names are read: listing the names of every cluster to keep five took 5.3 s of CPU at
    1M records (1.4M staged records, loaded machine). The sizes are counted once for the
    verdict and the distribution.
    """
    largest = con.sql(
        f"""
        WITH top AS (
            SELECT cluster_id, entity_type, size FROM {sizes}
            ORDER BY size DESC, cluster_id LIMIT 5
        )
        SELECT t.cluster_id, t.entity_type, t.size,
               list(DISTINCT s.name ORDER BY s.name)[1:5] AS names
        FROM top t JOIN matching.clusters c USING (cluster_id)
        LEFT JOIN staging.customers s USING (record_key)
        GROUP BY t.cluster_id, t.entity_type, t.size ORDER BY t.size DESC, t.cluster_id
        """
    ).fetchall()
    counts = _size_counts(con, sizes)
    giants = sum(n for s, n in counts if s > giant_size)
    biggest = largest[0][2] if largest else 0
    return outcome_from_metric(
        GIANT_CLUSTERS_CHECK,
        giants == 0,
        f"largest cluster {biggest} records (limit {giant_size})"
        if giants == 0
        else f"{giants} cluster(s) larger than {giant_size} records; largest {biggest}",
        giant_clusters=giants,
        largest_cluster=biggest,
        giant_cluster_size=giant_size,
        size_distribution=cluster_size_distribution(con, counts),
        largest_clusters=[
            {"cluster_id": c, "entity_type": e, "size": n, "names": names}
            for c, e, n, names in largest
        ],
    )


def check_unlinked_share(
    con: duckdb.DuckDBPyConnection, max_share: float, sizes: str = CLUSTER_SIZES
) -> CheckOutcome:
    """Warn: the share of records alone in their cluster is at most ``max_share`` (the
    clusters' sizes ``sizes``: a query or table shaped like ``CLUSTER_SIZES``)."""
    records, unlinked = con.sql(
        f"SELECT coalesce(sum(size), 0), count(*) FILTER (WHERE size = 1) FROM {sizes}"
    ).fetchall()[0]
    share = unlinked / records if records else 0.0
    return outcome_from_metric(
        UNLINKED_SHARE_CHECK,
        share <= max_share,
        f"{unlinked:,} of {records:,} records ({share:.1%}) linked to no other record "
        f"(at most {max_share:.0%})",
        records=records,
        unlinked=unlinked,
        unlinked_share=round(share, 4),
        max_unlinked_share=max_share,
    )


def check_review_queue(con: duckdb.DuckDBPyConnection, max_pairs: int) -> CheckOutcome:
    """Warn: at most ``max_pairs`` pairs wait for a steward."""
    reasons = dict(
        con.sql(
            "SELECT reason, count(*) FROM matching.review_queue GROUP BY 1 ORDER BY 2 DESC"
        ).fetchall()
    )
    pairs = sum(reasons.values())
    return outcome_from_metric(
        REVIEW_QUEUE_CHECK,
        pairs <= max_pairs,
        f"{pairs:,} pairs wait for a steward (at most {max_pairs:,})",
        pairs=pairs,
        max_review_queue=max_pairs,
        per_reason=reasons,
    )


def check_id_churn(con: duckdb.DuckDBPyConnection, run_id: str, max_share: float) -> CheckOutcome:
    """Warn: of the records current before ``run_id`` and after it, the share that changed ID.

    The state before the run is read from the xref history: the rows valid just before the
    moment this run opened its rows.
    """
    moment = con.execute(
        "SELECT min(valid_from) FROM master.customer_xref WHERE run_id = ?", [run_id]
    ).fetchall()[0][0]
    if moment is None:  # this run opened no row: nothing moved
        kept = con.sql(
            "SELECT count(*) FROM master.customer_xref WHERE valid_to IS NULL"
        ).fetchall()[0][0]
        changed, examples = 0, []
    else:
        # a record current before the run and after it either kept its row (opened before
        # the run, still open: same customer) or had it closed by the run and a new one
        # opened: only those few are joined. Joining every record's row before and after
        # cost more on a delta than on a first sync (where no row was current before)
        unchanged = con.execute(
            """SELECT count(*) FROM master.customer_xref
               WHERE valid_to IS NULL AND valid_from < $moment""",
            {"moment": moment},
        ).fetchall()[0][0]
        compared = """
            WITH before AS (
                SELECT record_key, customer_id FROM master.customer_xref
                WHERE valid_from < $moment AND valid_to >= $moment
            ),
            after AS (
                SELECT record_key, customer_id FROM master.customer_xref
                WHERE valid_to IS NULL AND valid_from >= $moment
            )
            SELECT b.record_key, b.customer_id AS before, a.customer_id AS after
            FROM before b JOIN after a USING (record_key)
        """
        moved, changed = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE before <> after) FROM ({compared})",
            {"moment": moment},
        ).fetchall()[0]
        kept = unchanged + moved
        examples = con.execute(
            f"SELECT record_key, before, after FROM ({compared}) WHERE before <> after "
            "ORDER BY record_key LIMIT 10",
            {"moment": moment},
        ).fetchall()
    share = changed / kept if kept else 0.0
    return outcome_from_metric(
        ID_CHURN_CHECK,
        share <= max_share,
        f"{changed:,} of {kept:,} records ({share:.1%}) changed customer_id in this run "
        f"(at most {max_share:.0%})",
        records_compared=kept,
        records_changed=changed,
        churn_share=round(share, 4),
        max_id_churn_share=max_share,
        examples=[{"record_key": k, "before": b, "after": a} for k, b, a in examples],
    )

"""The clustering a sync leaves in the warehouse, and reading it back for the next sync.

``matching.clusters``, ``matching.cut_links`` and ``matching.decision_conflicts`` are what
the business reads; ``matching.cluster_inputs`` (every link and ``no_match`` decision the
clusters were solved from, per entity type) is what lets the next incremental sync
re-cluster only where those inputs changed (``matching.linkage.reclustering``).
"""

from __future__ import annotations

import duckdb

from matching.linkage.clustering import Resolution
from warehouse.store import replace_table, table_exists

TABLES = {
    "clusters": "clusters",
    "cut_links": "cut_links",
    "conflicts": "decision_conflicts",
    "inputs": "cluster_inputs",
}


def save_resolution(con: duckdb.DuckDBPyConnection, resolution: Resolution) -> None:
    """Replace the clustering tables with ``resolution``'s."""
    for part, table in TABLES.items():
        replace_table(con, "matching", table, getattr(resolution, part))


def load_resolution(con: duckdb.DuckDBPyConnection) -> Resolution | None:
    """The last sync's clustering; None when a table is missing (a warehouse clustered by an
    older version: the next clustering is a full one)."""
    if not all(table_exists(con, "matching", table) for table in TABLES.values()):
        return None
    frames = {part: con.sql(f"FROM matching.{table}").df() for part, table in TABLES.items()}
    return Resolution(unknown_decision_records=[], **frames)

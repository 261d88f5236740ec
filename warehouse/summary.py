"""A person-readable summary of what the warehouse holds after a run."""

from __future__ import annotations

from dataclasses import dataclass

from sources.config import PipelineConfig
from warehouse.marts import MART_TABLES
from warehouse.store import connect, count_rows, table_exists
from warehouse.views import MODELS_IN_USE


@dataclass
class WarehouseSummary:
    """Per-source row accounting, top quarantine reasons and where the outputs are."""

    warehouse_path: str
    per_source: list[tuple[str, int, int, int]]
    quarantine_reasons: list[tuple[str, int]]
    staged_total: int
    matching: dict[str, object] | None = None
    master: dict[str, object] | None = None
    marts: dict[str, int] | None = None

    def render(self) -> str:
        lines = ["", "source               received    staged  quarantined"]
        for source, received, staged, quarantined in self.per_source:
            lines.append(f"{source:<20} {received:>8,} {staged:>9,} {quarantined:>12,}")
        lines.append(f"staged records incl. contact persons: {self.staged_total:,}")
        if self.quarantine_reasons:
            lines.append("quarantine reasons:")
            lines += [f"  {n:>6,}  {reason}" for reason, n in self.quarantine_reasons]
        if self.matching:
            m = self.matching
            lines.append(
                f"matching: {m['models']}; {m['pairs']:,} scored pairs; {m['clusters']:,} clusters "
                f"from {m['records']:,} records (largest {m['largest']}, {m['needs_review']:,} records flagged)"
            )
            lines.append(f"review queue: {m['review_queue']:,} pairs → {m['review_csv']}")
        if self.master:
            lines.append(
                "master: {customers:,} golden customers; ID events (all runs) {events}; "
                "relationships {relationships}; roles {roles}".format(**self.master)
            )
        if self.marts:
            lines.append(
                "marts: " + ", ".join(f"{table} {rows:,}" for table, rows in self.marts.items())
            )
        lines.append(f"warehouse: {self.warehouse_path}")
        lines.append(
            "  query it: python -c \"import duckdb; print(duckdb.connect('"
            + self.warehouse_path
            + "', read_only=True).sql('FROM staging.customers LIMIT 5'))\""
        )
        return "\n".join(lines)


def summarise_warehouse(config: PipelineConfig) -> WarehouseSummary:
    with connect(config.warehouse_path, read_only=True) as con:
        from quality.reconciliation import reconcile_sources

        have_staging = table_exists(con, "staging", "customers") and table_exists(
            con, "staging", "quarantine"
        )
        names = [s.name for s in config.sources if table_exists(con, "raw", s.name)]
        per_source = (
            [
                (r.source, r.received, r.staged, r.quarantined)
                for r in reconcile_sources(con, names).itertuples()
            ]
            if have_staging
            else []
        )
        reasons = quarantine_reasons(con) if have_staging else []
        staged_total = (
            con.execute("SELECT count(*) FROM staging.customers").fetchall()[0][0]
            if have_staging
            else 0
        )
        matching = (
            _matching_summary(con, config) if table_exists(con, "matching", "clusters") else None
        )
        master = _master_summary(con) if table_exists(con, "master", "customers") else None
        marts = {
            table: count_rows(con, "marts", table)
            for table in MART_TABLES
            if table_exists(con, "marts", table)
        }
    return WarehouseSummary(
        str(config.warehouse_path), per_source, reasons, staged_total, matching, master, marts
    )


def quarantine_reasons(con, limit: int = 8) -> list[tuple[str, int]]:
    """The most frequent reasons rows were quarantined (quoted values folded to '…'), most first."""
    return con.execute(
        """SELECT regexp_replace(reason, '''.*''', '''…''') AS reason, count(*) AS n
           FROM staging.quarantine GROUP BY 1 ORDER BY n DESC, reason LIMIT ?""",
        [limit],
    ).fetchall()


def _master_summary(con) -> dict[str, object]:
    def counts(table: str, column: str) -> str:
        if not table_exists(con, "master", table):
            return "-"
        rows = con.execute(
            f"SELECT {column}, count(*) FROM master.{table} GROUP BY 1 ORDER BY 1"
        ).fetchall()
        return ", ".join(f"{k} {n:,}" for k, n in rows) or "none"

    return {
        "customers": con.execute("SELECT count(*) FROM master.customers").fetchall()[0][0],
        "events": counts("customer_id_events", "event"),
        "relationships": counts("relationships", "relationship_type"),
        "roles": counts("customer_roles", "role"),
    }


def _matching_summary(con, config: PipelineConfig) -> dict[str, object]:
    records, clusters, largest, flagged = con.execute(
        "SELECT count(*), count(DISTINCT cluster_id), coalesce(max(cluster_size), 0), "
        "count(*) FILTER (WHERE needs_review) FROM matching.clusters"
    ).fetchall()[0]
    models = con.execute(
        "SELECT string_agg(model || CASE WHEN trained THEN ' (trained)' ELSE ' (saved)' END, ', ' ORDER BY model) "
        f"FROM {MODELS_IN_USE}"
    ).fetchall()[0][0]
    return {
        "records": records,
        "clusters": clusters,
        "largest": largest,
        "needs_review": flagged,
        "models": models or "no models",
        "pairs": con.execute("SELECT count(*) FROM matching.pairs").fetchall()[0][0],
        "review_queue": con.execute("SELECT count(*) FROM matching.review_queue").fetchall()[0][0],
        "review_csv": str(config.output_path / "review" / "review_queue.csv"),
    }

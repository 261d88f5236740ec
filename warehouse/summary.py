"""A person-readable summary of what the warehouse holds after a run."""

from __future__ import annotations

from dataclasses import dataclass

from sources.config import PipelineConfig
from warehouse.store import connect, table_exists


@dataclass
class WarehouseSummary:
    """Per-source row accounting, top quarantine reasons and where the outputs are."""

    warehouse_path: str
    per_source: list[tuple[str, int, int, int]]
    quarantine_reasons: list[tuple[str, int]]
    staged_total: int

    def render(self) -> str:
        lines = ["", "source               received    staged  quarantined"]
        for source, received, staged, quarantined in self.per_source:
            lines.append(f"{source:<20} {received:>8,} {staged:>9,} {quarantined:>12,}")
        lines.append(f"staged records incl. contact persons: {self.staged_total:,}")
        if self.quarantine_reasons:
            lines.append("quarantine reasons:")
            lines += [f"  {n:>6,}  {reason}" for reason, n in self.quarantine_reasons]
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

        have_staging = table_exists(con, "staging", "customers") and table_exists(con, "staging", "quarantine")
        names = [s.name for s in config.sources if table_exists(con, "raw", s.name)]
        per_source = (
            [(r.source, r.received, r.staged, r.quarantined) for r in reconcile_sources(con, names).itertuples()]
            if have_staging
            else []
        )
        reasons = (
            con.execute(
                """SELECT regexp_replace(reason, '''.*''', '''…''') AS reason, count(*) AS n
                   FROM staging.quarantine GROUP BY 1 ORDER BY n DESC LIMIT 8"""
            ).fetchall()
            if have_staging
            else []
        )
        staged_total = con.execute("SELECT count(*) FROM staging.customers").fetchall()[0][0] if have_staging else 0
    return WarehouseSummary(str(config.warehouse_path), per_source, reasons, staged_total)

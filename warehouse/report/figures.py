"""The figures of one sync, read from the warehouse: sources, matching, value and lifecycle.

Plain lists of dicts, so that they are stored as JSON beside the page (the next reports
draw the last syncs from them) and drawn as charts. Every count comes from the query
other layers already use: per-file accounting from ``quality.reconciliation``, quarantine
reasons from ``warehouse.summary``, the models in use from ``warehouse.views``.
"""

from __future__ import annotations

from typing import Any

import duckdb

from quality.reconciliation import reconcile_files
from sources.activity_schema import KINDS
from sources.config import PipelineConfig
from sources.raw_files import files_table_name
from warehouse.store import table_exists
from warehouse.summary import quarantine_reasons
from warehouse.views import MODELS_IN_USE

#: The Pareto curve is drawn through at most this many points (the customers ranked by revenue).
PARETO_POINTS = 200

Rows = list[dict[str, Any]]

#: The tables ``matching_figures`` reads.
MATCHING_TABLES = (
    "matching.pairs",
    "matching.clusters",
    "matching.review_queue",
    "matching.models",
)
#: The tables ``standing_value_figures`` reads.
VALUE_TABLES = ("marts.customer_value", "marts.customer_lifecycle", "marts.followup_today")


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> Rows:
    frame = con.execute(sql, params or []).df()
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


def _feeds(config: PipelineConfig) -> list[tuple[str, str | None]]:
    """Each feed of ``config`` with its activity table (None: a customer source)."""
    feeds: list[tuple[str, str | None]] = [(s.name, None) for s in config.sources]
    return feeds + [(f.name, kind.table) for kind in KINDS for f in kind.feeds(config)]


def source_tables(config: PipelineConfig) -> list[str]:
    """The tables ``source_figures`` reads for ``config``'s feeds."""
    tables = ["staging.customers", "staging.quarantine"]
    tables += [
        t for kind in KINDS for t in (f"staging.{kind.table}", f"staging.{kind.quarantine_table}")
    ]
    for feed, _ in _feeds(config):
        tables += [f"raw.{feed}", f"raw.{feed}__rejected", f"raw.{files_table_name(feed)}"]
    return tables


def source_figures(con: duckdb.DuckDBPyConnection, config: PipelineConfig) -> dict[str, Any]:
    """Rows received, staged and quarantined per feed and file; the top quarantine reasons."""
    files: Rows = []
    for feed, table in _feeds(config):
        if not table_exists(con, "raw", feed):
            continue
        for row in reconcile_files(con, feed, table).to_dict(orient="records"):
            files.append({"feed": feed, "kind": table or "customers", **row})
    reasons = (
        [{"reason": r, "rows": n} for r, n in quarantine_reasons(con)]
        if table_exists(con, "staging", "quarantine")
        else []
    )
    return {"files": files, "quarantine_reasons": reasons}


def matching_figures(con: duckdb.DuckDBPyConnection, lower: float, upper: float) -> dict[str, Any]:
    """Pairs per probability band, cluster sizes, the review queue, pairs per record, models."""
    if not table_exists(con, "matching", "clusters"):
        return {}
    bands = _rows(
        con,
        """SELECT entity_type,
                  least(floor(match_probability * 10) / 10, 0.9) AS band_from,
                  count(*) AS pairs,
                  bool_and(match_probability >= ?) AS linked
           FROM matching.pairs GROUP BY ALL ORDER BY entity_type, band_from""",
        [upper],
    )
    sizes = _rows(
        con,
        """SELECT entity_type, cluster_size, count(DISTINCT cluster_id) AS clusters
           FROM matching.clusters GROUP BY ALL ORDER BY entity_type, cluster_size""",
    )
    queue = _rows(
        con, "SELECT reason, count(*) AS pairs FROM matching.review_queue GROUP BY 1 ORDER BY 1"
    )
    per_record = _rows(
        con,
        # pairs counted per record end first, then joined: one join of the records with
        # their counts, not with every pair end (at 100k 0.035 s of CPU instead of 0.05)
        """WITH per_record AS (
               SELECT record_key, count(*) AS n FROM (
                   SELECT record_key_l AS record_key FROM matching.pairs
                   UNION ALL SELECT record_key_r FROM matching.pairs) GROUP BY ALL)
           SELECT c.entity_type, least(coalesce(p.n, 0), 10) AS pairs, count(*) AS records
           FROM matching.clusters c LEFT JOIN per_record p USING (record_key)
           GROUP BY ALL ORDER BY entity_type, pairs""",
    )
    models = _rows(con, f"SELECT entity_type, model, trained, records FROM {MODELS_IN_USE}")
    return {
        "lower_threshold": lower,
        "upper_threshold": upper,
        "pair_bands": bands,
        "cluster_sizes": sizes,
        "review_queue": queue,
        "pairs_per_record": per_record,
        "models": models,
    }


def standing_value_figures(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The value figures that follow from the marts alone (``VALUE_TABLES``), not from which
    sync this is: the ABC Pareto curve, revenue by value tier, lifecycle stages, today's
    follow-ups by reason (``with_transitions`` adds this sync's lifecycle transitions)."""
    figures: dict[str, Any] = {}
    if table_exists(con, "marts", "customer_value"):
        figures["pareto"] = _rows(
            con,
            """WITH ranked AS (
                   SELECT row_number() OVER (ORDER BY revenue DESC, customer_id) AS rank,
                          count(*) OVER () AS buyers, cumulative_share, abc_class
                   FROM marts.customer_value WHERE revenue > 0)
               SELECT rank / buyers AS customer_share, cumulative_share, abc_class FROM ranked
               WHERE rank % greatest(1, buyers // ?) = 0 OR rank = buyers OR rank = 1
               ORDER BY rank""",
            [PARETO_POINTS],
        )
        figures["value_tiers"] = _rows(
            con,
            """SELECT value_tier, count(*) AS customers, sum(revenue)::DOUBLE AS revenue
               FROM marts.customer_value GROUP BY 1 ORDER BY revenue DESC, value_tier""",
        )
    if table_exists(con, "marts", "customer_lifecycle"):
        figures["lifecycle"] = _rows(
            con,
            "SELECT stage, count(*) AS customers FROM marts.customer_lifecycle GROUP BY 1",
        )
    if table_exists(con, "marts", "followup_today"):
        figures["followups"] = _rows(
            con,
            "SELECT reason, count(*) AS customers FROM marts.followup_today GROUP BY 1 ORDER BY 2 DESC, 1",
        )
    return figures


def with_transitions(
    standing: dict[str, Any], con: duckdb.DuckDBPyConnection, run_id: str
) -> dict[str, Any]:
    """``standing`` (``standing_value_figures``) with the lifecycle transitions of ``run_id``
    in their place, after the stages."""
    figures = {k: v for k, v in standing.items() if k != "followups"}
    if table_exists(con, "marts", "lifecycle_history"):
        figures["transitions"] = _rows(
            con,
            """SELECT coalesce(previous_stage, '(none)') AS previous_stage, stage,
                      count(*) AS customers
               FROM marts.lifecycle_history WHERE run_id = ?
               GROUP BY ALL ORDER BY customers DESC, previous_stage, stage""",
            [run_id],
        )
    if "followups" in standing:
        figures["followups"] = standing["followups"]
    return figures

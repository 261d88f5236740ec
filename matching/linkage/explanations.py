"""Explanations a person can open: why the model links what it links.

For each entity type, three self-contained HTML files (their JavaScript is inlined, so
they open with no network):

- ``match_weights_<type>.html``: how much each comparison level adds to or takes from the
  evidence that two records are one customer (Splink's match-weights chart);
- ``comparison_viewer_<type>.html``: every pattern of comparison levels the scored pairs
  show, with example pairs (Splink's comparison viewer);
- ``cluster_studio_<type>.html``: the largest clusters of the run drawn as graphs of
  records and links (Splink's cluster studio), so a steward sees which links hold a
  cluster together.

The dashboards cover a sample (whole clusters, largest first, up to ``max_records``
records), so that they stay quick to write and to open at a million records.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
from pathlib import Path
from typing import Any

import pandas as pd
from splink import Linker

from matching.linkage.backend import splink_database
from matching.linkage.features import prepare_records
from matching.linkage.junk import JunkRules

logger = logging.getLogger(__name__)

DEFAULT_MAX_RECORDS = 3000
CLUSTERS_SHOWN = 20


def sample_clusters(clusters: pd.DataFrame, max_records: int) -> pd.DataFrame:
    """Whole clusters, largest first (ties by id), until ``max_records`` records are taken."""
    sizes = clusters.groupby("cluster_id").size().sort_values(ascending=False, kind="stable")
    taken = sizes.index[sizes.cumsum() <= max_records]
    return clusters[clusters["cluster_id"].isin(taken)]


def write_reports(
    records: pd.DataFrame,
    clusters: pd.DataFrame,
    model: dict[str, Any],
    entity_type: str,
    out_dir: Path,
    threshold: float,
    junk: JunkRules | None = None,
    max_records: int = DEFAULT_MAX_RECORDS,
) -> list[Path]:
    """Write the three HTML explanations for one entity type; return their paths.

    Args:
        records: staged records of this entity type.
        clusters: ``record_key``, ``cluster_id`` of these records (after steward decisions).
        model: the trained model the run predicted with.
        threshold: the linking threshold (pairs below it are drawn as weak links).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    sample = sample_clusters(clusters[["record_key", "cluster_id"]], max_records)
    chosen = records[records["record_key"].isin(sample["record_key"])]
    prepared = prepare_records(chosen, entity_type, junk)
    settings = {
        **model,
        "retain_intermediate_calculation_columns": True,
        "retain_matching_columns": True,
    }
    paths = [
        out_dir / f"{name}_{entity_type}.html"
        for name in ("match_weights", "comparison_viewer", "cluster_studio")
    ]
    with splink_database() as db_api:
        sdf = db_api.register(prepared.table, dataset_display_name=f"{entity_type}_sample")
        linker = Linker(sdf, settings, log_level=None)
        with contextlib.redirect_stdout(io.StringIO()):  # Splink prints a Jupyter hint
            chart = linker.visualisations.match_weights_chart()
            chart.save_offline_chart(str(paths[0]), overwrite=True)
        scored = linker.inference.predict(threshold_match_probability=min(threshold, 0.5))
        linker.visualisations.comparison_viewer_dashboard(scored, str(paths[1]), overwrite=True)
        keyed = prepared.records.merge(sample, on="record_key")
        clustered = db_api.register(keyed, dataset_display_name=f"{entity_type}_clusters")
        largest = list(
            sample.groupby("cluster_id")
            .size()
            .sort_values(ascending=False, kind="stable")
            .index[:CLUSTERS_SHOWN]
        )
        linker.visualisations.cluster_studio_dashboard(
            scored, clustered, str(paths[2]), cluster_ids=largest, overwrite=True
        )
    for path in paths:
        _drop_web_fonts(path)
    logger.info(
        "%s: explanations written to %s (%d sampled records)", entity_type, out_dir, len(chosen)
    )
    return paths


_WEB_FONT_LINK = re.compile(r"<link[^>]*(?:fonts\.googleapis\.com|fonts\.gstatic\.com)[^>]*>\s*")


def _drop_web_fonts(path: Path) -> None:
    """Remove the dashboards' web-font links: the files must open without any network."""
    html = path.read_text(encoding="utf-8")
    path.write_text(_WEB_FONT_LINK.sub("", html), encoding="utf-8")

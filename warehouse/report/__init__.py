"""The sync report: one offline HTML page per sync saying what came in, what the checks
found, what matching made of it, what changed in the master and why, and what it means for
value and lifecycle. ``write_sync_report`` is the one entry point; inside, one module per job:
``figures`` (counts from the warehouse), ``check_results`` (the run's quality results),
``changes`` (ID events with their evidence, golden values that changed), ``history`` (what
a report keeps for the next), ``kept_figures`` (figures over tables the sync left as they
were, taken from the last report), ``charts`` (Vega-Lite drawn to SVG), ``page`` (the sections) on
``markup`` (tables, cells, the style sheet).
"""

from warehouse.report.build import LATEST, SyncReport, report_folder, write_sync_report

__all__ = ["LATEST", "SyncReport", "report_folder", "write_sync_report"]

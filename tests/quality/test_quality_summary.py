"""The run's quality summary: every planned check, with its verdict, worst first."""

import dagster as dg

from pipelines.quality_summary import check_statuses, render_checks

RAW = dg.AssetKey(["raw", "dealers"])
STAGED = dg.AssetKey(["staging", "customers"])


def evaluation(key, name, passed, severity=dg.AssetCheckSeverity.ERROR, description=None):
    return dg.AssetCheckEvaluation(
        asset_key=key, check_name=name, passed=passed, severity=severity, description=description
    )


def test_checks_are_passed_warned_failed_or_skipped_worst_first():
    planned = {
        dg.AssetCheckKey(STAGED, "valid_phone_share"),
        dg.AssetCheckKey(STAGED, "rows_reconcile"),
        dg.AssetCheckKey(RAW, "rows_vs_previous_run"),
        dg.AssetCheckKey(RAW, "source_record_id_unique"),
    }
    evaluations = [
        evaluation(STAGED, "valid_phone_share", False, dg.AssetCheckSeverity.WARN, "3 of 4 …"),
        evaluation(RAW, "rows_vs_previous_run", True),
        evaluation(RAW, "source_record_id_unique", False, description="2 of 140 …"),
    ]
    statuses = check_statuses(planned, evaluations)
    assert [(s.label, s.status) for s in statuses] == [
        ("raw/dealers · source_record_id_unique", "failed"),
        ("staging/customers · valid_phone_share", "warned"),
        ("staging/customers · rows_reconcile", "skipped"),
        ("raw/dealers · rows_vs_previous_run", "passed"),
    ]
    rendered = render_checks(statuses, None)
    assert "quality: 4 checks: 1 passed, 1 warned, 1 failed, 1 skipped" in rendered
    assert "  failed   raw/dealers · source_record_id_unique: 2 of 140 …" in rendered

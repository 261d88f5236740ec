"""From a plain quality verdict to a Dagster asset-check result, with its JSON kept per run."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import dagster as dg

from quality.results import CheckDef, CheckOutcome
from warehouse.files import write_json_atomically

SEVERITY = {"error": dg.AssetCheckSeverity.ERROR, "warn": dg.AssetCheckSeverity.WARN}


def check_specs(asset_key: dg.AssetKey, checks: Sequence[CheckDef]) -> list[dg.AssetCheckSpec]:
    """Specs of ``checks`` on ``asset_key``: blocking exactly when their severity is error."""
    return [
        dg.AssetCheckSpec(c.name, asset=asset_key, blocking=c.blocking, description=c.description)
        for c in checks
    ]


def result_path(output_dir: Path, run_id: str, asset_key: dg.AssetKey, check: str) -> Path:
    """``<output_dir>/quality/<run_id>/<schema>.<table>.<check>.json``."""
    return output_dir / "quality" / run_id / f"{'.'.join(asset_key.path)}.{check}.json"


def check_result(
    outcome: CheckOutcome, asset_key: dg.AssetKey | None = None, stored: Path | None = None
) -> dg.AssetCheckResult:
    """A plain quality verdict as a Dagster check result, with its severity and metadata."""
    metadata: dict[str, Any] = {
        k: dg.MetadataValue.json(v) if isinstance(v, list | dict) else v
        for k, v in outcome.metadata.items()
        if v is not None
    }
    if stored is not None:
        metadata["result_json"] = dg.MetadataValue.path(str(stored))
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=outcome.name if asset_key is not None else None,
        passed=outcome.passed,
        severity=SEVERITY[outcome.severity],
        description=outcome.description,
        metadata=metadata,
    )


def stored_results(
    outcomes: Iterable[CheckOutcome], asset_key: dg.AssetKey, run_id: str, output_dir: Path
) -> Iterator[dg.AssetCheckResult]:
    """Write each outcome's full record as JSON for the run, and yield its check result."""
    for outcome in outcomes:
        path = write_json_atomically(
            result_path(output_dir, run_id, asset_key, outcome.name),
            {"run_id": run_id, "asset": asset_key.to_user_string(), **outcome.as_record()},
        )
        yield check_result(outcome, asset_key, path)

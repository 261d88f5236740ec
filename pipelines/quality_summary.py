"""The quality summary that ends ``custmaster run``: every check of the run and its verdict.

A check is ``passed``, ``warned`` (failed at WARN severity: a rate to look at), ``failed``
(failed at ERROR severity: it blocked what follows) or ``skipped`` (it never ran, because
a blocking check or a failed step upstream stopped the run first). The summary is also
written to ``<output_dir>/quality/<run_id>/summary.json`` beside each check's own result.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import dagster as dg

from warehouse.files import write_json_atomically

STATUS_ORDER = ("failed", "warned", "skipped", "passed")
LAYER_ORDER = ("raw", "staging", "matching", "master", "marts")


@dataclass(frozen=True)
class CheckStatus:
    """One check in one run."""

    asset: str
    check: str
    status: str  # passed / warned / failed / skipped
    description: str = ""

    @property
    def label(self) -> str:
        return f"{self.asset} · {self.check}"


def check_statuses(
    planned: set[dg.AssetCheckKey], evaluations: list[dg.AssetCheckEvaluation]
) -> list[CheckStatus]:
    """Every planned check with its verdict: failed, warned, skipped, passed; each in layer order."""
    seen: dict[dg.AssetCheckKey, CheckStatus] = {}
    for evaluation in evaluations:
        key = dg.AssetCheckKey(evaluation.asset_key, evaluation.check_name)
        if evaluation.passed:
            status = "passed"
        elif evaluation.severity == dg.AssetCheckSeverity.ERROR:
            status = "failed"
        else:
            status = "warned"
        seen[key] = CheckStatus(
            evaluation.asset_key.to_user_string(),
            evaluation.check_name,
            status,
            evaluation.description or "",
        )
    for key in planned - set(seen):
        seen[key] = CheckStatus(key.asset_key.to_user_string(), key.name, "skipped")
    return sorted(seen.values(), key=_order)


def _order(status: CheckStatus) -> tuple[int, int, str, str]:
    layer = status.asset.split("/")[0]
    position = LAYER_ORDER.index(layer) if layer in LAYER_ORDER else len(LAYER_ORDER)
    return (STATUS_ORDER.index(status.status), position, status.asset, status.check)


def render_checks(checks: list[CheckStatus], folder: Path | None) -> str:
    """The summary block for a person: counts, then one line per check."""
    counts = Counter(c.status for c in checks)
    head = ", ".join(f"{counts[s]} {s}" for s in ("passed", "warned", "failed", "skipped"))
    lines = ["", f"quality: {len(checks)} checks: {head}"]
    for c in checks:
        line = f"  {c.status:<8} {c.label}"
        if c.status in ("failed", "warned") and c.description:
            line += f": {c.description}"
        lines.append(line)
    if folder is not None:
        lines.append(f"  results: {folder}")
    return "\n".join(lines)


def write_summary(folder: Path, run_id: str, checks: list[CheckStatus]) -> Path:
    return write_json_atomically(
        folder / "summary.json", {"run_id": run_id, "checks": [asdict(c) for c in checks]}
    )

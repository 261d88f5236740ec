"""Plain check results that the Dagster layer turns into asset-check results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warn"]
#: A broken invariant that would corrupt what follows: downstream assets must not run.
ERROR: Severity = "error"
#: A rate worth a look: reported, never blocking.
WARN: Severity = "warn"


@dataclass(frozen=True)
class CheckDef:
    """What a check guards and how seriously: its name (unique per asset), severity and meaning."""

    name: str
    severity: Severity
    description: str

    @property
    def blocking(self) -> bool:
        return self.severity == ERROR


@dataclass(frozen=True)
class CheckOutcome:
    """The verdict of one quality check, with what a person needs to see why.

    Attributes:
        name: the check's name.
        passed: the verdict.
        description: one line for a person: what was found.
        metadata: small values shown on the check (counts, shares, examples).
        severity: ``error`` (blocking) or ``warn``.
        details: the full record of the check (e.g. Great Expectations' validation result),
            JSON-serialisable, stored per run.
    """

    name: str
    passed: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)
    severity: Severity = ERROR
    details: dict[str, Any] = field(default_factory=dict)

    def as_record(self) -> dict[str, Any]:
        """Everything about the outcome, for the per-run JSON file."""
        return {
            "check": self.name,
            "passed": self.passed,
            "severity": self.severity,
            "description": self.description,
            "metadata": self.metadata,
            "details": self.details,
        }


def outcome_from_metric(
    check: CheckDef, passed: bool, description: str, **metadata: Any
) -> CheckOutcome:
    """An outcome for a check computed without Great Expectations (SQL metrics)."""
    return CheckOutcome(
        name=check.name,
        passed=passed,
        description=description,
        metadata=metadata,
        severity=check.severity,
        details={"metrics": metadata},
    )

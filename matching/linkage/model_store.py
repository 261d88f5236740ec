"""Versioned model files: what the nightly run predicts with, and how each version was trained.

Each entity type has its own folder under the deployment's model directory::

    models/company/v0001.json           the Splink model (settings with m and u probabilities)
    models/company/v0001.summary.json   when, on how many records, how long, with which limits

A new training writes the next version and never overwrites an old one, so a prediction
can always be traced to the model that made it and a bad retraining can be rolled back by
deleting the newest file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matching.linkage.training import load_model, save_model
from warehouse.files import write_json_atomically

_VERSION_FILE = re.compile(r"^v(\d{4,})\.json$")


@dataclass(frozen=True)
class ModelVersion:
    """One saved model of one entity type."""

    entity_type: str
    version: int
    path: Path

    @property
    def name(self) -> str:
        return f"{self.entity_type}/v{self.version:04d}"

    @property
    def summary_path(self) -> Path:
        return self.path.with_suffix(".summary.json")

    def load(self) -> dict[str, Any]:
        return load_model(self.path)

    def summary(self) -> dict[str, Any]:
        if not self.summary_path.exists():
            return {}
        return json.loads(self.summary_path.read_text(encoding="utf-8"))


def latest_version(model_dir: Path, entity_type: str) -> ModelVersion | None:
    """The newest saved model of ``entity_type``, or None when none was trained yet."""
    folder = Path(model_dir) / entity_type
    if not folder.is_dir():
        return None
    versions = [int(m.group(1)) for p in folder.iterdir() if (m := _VERSION_FILE.match(p.name))]
    if not versions:
        return None
    version = max(versions)
    return ModelVersion(entity_type, version, folder / f"v{version:04d}.json")


def save_new_version(
    model_dir: Path, entity_type: str, model: dict[str, Any], summary: dict[str, Any]
) -> ModelVersion:
    """Save ``model`` as the next version of ``entity_type`` with its training summary."""
    previous = latest_version(model_dir, entity_type)
    number = previous.version + 1 if previous else 1
    version = ModelVersion(
        entity_type, number, Path(model_dir) / entity_type / f"v{number:04d}.json"
    )
    version.path.parent.mkdir(parents=True, exist_ok=True)
    save_model(model, version.path)
    write_json_atomically(version.summary_path, {"model": version.name, **summary})
    return version


def parameter_summary(model: dict[str, Any]) -> dict[str, Any]:
    """The trained parameters a person checks: the prior and m / u of every comparison level."""
    return {
        "probability_two_random_records_match": model.get("probability_two_random_records_match"),
        "comparisons": {
            c["output_column_name"]: [
                {
                    "level": level.get("label_for_charts"),
                    "m_probability": level.get("m_probability"),
                    "u_probability": level.get("u_probability"),
                }
                for level in c["comparison_levels"]
                if not level.get("is_null_level")
            ]
            for c in model["comparisons"]
        },
    }

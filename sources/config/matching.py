"""The ``matching:`` and ``survivorship:`` sections: how records are linked into customers
and how the golden record picks each attribute's value.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sources.config.base import Strict
from sources.schema import SurvivorshipRule

__all__ = ["JunkConfig", "MatchingConfig", "SurvivorshipRule"]


class JunkConfig(Strict):
    """Values too common to identify anyone (a hotline, 00000000) never create candidate pairs."""

    max_records_per_value: int = Field(
        default=25, ge=2, description="an identifier on more records is junk"
    )
    max_block_size: int = Field(
        default=50, ge=2, description="a blocking key on more records is dropped"
    )


class MatchingConfig(Strict):
    """Record linkage: thresholds, cluster-size limit, steward decisions, model files."""

    backend: Literal["duckdb", "spark"] = Field(
        default="duckdb",
        description="where Splink trains, predicts and clusters: duckdb (this machine) or "
        "spark (Splink's SparkAPI on the cluster of the spark: section)",
    )
    upper_threshold: float = Field(default=0.9, gt=0, le=1, description="pairs at or above link")
    lower_threshold: float = Field(
        default=0.5, gt=0, le=1, description="pairs from here to upper go to review"
    )
    max_cluster_size: int = Field(
        default=50, ge=2, description="bigger clusters are split, flagged, reviewed"
    )
    decisions: str = Field(
        default="steward_decisions.csv", description="steward decisions file, relative to this file"
    )
    model_dir: str = Field(
        default="models", description="versioned model files, relative to output_dir"
    )
    junk: JunkConfig = JunkConfig()

    @model_validator(mode="after")
    def _band(self) -> MatchingConfig:
        if self.lower_threshold > self.upper_threshold:
            raise ValueError(
                f"lower_threshold ({self.lower_threshold}) must not exceed upper_threshold ({self.upper_threshold})"
            )
        return self

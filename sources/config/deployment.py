"""A whole deployment: every section of the config file together, and its paths."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator

from sources.config.access import AccessConfig
from sources.config.base import Strict, check_keys_and_values
from sources.config.feeds import (
    ActivityFeed,
    InteractionFeed,
    OrderFeed,
    ReceivableFeed,
    SourceConfig,
    StagingConfig,
)
from sources.config.marts import MartsConfig
from sources.config.matching import MatchingConfig, SurvivorshipRule
from sources.config.publish import PublishConfig
from sources.config.quality import QualityConfig
from sources.config.schedule import ScheduleConfig, SensorConfig, SyncConfig
from sources.config.serve import ServeConfig
from sources.config.spark import SparkConfig
from sources.schema import GOLDEN_ATTRIBUTE_GROUPS


class PipelineConfig(Strict):
    """A whole deployment. Relative paths are resolved against the config file's folder."""

    output_dir: str = "out"
    warehouse: str = Field(
        default="warehouse.duckdb", description="DuckDB file, relative to output_dir"
    )
    sources: list[SourceConfig] = Field(min_length=1)
    orders: list[OrderFeed] = []
    interactions: list[InteractionFeed] = []
    receivables: list[ReceivableFeed] = []
    staging: StagingConfig = StagingConfig()
    matching: MatchingConfig = MatchingConfig()
    publish: PublishConfig = PublishConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    sensor: SensorConfig = SensorConfig()
    sync: SyncConfig = SyncConfig()
    quality: QualityConfig = QualityConfig()
    marts: MartsConfig = MartsConfig()
    serve: ServeConfig = ServeConfig()
    access: AccessConfig | None = Field(
        default=None,
        description="roles, their tokens and masking; absent: one audience, the service on 127.0.0.1 only",
    )
    spark: SparkConfig = SparkConfig()
    survivorship: dict[str, list[SurvivorshipRule]] = Field(
        default_factory=dict,
        description="golden attribute → rules in order; others keep their defaults",
    )

    #: folder of the config file; set by load_config, not by users
    base_dir: Path = Field(default=Path("."), exclude=True)

    @model_validator(mode="after")
    def _unique_and_linked(self) -> PipelineConfig:
        names = [s.name for s in [*self.sources, *self.activity_feeds()]]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"feed names must be unique; repeated: {', '.join(duplicated)}")
        customer_sources = {s.name for s in self.sources}
        for feed in self.activity_feeds():
            if feed.customer_source not in customer_sources:
                raise ValueError(
                    f"{feed.name}: customer_source '{feed.customer_source}' is not one of the sources "
                    f"({', '.join(sorted(customer_sources))})"
                )
        for role in self.access.roles if self.access else []:
            unknown = sorted(set((role.rows or {}).get("source", [])) - customer_sources)
            if unknown:
                raise ValueError(
                    f"access: role {role.name}: rows.source names no source: {', '.join(unknown)} "
                    f"(sources: {', '.join(sorted(customer_sources))})"
                )
        return self

    @field_validator("survivorship")
    @classmethod
    def _known_attributes(cls, rules: dict[str, list[str]]) -> dict[str, list[str]]:
        check_keys_and_values(
            rules,
            GOLDEN_ATTRIBUTE_GROUPS,
            prefix="",
            noun="golden attribute",
            empty="need at least one rule",
            empty_noun="attribute",
        )
        return rules

    def activity_feeds(self) -> list[ActivityFeed]:
        """Every feed about customers' activity: orders, interactions, receivables."""
        return [*self.orders, *self.interactions, *self.receivables]

    def source_trust(self) -> dict[str, int]:
        """Source name → trust, for the survivorship rule ``trust``."""
        return {s.name: s.trust for s in self.sources}

    def resolve(self, relative: str) -> Path:
        path = Path(relative)
        return path if path.is_absolute() else (self.base_dir / path).resolve()

    @property
    def output_path(self) -> Path:
        return self.resolve(self.output_dir)

    @property
    def warehouse_path(self) -> Path:
        path = Path(self.warehouse)
        return path if path.is_absolute() else self.output_path / path

    @property
    def exports_path(self) -> Path:
        """Folder of the published Parquet files and their manifest."""
        path = Path(self.publish.dir)
        return path if path.is_absolute() else self.output_path / path

    @property
    def serving_path(self) -> Path:
        """Folder of the published serving indexes (one per sync) and ``CURRENT.json``."""
        path = Path(self.serve.dir)
        return path if path.is_absolute() else self.output_path / path

    @property
    def role_exports_path(self) -> Path:
        """Folder of the role-scoped exports: one folder per role of ``access.roles``."""
        return self.exports_path / "roles"

    @property
    def tokens_path(self) -> Path | None:
        """The access tokens file (relative to the config file); None without ``access:``."""
        return self.resolve(self.access.tokens_file) if self.access else None

    @property
    def audit_path(self) -> Path | None:
        """Folder of the service's audit log; None without ``access:``."""
        if self.access is None:
            return None
        path = Path(self.access.audit_dir)
        return path if path.is_absolute() else self.output_path / path

    @property
    def decisions_path(self) -> Path:
        return self.resolve(self.matching.decisions)

    @property
    def spark_exchange_path(self) -> Path:
        """Folder of the Parquet files that carry records to Spark and results back."""
        path = Path(self.spark.exchange_dir)
        return path if path.is_absolute() else self.output_path / path

    @property
    def model_path(self) -> Path:
        path = Path(self.matching.model_dir)
        return path if path.is_absolute() else self.output_path / path

    def source(self, name: str) -> SourceConfig:
        return next(s for s in self.sources if s.name == name)

"""The deployment's contract: which exports exist, how their columns map onto the canonical
customer record, and how matching, quality gates, publishing, the schedule and the marts
are set.

Users write one YAML file per deployment; ``load_config`` validates it with pydantic and
turns every problem into a :class:`ConfigError` that names the file and the key path
(``sources[1] (dealers).columns.nmae``), so a typo is found before any data moves. One
module per section: ``feeds`` (customer sources, activity feeds, staging), ``matching``
(and survivorship), ``quality``, ``publish``, ``schedule`` (and sensor), ``marts``, ``serve``,
``access`` (roles, tokens, audit).
"""

from sources.config.access import SCOPE_COLUMNS, AccessConfig, RoleConfig
from sources.config.base import ColumnRef, ConfigError, Strict
from sources.config.deployment import PipelineConfig
from sources.config.feeds import (
    INTERACTION_FIELDS,
    ORDER_FIELDS,
    RECEIVABLE_FIELDS,
    ActivityFeed,
    EntityTypeFromColumn,
    FileSpec,
    InteractionFeed,
    OrderFeed,
    ReceivableFeed,
    SourceConfig,
    StagingConfig,
)
from sources.config.loading import load_config
from sources.config.marts import (
    AbcConfig,
    ComplaintFollowup,
    ConsumablesFollowup,
    CreditConfig,
    DormantCareFollowup,
    FollowupConfig,
    GrowthConfig,
    LifecycleConfig,
    MartsConfig,
    RfmConfig,
    RfmSegment,
    ServiceFollowup,
    ValueTier,
)
from sources.config.matching import JunkConfig, MatchingConfig, SurvivorshipRule
from sources.config.publish import DEFAULT_PUBLISHED_TABLES, PublishConfig
from sources.config.quality import QualityConfig
from sources.config.sales import (
    ForecastConfig,
    NextOrderConfig,
    SatisfactionConfig,
    SatisfactionDropFollowup,
)
from sources.config.schedule import ScheduleConfig, SensorConfig, SyncConfig
from sources.config.serve import ServeConfig

__all__ = [
    "SCOPE_COLUMNS",
    "AccessConfig",
    "RoleConfig",
    "DEFAULT_PUBLISHED_TABLES",
    "INTERACTION_FIELDS",
    "ORDER_FIELDS",
    "RECEIVABLE_FIELDS",
    "AbcConfig",
    "ActivityFeed",
    "ColumnRef",
    "ComplaintFollowup",
    "ConfigError",
    "ConsumablesFollowup",
    "CreditConfig",
    "DormantCareFollowup",
    "EntityTypeFromColumn",
    "FileSpec",
    "FollowupConfig",
    "ForecastConfig",
    "GrowthConfig",
    "InteractionFeed",
    "JunkConfig",
    "LifecycleConfig",
    "MartsConfig",
    "MatchingConfig",
    "NextOrderConfig",
    "OrderFeed",
    "PipelineConfig",
    "PublishConfig",
    "QualityConfig",
    "ReceivableFeed",
    "RfmConfig",
    "RfmSegment",
    "SatisfactionConfig",
    "SatisfactionDropFollowup",
    "ScheduleConfig",
    "SensorConfig",
    "ServeConfig",
    "ServiceFollowup",
    "SourceConfig",
    "StagingConfig",
    "Strict",
    "SurvivorshipRule",
    "SyncConfig",
    "ValueTier",
    "load_config",
]

"""The deployment's contract: which exports exist and how their columns map onto the
canonical customer record.

Users write one YAML file per deployment; ``load_config`` validates it with pydantic
and turns every problem into a :class:`ConfigError` that names the file and the key
path (``sources[1] (dealers).columns.nmae``), so a typo is found before any data moves.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sources.marts_config import MartsConfig
from sources.schema import GOLDEN_ATTRIBUTE_GROUPS, MAPPABLE_FIELDS

ColumnRef = Annotated[
    str | list[str], Field(description="a source column, or columns joined with a space")
]


_PUBLISHABLE = re.compile(r"^(raw|staging|matching|master|marts)\.[a-z_][a-z0-9_]*$")


class ConfigError(ValueError):
    """The configuration file is not usable; the message names file and key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EntityTypeFromColumn(_Strict):
    """Entity type read from a column whose values map onto company / person."""

    column: str
    values: dict[str, Literal["company", "person"]]
    default: Literal["company", "person"] | None = None


class _FileSpec(_Strict):
    """Where an export lives and how to read it (shared by customer, order and interaction feeds)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    path: str
    format: Literal["csv", "xlsx", "parquet"] | None = None
    encoding: str = "auto"
    sheet: str | None = None
    delimiter: str | None = None

    def mapped_columns(self) -> dict[str, list[str]]:
        """Canonical field → the source columns it is built from (in join order)."""
        columns: dict[str, ColumnRef] = self.columns  # type: ignore[attr-defined]  # set by subclasses
        return {
            field: [ref] if isinstance(ref, str) else list(ref) for field, ref in columns.items()
        }

    def required_source_columns(self) -> list[str]:
        """Every source column the mapping reads, in mapping order, without repeats."""
        seen: dict[str, None] = {}
        for refs in self.mapped_columns().values():
            seen.update(dict.fromkeys(refs))
        return list(seen)


class SourceConfig(_FileSpec):
    """One department's customer export (one or more files of the same layout)."""

    kind: Literal["dealer", "key_account", "regional", "other"]
    entity_type: Literal["company", "person"] | EntityTypeFromColumn
    columns: dict[str, ColumnRef]
    trust: int = Field(default=0, description="higher wins in source-trust survivorship")

    @field_validator("columns")
    @classmethod
    def _known_fields(cls, columns: dict[str, ColumnRef]) -> dict[str, ColumnRef]:
        unknown = sorted(set(columns) - set(MAPPABLE_FIELDS))
        if unknown:
            raise ValueError(
                f"unknown canonical field(s) {', '.join(unknown)}; "
                f"known fields: {', '.join(MAPPABLE_FIELDS)}"
            )
        if "source_record_id" not in columns:
            raise ValueError("'source_record_id' must be mapped: it is the record's key")
        if "name" not in columns:
            raise ValueError("'name' must be mapped")
        return columns

    @model_validator(mode="after")
    def _entity_column_read(self) -> SourceConfig:
        if isinstance(self.entity_type, EntityTypeFromColumn) and "entity_type" in self.columns:
            raise ValueError(
                "map the entity type either in 'entity_type' or in 'columns', not both"
            )
        return self

    def required_source_columns(self) -> list[str]:
        columns = super().required_source_columns()
        if (
            isinstance(self.entity_type, EntityTypeFromColumn)
            and self.entity_type.column not in columns
        ):
            columns.append(self.entity_type.column)
        return columns


ORDER_FIELDS = ("order_id", "source_record_id", "order_date", "product", "quantity", "amount")
INTERACTION_FIELDS = (
    "interaction_id",
    "source_record_id",
    "interaction_date",
    "interaction_type",
    "satisfaction_score",
    "status",
    "note",
)
RECEIVABLE_FIELDS = ("invoice_id", "source_record_id", "invoice_date", "due_date", "amount_open")


class _ActivityFeed(_FileSpec):
    customer_source: str
    columns: dict[str, ColumnRef]
    _fields: tuple[str, ...] = ()
    _required: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _known_fields(self) -> _ActivityFeed:
        unknown = sorted(set(self.columns) - set(self._fields))
        if unknown:
            raise ValueError(
                f"unknown field(s) {', '.join(unknown)}; known fields: {', '.join(self._fields)}"
            )
        missing = [f for f in self._required if f not in self.columns]
        if missing:
            raise ValueError(f"field(s) {', '.join(missing)} must be mapped")
        return self


class OrderFeed(_ActivityFeed):
    """Orders placed by the customers of one customer source."""

    _fields = ORDER_FIELDS
    _required = ("order_id", "source_record_id", "order_date", "amount")


class ReceivableFeed(_ActivityFeed):
    """Open invoices (accounts receivable) of one source's customers: what each still owes and
    by when. A customer with an open amount is a debtor; past its due date it is overdue."""

    _fields = RECEIVABLE_FIELDS
    _required = ("invoice_id", "source_record_id", "due_date", "amount_open")


class InteractionFeed(_ActivityFeed):
    """Calls, visits, complaints and satisfaction scores of one source's customers."""

    _fields = INTERACTION_FIELDS
    _required = ("interaction_id", "source_record_id", "interaction_date", "interaction_type")


class StagingConfig(_Strict):
    """Standardisation settings."""

    default_region: str = Field(
        default="CN", description="phonenumbers region for numbers without +country"
    )
    future_date_tolerance_days: int = 1


class JunkConfig(_Strict):
    """Values too common to identify anyone (a hotline, 00000000) never create candidate pairs."""

    max_records_per_value: int = Field(
        default=25, ge=2, description="an identifier on more records is junk"
    )
    max_block_size: int = Field(
        default=50, ge=2, description="a blocking key on more records is dropped"
    )


class MatchingConfig(_Strict):
    """Record linkage: thresholds, cluster-size limit, steward decisions, model files."""

    backend: Literal["duckdb"] = Field(
        default="duckdb", description="Splink backend; SparkAPI is not wired yet"
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


#: Tables exported to Parquet when the config names none: the golden master and the marts
#: that sales, service and BI tools work from (docs/schema.md documents every column).
DEFAULT_PUBLISHED_TABLES = (
    "master.customers",
    "master.customer_xref",
    "master.relationships",
    "master.customer_roles",
    "marts.customer_value",
    "marts.customer_lifecycle",
    "marts.followup_today",
    "marts.customer_360",
    "marts.sales_by_region_product_month",
)


class PublishConfig(_Strict):
    """The tables other tools read, exported as ``<dir>/<table>.parquet`` with a manifest."""

    dir: str = Field(default="exports", description="export folder, relative to output_dir")
    tables: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PUBLISHED_TABLES),
        min_length=1,
        description="warehouse tables as schema.table; the file is named after the table",
    )

    @field_validator("tables")
    @classmethod
    def _qualified_and_unique(cls, tables: list[str]) -> list[str]:
        bad = [t for t in tables if not _PUBLISHABLE.match(t)]
        if bad:
            raise ValueError(
                f"not a warehouse table (schema.table, schema one of raw, staging, matching, "
                f"master, marts): {', '.join(bad)}"
            )
        names = [t.split(".")[1] for t in tables]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"two tables would export to the same file: {', '.join(repeated)}")
        return tables


class ScheduleConfig(_Strict):
    """The daily sync: when it runs, in which time zone, and whether it starts switched on."""

    cron: str = Field(
        default="0 6 * * *", description="cron expression (minute hour day month weekday)"
    )
    timezone: str = Field(
        default="Asia/Shanghai", description="IANA time zone of the cron expression"
    )
    running: bool = Field(default=False, description="on as soon as the daemon loads it")

    @field_validator("cron")
    @classmethod
    def _five_fields(cls, cron: str) -> str:
        if len(cron.split()) != 5:
            raise ValueError(
                f"expected five cron fields (minute hour day month weekday), got {cron!r}"
            )
        return cron

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, timezone: str) -> str:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {timezone!r} (e.g. Asia/Shanghai, UTC)") from None
        return timezone


class SensorConfig(_Strict):
    """The sensor that starts a sync when export files land or change."""

    interval_seconds: int = Field(
        default=60, ge=5, description="how often the folders are looked at"
    )
    settle_seconds: int = Field(
        default=60, ge=0, description="wait until no file has changed for this long (still copying)"
    )
    running: bool = Field(default=False, description="on as soon as the daemon loads it")


class QualityConfig(_Strict):
    """Bounds of the quality gates (``quality/``): floors for rates, which only warn, and the
    tolerances of blocking checks. The defaults pass on the demo."""

    min_valid_phone_share: float = Field(
        default=0.8, ge=0, le=1, description="of staged records with a landline, share valid"
    )
    min_valid_mobile_share: float = Field(
        default=0.8, ge=0, le=1, description="of staged records with a mobile, share valid"
    )
    min_valid_email_share: float = Field(
        default=0.8, ge=0, le=1, description="of staged records with an e-mail, share valid"
    )
    min_valid_uscc_share: float = Field(
        default=0.8, ge=0, le=1, description="of staged records with a USCC, share valid"
    )
    max_duplicate_key_share: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="share of a feed's rows whose key repeats before the raw check blocks",
    )
    max_row_drop_share: float = Field(
        default=0.3,
        ge=0,
        le=1,
        description="a feed may shrink by this share since the last accepted run; more blocks",
    )
    giant_cluster_size: int = Field(
        default=50, ge=2, description="a cluster with more records blocks the master"
    )
    max_unlinked_share: float = Field(
        default=0.9, ge=0, le=1, description="share of records in no cluster with others (warn)"
    )
    max_review_queue: int = Field(
        default=1000, ge=0, description="pairs waiting for a steward (warn)"
    )
    max_id_churn_share: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="share of records whose customer_id changed since the last run (warn)",
    )


SurvivorshipRule = Literal["valid", "trust", "recent", "frequent", "complete"]


class PipelineConfig(_Strict):
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
    quality: QualityConfig = QualityConfig()
    marts: MartsConfig = MartsConfig()
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
        return self

    @field_validator("survivorship")
    @classmethod
    def _known_attributes(cls, rules: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(rules) - set(GOLDEN_ATTRIBUTE_GROUPS))
        if unknown:
            raise ValueError(
                f"unknown golden attribute(s) {', '.join(unknown)}; known: {', '.join(GOLDEN_ATTRIBUTE_GROUPS)}"
            )
        empty = sorted(a for a, r in rules.items() if not r)
        if empty:
            raise ValueError(f"attribute(s) {', '.join(empty)} need at least one rule")
        return rules

    def activity_feeds(self) -> list[_ActivityFeed]:
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
    def decisions_path(self) -> Path:
        return self.resolve(self.matching.decisions)

    @property
    def model_path(self) -> Path:
        path = Path(self.matching.model_dir)
        return path if path.is_absolute() else self.output_path / path

    def source(self, name: str) -> SourceConfig:
        return next(s for s in self.sources if s.name == name)


def _location(config: dict, loc: tuple) -> str:
    """Render a pydantic error location as 'sources[1] (dealers).columns.nmae'."""
    parts: list[str] = []
    node: object = config
    for item in loc:
        if isinstance(item, int):
            name = (
                node[item].get("name")
                if isinstance(node, list) and item < len(node) and isinstance(node[item], dict)
                else None
            )
            parts[-1] += f"[{item}]" + (f" ({name})" if name else "")
        elif item in (
            "EntityTypeFromColumn",
            "literal['company','person']",
        ) or "function-after" in str(item):
            continue
        else:
            parts.append(str(item))
        node = node[item] if isinstance(node, (dict, list)) and _has(node, item) else None
    return ".".join(parts) or "(top level)"


def _has(node: dict | list, key: object) -> bool:
    if isinstance(node, list):
        return isinstance(key, int) and key < len(node)
    return key in node


def load_config(path: str | Path) -> PipelineConfig:
    """Read and validate a deployment config; raise ConfigError naming file and key on any problem."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    try:
        config = PipelineConfig.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            where = _location(raw, error["loc"])
            message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
            lines.append(f"{path}: {where}: {message}")
        raise ConfigError("\n".join(dict.fromkeys(lines))) from None
    return config.model_copy(update={"base_dir": path.resolve().parent})

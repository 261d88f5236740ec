"""The ``marts:`` section of a deployment: how value, lifecycle and follow-up lists are cut.

Every number a sales or service team argues about lives here rather than in SQL: the
revenue window, the ABC cut-offs, the RFM bins and segment names, value and credit tiers,
the days after which a customer counts as dormant or churned, and which products are
consumables (re-ordered on a rhythm) or equipment (serviced on an interval).

Example (YAML)::

    marts:
      as_of: 2026-09-30            # optional; default: the date of the run
      revenue_window_days: 365
      abc: {a_share: 0.8, b_share: 0.95}
      lifecycle: {dormant_days: 90, churned_days: 365}
      followup:
        consumables: {products: [墨盒 HP 803 黑色], min_orders: 3, lead_days: 7}
        service: {intervals: {彩色激光打印机 HP M255dw: 180}}
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, model_validator

from sources.config.base import Strict
from sources.config.sales import (
    ForecastConfig,
    NextOrderConfig,
    SatisfactionConfig,
    SatisfactionDropFollowup,
)


class AbcConfig(Strict):
    """ABC classes by cumulative share of the window's revenue, largest customers first."""

    a_share: float = Field(
        default=0.8, gt=0, lt=1, description="A: the customers bringing this share"
    )
    b_share: float = Field(default=0.95, gt=0, le=1, description="B: up to this share; C: the rest")

    @model_validator(mode="after")
    def _ordered(self) -> AbcConfig:
        if self.a_share >= self.b_share:
            raise ValueError(f"a_share ({self.a_share}) must be below b_share ({self.b_share})")
        return self


class RfmSegment(Strict):
    """A named RFM segment: inclusive score ranges; the first segment that fits wins."""

    name: str = Field(min_length=1)
    recency: tuple[int, int] | None = None
    frequency: tuple[int, int] | None = None
    monetary: tuple[int, int] | None = None

    def ranges(self, bins: int) -> dict[str, tuple[int, int]]:
        """Score → (low, high), an absent score meaning any score 1..bins."""
        return {
            score: getattr(self, score) or (1, bins)
            for score in ("recency", "frequency", "monetary")
        }


DEFAULT_SEGMENTS = (
    RfmSegment(name="champions", recency=(4, 5), frequency=(4, 5)),
    RfmSegment(name="loyal", recency=(3, 5), frequency=(3, 5)),
    RfmSegment(name="new_customers", recency=(4, 5), frequency=(1, 1)),
    RfmSegment(name="promising", recency=(4, 5), frequency=(2, 2)),
    RfmSegment(name="need_attention", recency=(3, 3), frequency=(1, 2)),
    RfmSegment(name="cannot_lose", recency=(1, 1), frequency=(4, 5), monetary=(4, 5)),
    RfmSegment(name="at_risk", recency=(1, 2), frequency=(3, 5)),
    RfmSegment(name="hibernating", recency=(1, 2), frequency=(1, 2)),
)


class RfmConfig(Strict):
    """Recency, frequency and monetary scores 1..bins (5 = quintiles; ties share a score)."""

    bins: int = Field(default=5, ge=2, le=10)
    segments: list[RfmSegment] = Field(default_factory=lambda: list(DEFAULT_SEGMENTS))
    unmatched: str = Field(default="others", description="segment of scores no segment covers")

    @model_validator(mode="after")
    def _within_bins(self) -> RfmConfig:
        names = [s.name for s in self.segments]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"segment names must be unique; repeated: {', '.join(repeated)}")
        for segment in self.segments:
            for score, (low, high) in segment.ranges(self.bins).items():
                if not 1 <= low <= high <= self.bins:
                    raise ValueError(
                        f"segment '{segment.name}': {score} range [{low}, {high}] must lie within 1..{self.bins}"
                    )
        return self


class ValueTier(Strict):
    name: str = Field(min_length=1)
    min_revenue: float = Field(
        gt=0, description="window revenue from which a customer is in the tier"
    )


DEFAULT_VALUE_TIERS = (
    ValueTier(name="platinum", min_revenue=200_000),
    ValueTier(name="gold", min_revenue=50_000),
    ValueTier(name="silver", min_revenue=10_000),
    ValueTier(name="bronze", min_revenue=0.01),
)


class CreditConfig(Strict):
    """Credit tier from the golden credit limit and the open / overdue receivables.

    blocked: overdue ≥ ``block_overdue_ratio`` of the credit limit (of the open amount when
    there is no limit) or an invoice overdue ≥ ``block_overdue_days``; watch: overdue ≥
    ``watch_overdue_amount`` or open above the limit; prime: limit ≥ ``prime_credit_limit``;
    standard: some limit or open amount; no_credit: neither.
    """

    prime_credit_limit: float = Field(default=100_000, gt=0)
    watch_overdue_amount: float = Field(default=0.01, gt=0)
    block_overdue_ratio: float = Field(default=0.5, gt=0)
    block_overdue_days: int = Field(default=90, ge=1)


class LifecycleConfig(Strict):
    """Days that move a customer between lifecycle stages."""

    new_days: int = Field(default=90, ge=1, description="'new' for this long after the first order")
    dormant_days: int = Field(default=90, ge=1, description="no order for this long: dormant")
    churned_days: int = Field(default=365, ge=2, description="no order for this long: churned")
    reactivated_days: int = Field(
        default=90, ge=1, description="'reactivated' for this long after ordering again"
    )

    @model_validator(mode="after")
    def _ordered(self) -> LifecycleConfig:
        if self.dormant_days >= self.churned_days:
            raise ValueError(
                f"dormant_days ({self.dormant_days}) must be below churned_days ({self.churned_days})"
            )
        return self


class ConsumablesFollowup(Strict):
    """Consumables due: the next purchase predicted from the customer's own interval per product."""

    products: list[str] = Field(default_factory=list, description="products re-ordered on a rhythm")
    min_orders: int = Field(default=3, ge=2, description="orders of a product needed to predict")
    lead_days: int = Field(default=7, ge=0, description="call this many days before the due date")
    max_overdue_days: int = Field(
        default=60, ge=0, description="later than this past due: left to dormant care"
    )


class ServiceFollowup(Strict):
    """Service due: every ``intervals[product]`` days after the purchase of a machine."""

    intervals: dict[str, int] = Field(default_factory=dict, description="product → days")
    lead_days: int = Field(default=7, ge=0)
    max_overdue_days: int = Field(default=14, ge=0)
    max_equipment_age_days: int = Field(
        default=5 * 365, ge=1, description="machines older than this are no longer serviced"
    )

    @model_validator(mode="after")
    def _positive(self) -> ServiceFollowup:
        bad = sorted(p for p, days in self.intervals.items() if days < 1)
        if bad:
            raise ValueError(f"service interval must be at least 1 day: {', '.join(bad)}")
        return self


class DormantCareFollowup(Strict):
    """Call customers who went dormant lately and are worth keeping, unless someone called or
    visited them lately. ``max_days_dormant: null`` lists every dormant customer."""

    enabled: bool = True
    max_days_dormant: int | None = Field(
        default=30, ge=0, description="dormant for at most this many days"
    )
    min_lifetime_revenue: float = Field(default=0, ge=0)
    contact_types: list[str] = Field(default_factory=lambda: ["call", "visit"])
    skip_if_contacted_within_days: int = Field(default=30, ge=0)


class ComplaintFollowup(Strict):
    """Open complaints: interactions of these types in one of these statuses."""

    types: list[str] = Field(default_factory=lambda: ["complaint"], min_length=1)
    open_statuses: list[str] = Field(default_factory=lambda: ["open"], min_length=1)


class FollowupConfig(Strict):
    consumables: ConsumablesFollowup = ConsumablesFollowup()
    service: ServiceFollowup = ServiceFollowup()
    dormant_care: DormantCareFollowup = DormantCareFollowup()
    open_complaints: ComplaintFollowup = ComplaintFollowup()
    satisfaction_drop: SatisfactionDropFollowup = SatisfactionDropFollowup()


class GrowthConfig(Strict):
    """Largest and fastest-growing customers per complete period, overall, by region and product."""

    period: Literal["month", "quarter", "year"] = "quarter"
    periods: int = Field(default=4, ge=1, description="how many recent complete periods")
    top_n: int = Field(default=20, ge=1, description="customers listed per ranking")


class MartsConfig(Strict):
    """Parameters of the marts (``marts.*``): value, lifecycle, follow-ups, growth, and the
    sales-planning marts (``sources.config.sales``)."""

    as_of: date | None = Field(
        default=None, description="the day the marts describe; default: run date"
    )
    revenue_window_days: int = Field(default=365, ge=1)
    abc: AbcConfig = AbcConfig()
    rfm: RfmConfig = RfmConfig()
    value_tiers: list[ValueTier] = Field(
        default_factory=lambda: list(DEFAULT_VALUE_TIERS), min_length=1
    )
    no_value_tier: str = Field(default="none", description="tier of customers below every tier")
    credit: CreditConfig = CreditConfig()
    lifecycle: LifecycleConfig = LifecycleConfig()
    followup: FollowupConfig = FollowupConfig()
    growth: GrowthConfig = GrowthConfig()
    forecast: ForecastConfig = ForecastConfig()
    next_order: NextOrderConfig = NextOrderConfig()
    satisfaction: SatisfactionConfig = SatisfactionConfig()

    @model_validator(mode="after")
    def _tiers_descend(self) -> MartsConfig:
        minimums = [t.min_revenue for t in self.value_tiers]
        if any(a <= b for a, b in zip(minimums, minimums[1:], strict=False)):
            raise ValueError("value_tiers must be listed from the highest min_revenue down")
        names = [t.name for t in self.value_tiers] + [self.no_value_tier]
        if len(set(names)) != len(names):
            raise ValueError("value tier names (and no_value_tier) must be unique")
        return self

"""The sales-planning keys of the ``marts:`` section: forecast, next order, satisfaction.

Example (YAML), the defaults::

    marts:
      forecast: {horizon_months: 3, interval: 0.8, backtest_origins: 6}
      next_order: {min_orders: 3, amount_orders: 5, lapsed_after_gaps: 3}
      satisfaction: {trend_surveys: 3, min_drop: 1.0, closed_statuses: [closed]}
      followup:
        satisfaction_drop: {enabled: true, abc_classes: [A, B]}
"""

from __future__ import annotations

from pydantic import Field

from sources.config.base import Strict


class ForecastConfig(Strict):
    """``marts.sales_forecast``: months ahead, the prediction interval, the backtest's origins."""

    horizon_months: int = Field(
        default=3, ge=1, le=12, description="months forecast after the last complete one"
    )
    interval: float = Field(
        default=0.8, gt=0, lt=1, description="coverage of the prediction interval"
    )
    backtest_origins: int = Field(
        default=6, ge=1, description="last complete months from which the backtest forecasts"
    )


class NextOrderConfig(Strict):
    """``marts.next_order``: a customer's next order from its own rhythm."""

    min_orders: int = Field(
        default=3, ge=2, description="orders (on distinct days) needed to predict"
    )
    amount_orders: int = Field(
        default=5, ge=1, description="the expected amount is the median of this many latest orders"
    )
    lapsed_after_gaps: float = Field(
        default=3, gt=1, description="no order for this many usual gaps: lapsed, not overdue"
    )


class SatisfactionConfig(Strict):
    """``marts.customer_satisfaction``: when a score counts as dropped, which complaints are closed."""

    trend_surveys: int = Field(
        default=3,
        ge=1,
        description="the latest score is compared with the mean of this many before it",
    )
    min_drop: float = Field(
        default=1.0, gt=0, description="a change of at least this much is a drop (or a rise)"
    )
    closed_statuses: list[str] = Field(default_factory=lambda: ["closed"], min_length=1)


class SatisfactionDropFollowup(Strict):
    """Follow-up reason ``satisfaction_drop``: a valuable customer whose satisfaction dropped."""

    enabled: bool = True
    abc_classes: list[str] = Field(default_factory=lambda: ["A", "B"], min_length=1)

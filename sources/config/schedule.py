"""The ``schedule:`` and ``sensor:`` sections: when the sync runs by itself."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from sources.config.base import Strict


class ScheduleConfig(Strict):
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


class SensorConfig(Strict):
    """The sensor that starts a sync when export files land or change."""

    interval_seconds: int = Field(
        default=60, ge=5, description="how often the folders are looked at"
    )
    settle_seconds: int = Field(
        default=60, ge=0, description="wait until no file has changed for this long (still copying)"
    )
    running: bool = Field(default=False, description="on as soon as the daemon loads it")

"""The ``schedule:``, ``sensor:`` and ``sync:`` sections: when the sync runs by itself, and
how two syncs of one warehouse take turns and what one may use."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
from pydantic import Field, field_validator

from sources.config.base import Strict

#: a number and a unit, as DuckDB's memory_limit takes them (no sign: DuckDB reads -1 as no limit)
_MEMORY_SIZE = re.compile(r"\d+(\.\d+)?\s*([KMGT]i?B|B|%)", re.IGNORECASE)


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


class SyncConfig(Strict):
    """How a sync runs: how it behaves when another sync of the same warehouse is running,
    how many processes its Python-bound work may use and how much memory DuckDB may keep.

    One sync holds the warehouse from its first step to its publish
    (:mod:`warehouse.sync_lock`); a second one waits for it up to ``wait_seconds``, then stops
    naming the run that holds it. The default, 15 minutes, covers a whole full sync of a
    million records (742 s measured before issue #12, 240 s on 2026-12-04) with room to spare,
    so a sync the sensor starts while a manual ``custmaster run`` is busy still runs: the
    sensor has already marked those files as seen and would not ask again. A sync still held
    after that long is more likely stuck than slow, and a person should look.
    """

    wait_seconds: int = Field(
        default=900,
        ge=0,
        description="how long a second sync waits for the running one; 0 stops at once",
    )
    workers: int | None = Field(
        default=None,
        ge=1,
        description="processes that standardise a large staging (from 100,000 "
        "rows); absent: the machine's cores; 1: the sync's own process only; $CUSTMASTER_WORKERS overrides it",
    )
    memory_limit: str | None = Field(
        default=None,
        description="the most memory DuckDB may keep for the warehouse during a sync, in "
        "DuckDB's words (4GB, 4GiB, 50%); absent: DuckDB's own limit, 80% of the machine's",
    )

    @field_validator("memory_limit")
    @classmethod
    def _memory_size_duckdb_reads(cls, value: str | None) -> str | None:
        """A size DuckDB's ``memory_limit`` takes, checked by DuckDB itself."""
        if value is None:
            return value
        value = value.strip()
        if not _MEMORY_SIZE.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a memory size (a number and a unit: 4GB, 4GiB, 50%)"
            )
        try:
            duckdb.connect(config={"memory_limit": value}).close()
        except duckdb.Error as error:
            raise ValueError(f"{value!r} is not a memory size DuckDB reads: {error}") from None
        return value

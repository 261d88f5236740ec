"""The staged suite: what standardisation produced is fit for matching and mastering.

On ``staging.customers``:

- rates (warn): of the source records that carry a landline, mobile, e-mail or USCC, the
  share that is valid stays above its floor (``quality.min_valid_*_share``). A column of
  garbage phones shows here, with the values as sent;
- invariants (blocking): ``province_official`` (a province is one of the official
  provincial-level divisions), ``entity_type_known`` (company or person: one model each)
  and ``dates_not_in_future`` (``created_at``, ``updated_at``, ``birth_date`` not after the
  run date plus ``staging.future_date_tolerance_days``). A future ``updated_at`` would win
  the ``recent`` survivorship rule for every attribute and make ``last_updated`` and the
  lifecycle wrong, so it stops the run until the export is corrected.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import duckdb
import pandas as pd

from quality.gx import Expect, Suite, read_frame
from quality.results import ERROR, WARN, CheckDef
from sources.config import PipelineConfig
from sources.schema import ENTITY_TYPES
from sources.standardise.addresses import official_provinces
from warehouse.store import quote

#: Canonical field → the format a valid staged value has (flagged values never match it).
VALID_FORMATS = {
    "phone": r"^\+[1-9]\d{6,14}$",
    "mobile": r"^\+[1-9]\d{6,14}$",
    "email": r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
    "uscc": r"^[0-9A-HJ-NP-RTUWXY]{18}$",
}
WHAT = {"phone": "landlines", "mobile": "mobiles", "email": "e-mail addresses", "uscc": "USCCs"}
DATE_COLUMNS = ("created_at", "updated_at", "birth_date")
#: Prefix of a value that failed validation in the validation frame (cannot match a format).
INVALID = "invalid: "

PROVINCE_CHECK = CheckDef(
    "province_official", ERROR, "every province is an official provincial-level division"
)
ENTITY_TYPE_CHECK = CheckDef("entity_type_known", ERROR, "every record is a company or a person")
FUTURE_DATES_CHECK = CheckDef(
    "dates_not_in_future", ERROR, "no created_at, updated_at or birth_date after the run date"
)


def share_check(field: str) -> CheckDef:
    return CheckDef(
        f"valid_{field}_share", WARN, f"the share of valid {WHAT[field]} is above its floor"
    )


STAGED_CHECKS = (
    *(share_check(f) for f in VALID_FORMATS),
    PROVINCE_CHECK,
    ENTITY_TYPE_CHECK,
    FUTURE_DATES_CHECK,
)


def staged_suite(config: PipelineConfig, today: date) -> Suite:
    """The expectations on ``staging.customers`` for a run on ``today``."""
    floors = {
        "phone": config.quality.min_valid_phone_share,
        "mobile": config.quality.min_valid_mobile_share,
        "email": config.quality.min_valid_email_share,
        "uscc": config.quality.min_valid_uscc_share,
    }
    horizon = datetime.combine(
        today + timedelta(days=config.staging.future_date_tolerance_days), time.max
    )
    expectations = [
        Expect(
            f"valid_{field}_share",
            "ExpectColumnValuesToMatchRegex",
            {"column": field, "regex": VALID_FORMATS[field], "mostly": floors[field]},
            f"{WHAT[field]} that are not valid",
        )
        for field in VALID_FORMATS
    ]
    expectations += [
        Expect(
            PROVINCE_CHECK.name,
            "ExpectColumnValuesToBeInSet",
            {"column": "province", "value_set": list(official_provinces())},
            "provinces that are not official names",
        ),
        Expect(
            ENTITY_TYPE_CHECK.name,
            "ExpectColumnValuesToNotBeNull",
            {"column": "entity_type"},
            "records without an entity_type",
        ),
        Expect(
            ENTITY_TYPE_CHECK.name,
            "ExpectColumnValuesToBeInSet",
            {"column": "entity_type", "value_set": list(ENTITY_TYPES)},
            "records of an unknown entity_type",
        ),
    ]
    expectations += [
        Expect(
            FUTURE_DATES_CHECK.name,
            "ExpectColumnValuesToBeBetween",
            {"column": column, "max_value": horizon},
            f"{column} dates after {horizon.date()}",
        )
        for column in DATE_COLUMNS
    ]
    return Suite(
        name="staging.customers",
        checks=STAGED_CHECKS,
        expectations=tuple(expectations),
        index_columns=("record_key",),
        meta={"run_date": today.isoformat(), "date_horizon": horizon.isoformat()},
    )


def _raw_values_sql(config: PipelineConfig) -> str:
    """Phone, mobile, e-mail and USCC of every source row as sent (to show invalid values)."""
    parts = []
    for source in config.sources:
        mapped = source.mapped_columns()
        fields = []
        for field in VALID_FORMATS:
            columns = mapped.get(field)
            value = (
                "NULL::VARCHAR"
                if not columns
                else f"nullif(trim(concat_ws(' ', {', '.join(quote(c) + '::VARCHAR' for c in columns)})), '')"
            )
            fields.append(f"{value} AS {field}_raw")
        parts.append(
            f"SELECT '{source.name}' AS source, t.source_file, t.source_row, {', '.join(fields)} "
            f"FROM raw.{quote(source.name)} AS t SEMI JOIN flagged f ON f.source = '{source.name}' "
            "AND f.source_file = t.source_file AND f.source_row = t.source_row"
        )
    return " UNION ALL ".join(parts)


def staged_frame(con: duckdb.DuckDBPyConnection, config: PipelineConfig) -> pd.DataFrame:
    """What the staged suite reads (:func:`staged_frame_sql`) as a DataFrame."""
    return read_frame(con, staged_frame_sql(config))


def staged_frame_sql(config: PipelineConfig) -> str:
    """What the staged suite reads, one row per staged record.

    ``phone``, ``mobile``, ``email`` and ``uscc`` hold the staged value when it is valid, and
    ``invalid: <value as sent>`` when staging flagged it, for source records only (a derived
    contact person's mobile is checked on the company's record). Dates are timestamps.
    """
    checked = []
    for field in VALID_FORMATS:
        flag = f"list_contains(string_split(coalesce(s.quality_flags, ''), ';'), '{field}_invalid')"
        checked.append(
            f"""CASE WHEN s.derived_from_record_key IS NOT NULL THEN NULL
                     WHEN {flag} THEN '{INVALID}' || coalesce(r.{field}_raw, s.{field}::VARCHAR, '?')
                     ELSE s.{field}::VARCHAR END AS {field}"""
        )
    dates = ", ".join(f"s.{c}::TIMESTAMP AS {c}" for c in DATE_COLUMNS)
    invalid = ", ".join(f"'{field}_invalid'" for field in VALID_FORMATS)
    return f"""
        WITH flagged AS (
            SELECT source, source_file, source_row FROM staging.customers
            WHERE derived_from_record_key IS NULL
              AND list_has_any(string_split(coalesce(quality_flags, ''), ';'), [{invalid}])
        ),
        r AS ({_raw_values_sql(config)})
        SELECT s.record_key, s.entity_type, s.province, {", ".join(checked)}, {dates}
        FROM staging.customers s
        LEFT JOIN r ON r.source = s.source AND r.source_file = s.source_file
                   AND r.source_row = s.source_row AND s.derived_from_record_key IS NULL
    """

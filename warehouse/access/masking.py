"""Masking personal data for roles with ``pii: masked``: keep what work needs, hide the rest.

One Python function per kind of value, used twice and written once: the role exports run
them inside DuckDB as functions of the warehouse connection (``masking_functions``), the
service on the rows it answers with (``mask_row``). Which column holds which kind is
``PII_COLUMNS``, by column name, so any published table (staged records, the review queue's
``mobile_l``/``mobile_r``, a follow-up's ``contact_phone``) is masked by the same list.

What stays, per kind (worked examples from the issue):

- phone, mobile, fax: country code, the first 3 and last 4 digits of the number:
  ``+8613812345678`` → ``+86138****5678`` (``138****5678`` without the ``+86``);
  a landline ``+865925551234`` → ``+86592***1234``;
- personal ID: first 4 and last 4: ``350203198501011234`` → ``3502**********1234``;
- e-mail: the first character of the mailbox and the domain: ``zhang.wei@qq.com`` →
  ``z***@qq.com``;
- WeChat, QQ: the first character: ``zw_1985`` → ``z***``;
- birth date: the year only, as text (``1985-03-07`` → ``1985``);
- address: down to the district. ``address_detail`` (street, number, room) is dropped;
  a raw address is cut to the province, city and district the pipeline's own address
  parser finds in it (``厦门思明区湖滨南路1号501室`` → ``福建省厦门市思明区``).

Names stay (a salesperson calls a customer by name). Masks are deterministic, so masked
exports of the same master are the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
from duckdb.func import ARROW, SPECIAL

STAR = "*"
_NOT_DIGIT = re.compile(r"\D")


def mask_phone(value: str) -> str:
    """``+8613812345678`` → ``+86138****5678``: the first 3 and last 4 digits of the number."""
    text = str(value).strip()
    prefix = ""
    if text.startswith("+86"):
        prefix, text = "+86", text[3:]
    elif text.startswith("+"):
        prefix, text = "+", text[1:]
    digits = text if text.isdigit() else _NOT_DIGIT.sub("", text)
    if len(digits) >= 8:
        return prefix + digits[:3] + STAR * (len(digits) - 7) + digits[-4:]
    return prefix + STAR * max(len(digits) - 2, 1) + digits[-2:]


def mask_id_number(value: str) -> str:
    """``350203198501011234`` → ``3502**********1234``: the first 4 and last 4 characters."""
    text = str(value).strip()
    if len(text) > 8:
        return text[:4] + STAR * (len(text) - 8) + text[-4:]
    return STAR * len(text)


def mask_email(value: str) -> str:
    """``zhang.wei@qq.com`` → ``z***@qq.com``."""
    text = str(value).strip()
    mailbox, at, domain = text.partition("@")
    return (mailbox[:1] + STAR * 3 + at + domain) if at else mask_handle(text)


def mask_handle(value: str) -> str:
    """A WeChat or QQ account: its first character, then ``***``."""
    return str(value).strip()[:1] + STAR * 3


def mask_birth_date(value: Any) -> str:
    """The year of a birth date (a date or its ISO text): ``1985-03-07`` → ``1985``."""
    return str(value).strip()[:4]


def drop(value: Any) -> None:
    """A street address below the district: not shown."""
    return None


def mask_address(value: str) -> str | None:
    """A raw address cut to its province, city and district (None when it names none)."""
    return _district_of(str(value))


@lru_cache(maxsize=65536)
def _district_of(text: str) -> str | None:
    from sources.standardise.addresses import parse_addresses

    parsed = parse_addresses(pd.Series([text])).iloc[0]
    places = [parsed[c] for c in ("province", "city", "district") if isinstance(parsed[c], str)]
    # a municipality is its own city (北京市北京市): say it once
    return "".join(dict.fromkeys(places)) or None


#: Kind of personal value → its mask.
MASKS: dict[str, Callable[[Any], Any]] = {
    "phone": mask_phone,
    "id_number": mask_id_number,
    "email": mask_email,
    "handle": mask_handle,
    "birth_date": mask_birth_date,
    "address_detail": drop,
    "address": mask_address,
}

#: Column → kind of personal value it holds, wherever the column appears. A column of the
#: review queue compares two records and carries ``_l`` / ``_r`` (``column_kind``).
PII_COLUMNS: dict[str, str] = {
    "phone": "phone",
    "mobile": "phone",
    "fax": "phone",
    "contact_phone": "phone",
    "contact_mobile": "phone",
    "id_number": "id_number",
    "email": "email",
    "wechat": "handle",
    "qq": "handle",
    "birth_date": "birth_date",
    "address_detail": "address_detail",
    "address_raw": "address",
}

#: Golden attribute (``attribute_lineage.attribute``) → kind of its ``value``.
PII_ATTRIBUTES: dict[str, str] = {
    attribute: PII_COLUMNS[attribute]
    for attribute in ("phone", "mobile", "fax", "id_number", "email", "wechat", "qq", "birth_date")
} | {"address": "address"}


def column_kind(column: str) -> str | None:
    """The kind of personal value ``column`` holds (``mobile_l`` as ``mobile``); None: not personal."""
    kind = PII_COLUMNS.get(column)
    if kind is None and column[-2:] in ("_l", "_r"):
        kind = PII_COLUMNS.get(column[:-2])
    return kind


def mask_value(kind: str | None, value: Any) -> Any:
    """``value`` masked as a ``kind``; None stays None, a value of no kind stays as it is."""
    if value is None or kind is None or (isinstance(value, float) and pd.isna(value)):
        return value
    return MASKS[kind](value)


def mask_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row of any table with every personal value masked, by column name; a lineage row
    (``attribute``, ``value``) has its value masked as its attribute."""
    masked = {column: mask_value(column_kind(column), value) for column, value in row.items()}
    if "attribute" in row and "value" in row:
        masked["value"] = mask_value(PII_ATTRIBUTES.get(str(row["attribute"])), row["value"])
    return masked


# --- the same masks inside DuckDB -------------------------------------------------------

#: DuckDB function name of each kind's mask (``masking_functions``).
SQL_FUNCTIONS = {kind: f"cm_mask_{kind}" for kind in MASKS}
_BY_ATTRIBUTE = "cm_mask_attribute"


def _one_kind(kind: str) -> Callable[[pa.Array], pa.Array]:
    """The mask of ``kind`` over a vector of values (DuckDB hands an Arrow array over per
    chunk: 3x faster than a call per value, 300k phones in 1.3 s here against 4.2 s)."""

    def mask(values: pa.Array) -> pa.Array:
        return pa.array([mask_value(kind, v) for v in values.to_pylist()], type=pa.string())

    return mask


def _mask_attribute(attributes: pa.Array, values: pa.Array) -> pa.Array:
    return pa.array(
        [
            mask_value(PII_ATTRIBUTES.get(attribute or ""), value)
            for attribute, value in zip(attributes.to_pylist(), values.to_pylist(), strict=True)
        ],
        type=pa.string(),
    )


def masked_expression(column: str, expression: str) -> str:
    """SQL giving ``expression`` (the value of ``column``) masked; unchanged when ``column``
    holds no personal value. Masked values are text (a birth year is ``'1985'``)."""
    kind = column_kind(column)
    if kind is None:
        return expression
    return f"{SQL_FUNCTIONS[kind]}(CAST({expression} AS VARCHAR))"


def masked_attribute_expression(attribute: str, value: str) -> str:
    """SQL masking a lineage ``value`` as its ``attribute``."""
    return f"{_BY_ATTRIBUTE}(CAST({attribute} AS VARCHAR), CAST({value} AS VARCHAR))"


@contextmanager
def masking_functions(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """The masks as DuckDB functions on ``con`` while the block runs (``masked_expression``)."""
    varchar = duckdb.sqltype("VARCHAR")
    added = []
    try:
        for kind in MASKS:
            con.create_function(
                SQL_FUNCTIONS[kind],
                _one_kind(kind),
                [varchar],
                varchar,
                type=ARROW,
                null_handling=SPECIAL,
                side_effects=False,
            )
            added.append(SQL_FUNCTIONS[kind])
        con.create_function(
            _BY_ATTRIBUTE,
            _mask_attribute,
            [varchar, varchar],
            varchar,
            type=ARROW,
            null_handling=SPECIAL,
            side_effects=False,
        )
        added.append(_BY_ATTRIBUTE)
        yield
    finally:
        for name in added:
            con.remove_function(name)

"""One staged record prepared as ``prepare_records`` prepares it, without pandas.

The duplicate check prepares one record per check. ``prepare_records`` does that in some
fifty pandas operations whose fixed cost (tens of microseconds each) was a quarter of a
check (docs/service.md#where-a-check-spends-its-time). This module derives the same
``PREPARED_COLUMNS`` from a dict of staged values with the same constants and per-value
functions (``character_bigrams``, ``name_shapes``' ``fold_lookalikes``, ``any_order``,
``is_placeholder_id``). Where ``prepare_records`` runs an Arrow kernel (trimming, lower
and upper case, RE2 regular expressions), the same kernel runs here on the record's few
values, since Python's ``str.lower`` and ``re`` differ from Arrow's in corner cases
('İ', ``\\s``); where it runs Python (``str.extract``), Python runs here.

One record never shares a value with more records than ``JunkRules`` allows (its limits
are at least 1), so the caps on shared values never apply to it; placeholders are dropped
as for any record. A test compares this with ``prepare_records`` column by column on
hundreds of realistic forms (tests/matching/test_check_rows.py).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matching.linkage.features import (
    IDENTIFIER_COLUMNS,
    NAME_PREFIX_CHARS,
    OPTIONAL_COLUMNS,
    PHONE_TAIL_DIGITS,
    PREPARED_COLUMNS,
    PREPARED_SCHEMA,
    REQUIRED_COLUMNS,
    SERVICE_NUMBER,
    any_order,
    character_bigrams,
)
from matching.linkage.junk import (
    JUNK_NUMBER,
    PLACEHOLDER_EMAIL_USERS,
    PLACEHOLDER_TEXTS,
    is_placeholder_id,
)
from sources.schema import ENTITY_TYPES
from sources.standardise.addresses import STREET_AND_NUMBER
from sources.standardise.lookalikes import fold_lookalikes

#: Staged text columns, trimmed as ``prepare_records`` trims them.
_TEXT = tuple(
    c
    for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
    if c not in ("record_key", "entity_type", "birth_date", "is_branch", "other_phones")
)
_STREET = re.compile(STREET_AND_NUMBER)
_SERVICE = re.compile(SERVICE_NUMBER)


def _trimmed(values: list[Any]) -> list[str | None]:
    """``features._text`` of each value: trimmed by Arrow, empty as None."""
    text = pc.utf8_trim_whitespace(pa.array(values, type=pa.string(), from_pandas=True))
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text).to_pylist()


def _kernel(function, value: str | None, *args, **kwargs) -> Any:
    """An Arrow string kernel on one value (None stays None)."""
    if value is None:
        return None
    return function(pa.array([value], type=pa.string()), *args, **kwargs)[0].as_py()


def _placeholder(value: str | None, kind: str) -> bool:
    """``junk.placeholder_mask`` of one value."""
    if value is None:
        return False
    if _kernel(pc.utf8_lower, value) in PLACEHOLDER_TEXTS:
        return True
    if kind == "phone":
        return bool(_kernel(pc.match_substring_regex, value, JUNK_NUMBER))
    if kind == "email":
        local = _kernel(pc.replace_substring_regex, value, "@.*$", "")
        return local in PLACEHOLDER_EMAIL_USERS
    if kind == "id":
        return is_placeholder_id(value)
    return False


def _joined(*parts: str | None) -> str | None:
    """Parts joined by '|', None when one is missing (pandas' ``+`` on missing values)."""
    return None if any(p is None for p in parts) else "|".join(parts)  # type: ignore[arg-type]


def prepare_record(staged: dict[str, Any], entity_type: str) -> pa.Table:
    """The one-row table ``prepare_records`` gives for one staged record.

    Args:
        staged: staged column → value, at least ``REQUIRED_COLUMNS`` (missing values as
            None); ``postcode`` and ``contact_mobile`` when the record has them.
        entity_type: the record's entity type.
    Returns:
        One row of ``PREPARED_COLUMNS`` with ``prepare_records``' schema.
    """
    if entity_type not in ENTITY_TYPES or staged["entity_type"] != entity_type:
        raise ValueError(f"a {staged['entity_type']} record cannot be prepared as {entity_type!r}")
    if staged["record_key"] is None:
        raise ValueError("the record has no record_key")
    text = dict(zip(_TEXT, _trimmed([staged.get(c) for c in _TEXT]), strict=True))
    out: dict[str, Any] = {"record_key": staged["record_key"], "entity_type": entity_type}

    name = text["name_core"] if text["name_core"] is not None else text["name"]
    key = out["name_key"] = None if _placeholder(name, "text") else name
    out["name_pinyin"] = text["name_pinyin"] if key is not None else None
    out["name_latin"] = text["name_latin"] if key is not None else None
    out["name_shape"] = fold_lookalikes(key) if key is not None else None
    out["name_grams"] = character_bigrams(key) if key is not None else None
    out["name_region"], out["legal_form"] = text["name_region"], text["legal_form"]
    branch = {True: "branch", False: "not"}.get(staged["is_branch"])  # type: ignore[call-overload]
    out["branch"] = branch if entity_type == "company" else None

    for column, block in IDENTIFIER_COLUMNS.items():
        value, kind = text[column], "phone"
        if column == "email":
            value, kind = _kernel(pc.utf8_lower, value), "email"
        elif column in ("uscc", "id_number"):
            value, kind = _kernel(pc.utf8_upper, value), "id"
        out[block] = None if _placeholder(value, kind) else value
    out["phone_tail"] = _landline_tail(out["phone_block"])
    contact = staged.get("contact_mobile") if entity_type == "company" else None
    out["phone_numbers"] = _phone_numbers(out, staged["other_phones"], contact)

    out["gender"] = text["gender"]
    out["birth_date"] = _iso_date(staged["birth_date"])
    city_key = out["city_key"] = (
        None if text["city"] is None else f"{text['province'] or ''}|{text['city']}"
    )
    out["district_key"] = _joined(city_key, text["district"])
    detail = _kernel(pc.replace_substring_regex, text["address_detail"], r"\s+", "")
    detail = out["address_detail"] = detail or None
    street = _STREET.search(detail) if detail is not None else None
    out["address_street"] = street.group(1) if street else None
    out["address_grams"] = character_bigrams(detail) if detail is not None else None
    out["postcode"] = _kernel(pc.replace_substring_regex, text["postcode"], r"\s+", "") or None

    by_name = _name_prefix(key) if entity_type == "company" else key
    latin = out["name_latin"]
    if entity_type != "company" and latin is not None:
        latin = any_order(latin)
    birth = out["birth_date"]
    out["name_block"] = key
    out["name_city_block"] = _joined(by_name, city_key)
    out["pinyin_city_block"] = _joined(latin, city_key)
    out["name_street_block"] = _joined(by_name, detail)
    out["name_birth_block"] = _joined(key, birth)
    out["pinyin_birth_block"] = _joined(latin, birth)
    out["birth_block"] = birth
    out |= _postcode_keys(out["name_latin"], latin, out["postcode"], entity_type)
    return pa.Table.from_pylist([{c: out[c] for c in PREPARED_COLUMNS}], schema=PREPARED_SCHEMA)


def _iso_date(born: Any) -> str | None:
    """``features._dates`` of one staged birth date: yyyy-mm-dd, None when absent or out
    of pandas' timestamp range (which ``pd.to_datetime`` makes NaT)."""
    if not isinstance(born, date):
        return None
    if isinstance(born, datetime):
        born = born.date()
    if not pd.Timestamp.min.date() < born <= pd.Timestamp.max.date():
        return None
    return born.strftime("%Y-%m-%d")


def _landline_tail(phone: str | None) -> str | None:
    """``features._landline_tail`` of one number (E.164: ASCII, so Python's ``re`` and
    slicing agree with Arrow's)."""
    if phone is None or not phone.startswith("+86"):
        return None
    national = re.sub(r"^\+86", "", phone)
    if re.search("^(?:1|400|800)", national):
        return None
    return national[-PHONE_TAIL_DIGITS:]


def _phone_numbers(
    out: dict[str, Any], others: list[str] | None, contact: str | None
) -> list[str] | None:
    """``features._phone_numbers`` of one record."""
    extra = _trimmed(list(others)) if others else []
    if contact is not None:
        extra += _trimmed([contact])
    extra = [n for n in extra if n is not None and not _placeholder(n, "phone")]
    parts = [out["phone_block"], out["mobile_block"], *extra]
    found = {p for p in parts if p is not None and not _SERVICE.search(p)}
    return sorted(found) or None


def _name_prefix(name: str | None) -> str | None:
    """``features._name_prefix`` of one name core."""
    if name is None:
        return None
    if re.search("^[\u3400-\u9fff]", name):
        return name[:NAME_PREFIX_CHARS]
    return _kernel(pc.utf8_lower, name)[: 2 * NAME_PREFIX_CHARS]


def _postcode_keys(
    latin: str | None, any_order_latin: str | None, postcode: str | None, entity_type: str
) -> dict[str, str | None]:
    """``features._postcode_keys`` of one record."""
    names = ("latin_postcode_block", "first_word_postcode_block", "last_word_postcode_block")
    if entity_type != "person":
        return dict.fromkeys(names)
    first = _kernel(pc.replace_substring_regex, latin, r" .*$", "")
    last = _kernel(pc.replace_substring_regex, latin, r"^.* ", "")
    return {
        names[0]: _joined(any_order_latin, postcode),
        names[1]: _joined(first, postcode),
        names[2]: _joined(last, postcode),
    }

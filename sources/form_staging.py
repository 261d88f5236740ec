"""One duplicate-check form staged as ``stage_records`` stages a record, a value at a time.

``stage_records`` works on whole columns: a million records stage in seconds, but one
record pays the fixed cost of every pandas operation (some hundreds, tens of microseconds
each) for one value, which made staging half of a duplicate check's time
(docs/service.md#where-a-check-spends-its-time). A form has seven fields and the matcher
reads about twenty staged columns, so this module stages exactly those, from plain
values, by calling the standardisers' own per-value functions (``normalise_one``,
``split_company_name``, ``parse_address_places``, …: the functions the vectorised ones
apply to each distinct value). Where a rule exists only as vectorised code (phone numbers,
credit codes and IDs: Arrow kernels and numpy), that code runs on the form's one value,
without the pandas plumbing around it (``standardise_phone``, ``standardise_one_uscc``,
``standardise_id_number``).

What stays written twice is how ``stage_records`` combines the standardisers' answers
(a mobile typed in the phone field moves to the mobile, the city gives a local number its
area code, a personal ID gives the birth date and gender); a test stages hundreds of
realistic forms both ways and compares every column (tests/matching/test_check_rows.py).
"""

from __future__ import annotations

from typing import Any

from sources.standardise.addresses import parse_address_places
from sources.standardise.area_codes import area_code_of_city
from sources.standardise.business_kinds import business_kind_of
from sources.standardise.emails import standardise_email
from sources.standardise.identifiers import standardise_id_number, standardise_one_uscc
from sources.standardise.latin_names import latin_company_name, latin_person_name
from sources.standardise.names import clean_person_name, split_company_name
from sources.standardise.phones import standardise_phone
from sources.standardise.text import normalise_one, pinyin_one

#: The fields a duplicate-check form has.
FORM_FIELDS = ("name", "phone", "mobile", "email", "address", "uscc", "id_number")

#: The staged columns ``stage_form`` gives: every one record preparation reads.
FORM_COLUMNS = (
    "record_key",
    "entity_type",
    "name",
    "name_core",
    "name_region",
    "legal_form",
    "name_pinyin",
    "name_latin",
    "is_branch",
    "uscc",
    "id_number",
    "gender",
    "birth_date",
    "phone",
    "mobile",
    "other_phones",
    "email",
    "province",
    "city",
    "district",
    "address_detail",
    "postcode",
    "contact_mobile",
)


def stage_form(fields: dict[str, str | None], entity_type: str, record_key: str) -> dict[str, Any]:
    """The staged columns ``FORM_COLUMNS`` of one form, as ``stage_records`` stages them.

    Args:
        fields: any of ``FORM_FIELDS``, text already trimmed (None or absent: not given).
        entity_type: company or person.
        record_key: the record key to give the record.
    Returns:
        Column → value (None where ``stage_records`` leaves the cell empty).
    Raises:
        ValueError: a field a form does not have (it would be staged, and this path
            does not stage it).
    """
    unknown = sorted(set(fields) - set(FORM_FIELDS))
    if unknown:
        raise ValueError(f"not a form field: {', '.join(unknown)}")
    out: dict[str, Any] = {"record_key": record_key, "entity_type": entity_type}
    _names(out, fields.get("name"), entity_type)
    _address(out, fields.get("address"))
    _phones(out, fields.get("phone"), fields.get("mobile"))
    out["email"] = standardise_email(fields.get("email"))[0]
    out["uscc"] = standardise_one_uscc(fields.get("uscc"))
    ids = standardise_id_number(fields.get("id_number"))
    out["id_number"] = ids["id_number"]
    # a form has no gender nor birth date of its own: the ID's, when it is a valid one
    out["gender"] = ids["gender"]
    out["birth_date"] = ids["birth_date"]
    out["postcode"] = None
    out["contact_mobile"] = None
    return out


def _names(out: dict[str, Any], raw: str | None, entity_type: str) -> None:
    if entity_type == "company":
        name, core, form, region = split_company_name(normalise_one(raw))
        out["name_latin"] = latin_company_name(core)
        out["is_branch"] = business_kind_of(name, core, form)[0]
    else:
        name = core = clean_person_name(raw)
        form = region = None
        out["name_latin"] = latin_person_name(name)
        out["is_branch"] = None
    out["name"], out["name_core"], out["legal_form"], out["name_region"] = name, core, form, region
    out["name_pinyin"] = pinyin_one(core)


def _address(out: dict[str, Any], raw: str | None) -> None:
    province, city, district, detail, _ = parse_address_places(raw)
    if province is None or city is None or district is None:
        # what a source's own province / city / district columns would fill (a form has
        # none); a district several cities have is parsed again on its own
        given = (district or "").strip()
        if given:
            more = parse_address_places(given)
            province, city, district = (
                part if part is not None else other
                for part, other in zip((province, city, district), more[:3], strict=True)
            )
    out["province"], out["city"], out["district"] = province, city, district
    out["address_detail"] = detail


def _phones(out: dict[str, Any], phone_raw: str | None, mobile_raw: str | None) -> None:
    """The phone and mobile cells to E.164, with ``stage_records``' moves between them."""
    if phone_raw is None and mobile_raw is None:
        out["phone"] = out["mobile"] = out["other_phones"] = None
        return
    area = area_code_of_city(out["city"])
    phone, mobile = (standardise_phone(cell, area) for cell in (phone_raw, mobile_raw))
    phone_is_mobile = phone["kind"] == "mobile"
    move = phone_is_mobile and mobile["e164"] is None
    out["mobile"] = phone["e164"] if move else mobile["e164"]
    keep = not move and not (phone_is_mobile and phone["e164"] == out["mobile"])
    out["phone"] = phone["e164"] if keep else None
    out["other_phones"] = None
    if phone["others"] is not None or mobile["others"] is not None:
        own = {out["phone"], out["mobile"]}
        found = [
            n for cell in (phone["others"], mobile["others"]) for n in (cell or ()) if n not in own
        ]
        out["other_phones"] = list(dict.fromkeys(found)) or None

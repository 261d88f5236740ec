"""Staging: mapped source records → the canonical, standardised customer record.

Every function here works on whole columns (the standardisers themselves work on unique
values), so a million records stage in seconds. A value that cannot be standardised is
kept in its raw form where the schema has a raw column and is always recorded as a
flag in ``quality_flags``; a record is never dropped here (that is the quarantine's job,
see ``sources.mapping``). A field the records do not carry at all (no source maps it; a
duplicate-check form has seven) is not standardised: its columns come back empty and it
raises no flag, exactly as a column of empty cells would, without the cost of one.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa

from sources.ingest import content_hashes
from sources.schema import STAGED_COLUMNS
from sources.standardise import (
    area_code_for_city,
    clean_gender,
    clean_person_names,
    latin_company_names,
    latin_person_names,
    normalise_text,
    parse_addresses,
    parse_amounts,
    parse_dates,
    recognise_business_kinds,
    split_company_names,
    standardise_emails,
    standardise_id_numbers,
    standardise_phones,
    standardise_uscc,
    to_pinyin,
)

#: Free-text fields that only need width / script / whitespace normalisation.
PLAIN_TEXT_FIELDS = (
    "wechat",
    "qq",
    "postcode",
    "industry",
    "customer_category",
    "acquisition_channel",
    "owner",
    "dealer_code",
    "own_dealer_code",
    "contact_title",
)
#: Names of other parties, resolved against golden customers later by the matching model.
PARTY_NAME_FIELDS = ("parent_company_name", "referrer_name")
DATE_FIELDS = ("birth_date", "created_at", "updated_at")


class _Flags:
    """Collects per-row problem codes and renders them as one ';'-separated column."""

    def __init__(self, index: pd.Index) -> None:
        self._index = index
        self._codes: list[tuple[str, pd.Series]] = []

    def add(self, code: str, mask: pd.Series) -> None:
        mask = mask.fillna(False).astype(bool)
        if mask.any():
            self._codes.append((code, mask))

    def render(self) -> pd.Series:
        out = pd.Series("", index=self._index, dtype=object)
        for code, mask in self._codes:
            out = out.where(~mask, out + np.where(out == "", "", ";") + code)
        return out.where(out != "", None)


class _Columns(dict):
    """Staged columns collected one by one, framed once at the end (inserting columns into
    a DataFrame one at a time costs more than the standardising of a single record)."""

    def __init__(self, index: pd.Index) -> None:
        super().__init__()
        self.index = index

    def frame(self, columns: list[str]) -> pd.DataFrame:
        return pd.DataFrame({c: self[c] for c in columns}, index=self.index)


def _col(frame: pd.DataFrame, name: str) -> pd.Series:
    """A mapped field, or an all-empty column when the source does not map it."""
    if name in frame.columns:
        return frame[name].astype(object).where(frame[name].notna(), None)
    return pd.Series(None, index=frame.index, dtype=object)


def stage_records(
    mapped: pd.DataFrame, source_kinds: Mapping[str, str], today: date
) -> pd.DataFrame:
    """Standardise mapped records of any number of sources into ``STAGED_COLUMNS``.

    Args:
        mapped: lineage columns plus canonical text fields (see ``sources.mapping``).
        source_kinds: source name → dealer / key_account / regional / other.
        today: the run date; dates after it are flagged as future dates.
    Returns:
        One row per input record (plus nothing else), in ``STAGED_COLUMNS`` order.
    """
    out = _Columns(mapped.index)
    flags = _Flags(mapped.index)
    out["record_key"] = mapped["source"].astype(str) + ":" + mapped["source_record_id"].astype(str)
    for name in (
        "source",
        "source_record_id",
        "source_file",
        "source_row",
        "ingested_at",
        "record_hash",
        "entity_type",
    ):
        out[name] = mapped[name]
    out["source_kind"] = mapped["source"].map(source_kinds)

    _stage_names(mapped, out)
    _stage_addresses(mapped, out, flags)
    _stage_contacts(mapped, out, flags)
    _stage_identifiers(mapped, out, flags, today)
    for name in PLAIN_TEXT_FIELDS + PARTY_NAME_FIELDS:
        out[name] = normalise_text(_col(mapped, name)) if name in mapped.columns else None
    out["credit_limit"] = parse_amounts(_col(mapped, "credit_limit"))
    flags.add(
        "credit_limit_unparseable",
        _col(mapped, "credit_limit").notna() & out["credit_limit"].isna(),
    )
    for name, clean in (("contact_name", clean_person_names), ("contact_gender", clean_gender)):
        out[name] = clean(_col(mapped, name)) if name in mapped.columns else None
    out["derived_from_record_key"] = None
    out["quality_flags"] = flags.render()
    return out.frame(list(STAGED_COLUMNS))


def _stage_names(mapped: pd.DataFrame, out: _Columns) -> None:
    """Company names split into core / legal form / region, with their branch and
    individual-business markers; person names cleaned; pinyin and Latin form of the core."""
    raw = _col(mapped, "name")
    out["name_raw"] = raw
    is_company = mapped["entity_type"] == "company"
    company = split_company_names(normalise_text(raw[is_company]))
    person = clean_person_names(raw[~is_company])
    out["name"] = pd.concat([company["name"], person]).reindex(out.index)
    out["name_core"] = pd.concat([company["name_core"], person]).reindex(out.index)
    out["legal_form"] = company["legal_form"].reindex(out.index)
    out["name_region"] = company["name_region"].reindex(out.index)
    out["name_pinyin"] = to_pinyin(out["name_core"])
    latin = [latin_company_names(company["name_core"]), latin_person_names(person)]
    out["name_latin"] = pd.concat(latin).reindex(out.index)
    kinds = recognise_business_kinds(company).reindex(out.index)
    for name in ("branch_of_name", "business_kind", "business_owner_name"):
        out[name] = kinds[name]
    out["is_branch"] = kinds["is_branch"].where(is_company, None)


def _stage_addresses(mapped: pd.DataFrame, out: _Columns, flags: _Flags) -> None:
    """Parse the address into province / city / district / detail; mapped parts fill the gaps."""
    raw = _col(mapped, "address")
    out["address_raw"] = raw
    parsed = parse_addresses(raw)
    # mapped province / city / district columns fill what the address line does not say
    gaps = parsed[["province", "city", "district"]].isna().any(axis=1).to_numpy()
    parts = [_col(mapped, f)[gaps].fillna("") for f in ("province", "city", "district")]
    # a district the address names without its city ('鼓楼区…', which four cities have)
    # is placed by the source's own city column
    parts[2] = parts[2].where(parts[2] != "", parsed["district"][gaps].fillna(""))
    given = parts[0].str.cat(parts[1:], sep=" ").str.strip()
    from_parts = parse_addresses(given.where(given != "", None)).reindex(out.index)
    for name in ("province", "city", "district"):
        out[name] = parsed[name].where(parsed[name].notna(), from_parts[name])
    for name in ("address_detail", "address_building", "address_room"):
        out[name] = parsed[name]
    flags.add("address_unparsed", raw.notna() & out["province"].isna() & out["city"].isna())


def _stage_contacts(mapped: pd.DataFrame, out: _Columns, flags: _Flags) -> None:
    """Phones to E.164 (landlines borrow the city's area code); mobiles found among landlines move over."""
    area = area_code_for_city(out["city"])
    phone = standardise_phones(_col(mapped, "phone"), area_code=area)
    mobile = standardise_phones(_col(mapped, "mobile"), area_code=area)

    phone_is_mobile = phone["kind"] == "mobile"
    move = phone_is_mobile & mobile["e164"].isna()
    out["mobile"] = mobile["e164"].where(~move, phone["e164"])
    out["phone"] = phone["e164"].where(
        ~move & ~(phone_is_mobile & (phone["e164"] == out["mobile"])), None
    )
    results = {"phone": phone, "mobile": mobile}
    for name in ("fax", "contact_mobile"):
        if name in mapped.columns:
            results[name] = standardise_phones(_col(mapped, name), area_code=area)
            out[name] = results[name]["e164"]
        else:  # what standardise_phones gives for a column of empty cells
            out[name] = pd.Series(np.nan, index=mapped.index, dtype=object)
    out["phone_extension"] = phone["extension"]
    out["other_phones"] = _other_numbers(phone, mobile, out)
    for name, result in results.items():
        flags.add(
            f"{name}_invalid",
            _col(mapped, name).notna() & ~result["valid"].fillna(False).astype(bool),
        )
    flags.add("mobile_not_mobile", mobile["kind"].isin(["landline", "service"]))

    email = standardise_emails(_col(mapped, "email"))
    out["email"] = email["email"]
    flags.add("email_invalid", email["email"].notna() & ~email["valid"].fillna(False).astype(bool))


def _other_numbers(phone: pd.DataFrame, mobile: pd.DataFrame, out: _Columns) -> pd.Series:
    """The numbers after the first in the phone and mobile cells, without the record's own
    phone and mobile; None where there are none. (A column without a single value gives
    NaN cells, not None.)"""
    result = pd.Series(None, index=out.index, dtype=object)
    several = phone["others"].notna() | mobile["others"].notna()
    for i in np.flatnonzero(several.to_numpy()):
        own = {out["phone"].iat[i], out["mobile"].iat[i]}
        found = [
            n
            for cell in (phone["others"].iat[i], mobile["others"].iat[i])
            for n in (cell if isinstance(cell, list) else ())
            if n not in own
        ]
        result.iat[i] = list(dict.fromkeys(found)) or None
    return result


def _stage_identifiers(mapped: pd.DataFrame, out: _Columns, flags: _Flags, today: date) -> None:
    """USCC and personal IDs checksum-validated; birth date and gender taken from the ID when absent."""
    uscc = standardise_uscc(_col(mapped, "uscc"))
    out["uscc"] = uscc["uscc"]
    flags.add("uscc_invalid", uscc["uscc"].notna() & ~uscc["valid"].fillna(False).astype(bool))

    ids = standardise_id_numbers(_col(mapped, "id_number"))
    out["id_number"] = ids["id_number"]
    flags.add("id_number_invalid", ids["valid"].eq(False))

    gender = clean_gender(_col(mapped, "gender"))
    out["gender"] = gender.where(gender.notna(), ids["gender"])
    flags.add(
        "gender_conflicts_id", gender.notna() & ids["gender"].notna() & (gender != ids["gender"])
    )

    horizon = pd.Timestamp(today)
    for name in DATE_FIELDS:
        if name not in mapped.columns and name != "birth_date":  # the ID gives a birth date
            out[name] = pd.Series(pd.NaT, index=mapped.index, dtype="datetime64[ns]")
            continue
        raw = _col(mapped, name)
        parsed = parse_dates(raw)
        if name == "birth_date":
            parsed = parsed.where(
                parsed.notna(), pd.to_datetime(ids["birth_date"], errors="coerce")
            )
        flags.add(f"{name}_unparseable", raw.notna() & parsed.isna())
        flags.add(f"{name}_in_future", parsed > horizon)
        out[name] = parsed.dt.date.where(parsed.notna(), None)


#: What a contact person's record is made of: its fingerprint (``record_hash``) covers these
#: only, so a change elsewhere on the company's row (its landline, say) does not make the
#: contact a changed record of its own.
CONTACT_CONTENT = ("record_key", "name", "gender", "mobile", "contact_title", "quality_flags")

#: Quality flag of a contact person whose mobile is the company row's (``contact_takes_mobile``).
MOBILE_FROM_COMPANY_ROW = "mobile_from_company_row"


def derive_contact_persons(
    staged: pd.DataFrame, takes_mobile: Collection[str] = ()
) -> pd.DataFrame:
    """Contact persons named on company records, as person records of their own.

    Each gets the record key ``<company record_key>:contact`` and points back to the
    company through ``derived_from_record_key``; the employment relationship is built
    from that link. The contact's own mobile and gender are all it carries: the
    company's address and landline are the company's, not the person's.

    A company row of a source in ``takes_mobile`` (config ``contact_takes_mobile``, on by
    default) that names a contact person but gives the contact no mobile of their own
    gives the contact the row's mobile: dealers and regional offices write the contact's
    mobile in the same ``手机`` column person rows use for their own, so the mobile on a
    company row that names someone is most often that person's. It stays the company's
    mobile too. Without it the contact record carries a name only and cannot reach the
    person customer it is. Such a contact is flagged ``mobile_from_company_row``: the
    mobile may still be the company's own, so it is weaker evidence than the contact's own.

    A contact's ``record_hash`` covers its own content (``CONTACT_CONTENT``), not the whole
    company row, so a sync treats it as changed only when the contact changed.
    """
    companies = staged[(staged["entity_type"] == "company") & staged["contact_name"].notna()]
    persons = pd.DataFrame(
        index=pd.RangeIndex(len(companies)), columns=list(STAGED_COLUMNS), dtype=object
    )
    for name in (
        "source",
        "source_kind",
        "source_file",
        "source_row",
        "ingested_at",
    ):
        persons[name] = companies[name].to_numpy()
    persons["record_key"] = (companies["record_key"] + ":contact").to_numpy()
    persons["source_record_id"] = (companies["source_record_id"] + ":contact").to_numpy()
    persons["entity_type"] = "person"
    persons["name"] = persons["name_core"] = persons["name_raw"] = companies[
        "contact_name"
    ].to_numpy()
    contact_names = pd.Series(companies["contact_name"].to_numpy(), dtype=object)
    persons["name_pinyin"] = to_pinyin(contact_names).to_numpy()
    persons["name_latin"] = latin_person_names(contact_names).to_numpy()
    persons["gender"] = companies["contact_gender"].to_numpy()
    own = companies["contact_mobile"]
    borrow = own.isna() & companies["source"].isin(list(takes_mobile))
    persons["mobile"] = own.where(~borrow, companies["mobile"]).to_numpy()
    borrowed = borrow & companies["mobile"].notna()
    persons["quality_flags"] = (
        pd.Series(MOBILE_FROM_COMPANY_ROW, index=borrowed.index, dtype=object)
        .where(borrowed, None)
        .to_numpy()
    )
    persons["contact_title"] = companies["contact_title"].to_numpy()
    persons["derived_from_record_key"] = companies["record_key"].to_numpy()
    persons["record_hash"] = content_hashes(
        pa.Table.from_pandas(persons[list(CONTACT_CONTENT)].astype(object), preserve_index=False),
        list(CONTACT_CONTENT),
    ).to_numpy()
    return persons

"""The key-account team's workbook: one XLSX, sheet 'Accounts', English headers.

Large customers and the channel dealers themselves are managed here. The Hong Kong and
Taiwan business units type names and addresses in traditional script; the address is
split over Province / City / Address Line 1 / Address Line 2; Created is a real Excel
date and Credit Limit a number. Some names are typed in English or pinyin
("Xiamen Kuaixin Computer Co., Ltd.", "Zhang Wei").
"""

from __future__ import annotations

import random

import opencc

from sources.demo import cases, mess
from sources.demo.ids import with_typo
from sources.demo.world import Customer

HEADERS = (
    "Account ID",
    "Account Name",
    "Account Type",
    "Business Unit",
    "Category",
    "Dealer Code",
    "USCC",
    "Province",
    "City",
    "Address Line 1",
    "Address Line 2",
    "Phone",
    "Mobile",
    "Email",
    "Contact Name",
    "Contact Title",
    "Contact Mobile",
    "Parent Account",
    "Credit Limit",
    "Account Owner",
    "Created",
)
SHEET = "Accounts"
TYPE_VALUES = {"Company": "company", "Individual": "person"}
OWNERS = ("Linda Chen", "Kevin Wang", "陈晓红", "Jason Li", "周敏")
_CONVERTERS = {"HK": opencc.OpenCC("s2hk"), "TW": opencc.OpenCC("s2tw")}


def business_unit(rng: random.Random) -> str:
    roll = rng.random()
    return "HK" if roll < 0.08 else "TW" if roll < 0.13 else "CN"


def _split_street(street: str) -> tuple[str, str]:
    """'湖滨南路123号3楼' → ('湖滨南路123号', '3楼')."""
    head, sep, tail = street.partition("号")
    return (head + sep, tail) if sep else (street, "")


def row(
    c: Customer,
    record_id: str,
    people: dict[str, Customer],
    carry_contact: bool,
    created: object,
    rng: random.Random,
    marks: cases.Marks | None = None,
    old_name: bool = False,
) -> list[object]:
    """One key-account row for customer ``c`` (``created`` is a date, written as an Excel
    date; the planted cases it carries go to ``marks``; ``old_name``: the company's name
    before it was renamed)."""
    marks = marks if marks is not None else cases.Marks()
    unit = business_unit(rng)
    street_1, street_2 = _split_street(mess.street_of(c, rng, marks))
    if rng.random() < 0.3:
        street_1 = (mess.district_of(c, rng, marks) or c.district) + street_1
    phone = mess.phone_of(c, rng)
    if c.entity_type == "company":
        name = _company_name(c, rng, marks, old_name)
        uscc = mess.maybe(c.uscc, 1.0 if c.old_brand else 0.85, rng)
        if uscc and rng.random() < 0.04:
            uscc = with_typo(uscc, rng.randint(8, 16), rng.randint(0, 8))
        category = "Dealer" if c.dealer_code else ("Enterprise" if c.value > 2 else "SMB")
        credit: object = round(c.value * 20, 0) * 1000 if rng.random() < 0.8 else ""
    else:
        name, uscc, category, credit = _person_name(c.name, rng, marks), "", "Individual", ""
    contact_name = contact_title = contact_mobile = ""
    if c.contact_id and (carry_contact or rng.random() < 0.8):
        contact = people[c.contact_id]
        contact_name = contact.name
        if rng.random() < cases.RATES[cases.LATIN_PERSON_NAME] / 2:
            contact_name = cases.latin_person_name(contact.name, rng)
            marks.add(cases.LATIN_PERSON_NAME, contact=True)
        contact_title = c.contact_title or ""
        contact_mobile = mess.maybe(
            contact.mobile and mess.mobile_variant(contact.mobile, rng), 0.8, rng
        )
    parent = people[c.parent_id].name if c.parent_id else ""
    text = {
        "name": name,
        "province": c.city.province if rng.random() < 0.8 else "",
        "city": c.city.name if rng.random() < 0.7 else c.city.short,
        "line1": street_1,
        "line2": street_2,
        "contact": contact_name,
        "parent": parent,
    }
    if unit in _CONVERTERS:
        text = {k: _CONVERTERS[unit].convert(val) for k, val in text.items()}
    landline = ""
    if phone and rng.random() < 0.9:
        landline = f"+86 {c.city.area_code} {phone}"
        if c.entity_type == "company" and rng.random() < cases.RATES[cases.PHONE_EXTENSION]:
            landline = cases.with_extension(landline, rng)
            marks.add(cases.PHONE_EXTENSION)
    return [
        record_id,
        text["name"],
        "Company" if c.entity_type == "company" else "Individual",
        unit,
        category,
        c.dealer_code or "",
        uscc,
        text["province"],
        text["city"],
        text["line1"],
        text["line2"],
        landline,
        mess.own_mobile(c, 0.8, rng, marks),
        mess.maybe(c.email and mess.email_variant(c.email, rng), 0.8, rng),
        text["contact"],
        contact_title,
        contact_mobile,
        text["parent"],
        credit,
        rng.choice(OWNERS),
        created,
    ]


def _company_name(c: Customer, rng: random.Random, marks: cases.Marks, old_name: bool) -> str:
    """The company's name as the team typed it: now and then in English or pinyin."""
    if old_name:
        marks.add(cases.RENAMED)
        return mess.name_typo(mess.company_name_variant(c, rng, old_name=True), rng, marks)
    if (
        c.owner_id is None
        and c.trade in cases.TRADE_ENGLISH
        and rng.random() < cases.RATES[cases.LATIN_COMPANY_NAME]
    ):
        marks.add(cases.LATIN_COMPANY_NAME)
        city = (c.name_city or c.city).short
        name = cases.latin_company_name(city, c.brand, c.trade, c.legal_form, rng)
        return name + (cases.latin_branch_suffix(c.city.short) if c.name_suffix else "")
    return mess.name_typo(mess.company_name_variant(c, rng), rng, marks)


def _person_name(name: str, rng: random.Random, marks: cases.Marks) -> str:
    """The person's name as the team typed it: now and then in pinyin."""
    if rng.random() < cases.RATES[cases.LATIN_PERSON_NAME]:
        marks.add(cases.LATIN_PERSON_NAME)
        return cases.latin_person_name(name, rng)
    return mess.name_typo(mess.person_name_variant(name, rng), rng, marks)

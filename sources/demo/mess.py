"""How people actually type a customer into a department's system.

Each function takes the true value and a random generator and returns one way a clerk
wrote it: legal forms dropped or spelled out, the city moved into parentheses or left
out, a homophone typed for a character heard on the phone, numbers with and without
area code or country code, addresses with and without province, upper-case e-mail,
dates in the office's habit. Probabilities are set so that most values are clean and
a realistic minority is not.
"""

from __future__ import annotations

import random
from datetime import date

from sources.demo import cases
from sources.demo import vocabulary as v
from sources.demo.places import City
from sources.demo.world import Customer, company_name

_FULL_WIDTH = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}


def homophone_typo(text: str, rng: random.Random) -> str:
    """Replace one character with a same-sounding one, if the text has one to replace."""
    positions = [i for i, ch in enumerate(text) if ch in v.HOMOPHONES]
    if not positions:
        return text
    i = rng.choice(positions)
    return text[:i] + v.HOMOPHONES[text[i]] + text[i + 1 :]


def full_width(text: str) -> str:
    """ASCII letters, digits and brackets typed with a full-width input method."""
    return "".join(_FULL_WIDTH.get(ch, ch) for ch in text).replace("(", "（").replace(")", "）")


def company_name_variant(c: Customer, rng: random.Random, old_name: bool = False) -> str:
    """One way a company's name was entered (``old_name``: with the trade name it had before)."""
    roll = rng.random()
    form, style = c.legal_form, c.name_style
    brand = c.old_brand if old_name and c.old_brand else c.brand
    if roll < 0.5:
        pass
    elif roll < 0.6 and form:
        form = None  # 厦门快心电脑
    elif roll < 0.7 and form == "有限公司":
        form = "有限责任公司"
    elif roll < 0.8 and style != "bare":
        style = rng.choice([s for s in ("prefix", "paren", "prefix_shi") if s != style])
    elif roll < 0.86:
        style = "bare"  # the city left out
    elif roll < 0.9:
        brand = homophone_typo(brand, rng)
    name = company_name(c.name_city or c.city, brand, c.trade, form, style) + c.name_suffix
    if style == "paren" and rng.random() < 0.3:
        name = name.replace("（", "(").replace("）", ")")
    if rng.random() < 0.02:
        name = " " + name + " "
    return name


def person_name_variant(name: str, rng: random.Random) -> str:
    """One way a person's name was entered: mostly right, a homophone or a space now and then."""
    roll = rng.random()
    if roll < 0.04:
        return homophone_typo(name, rng)
    if roll < 0.07 and len(name) == 2:
        return f"{name[0]} {name[1]}"
    return name


def landline_variant(city: City, local: str, rng: random.Random) -> str:
    """A landline as typed: 0592-5551234, (0592)5551234, +86 592 5551234, 5551234, ..."""
    area = city.area_code
    roll = rng.random()
    if roll < 0.35:
        return f"0{area}-{local}"
    if roll < 0.5:
        return f"(0{area}){local}"
    if roll < 0.6:
        return f"+86 {area} {local}"
    if roll < 0.72:
        return local  # no area code: the clerk knew the city
    if roll < 0.85:
        return f"0{area} {local[:-4]} {local[-4:]}"
    return f"0{area}{local}"


def mobile_variant(mobile: str, rng: random.Random) -> str:
    """A mobile as typed: plain, grouped with spaces, or with the country code."""
    roll = rng.random()
    if roll < 0.55:
        return mobile
    if roll < 0.75:
        return f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}"
    if roll < 0.88:
        return f"+86 {mobile}"
    if roll < 0.95:
        return f"+86-{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}"
    return f"{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}"


def street_of(c: Customer, rng: random.Random, marks: cases.Marks | None = None) -> str:
    """The street part of the address: an old one now and then (the customer moved), the
    building and room after it when the customer has one and the clerk wrote it."""
    if c.old_street and rng.random() < 0.5:
        return c.old_street
    if c.building and rng.random() < 0.7:
        if marks is not None:
            marks.add(cases.BUILDING_ROOM)
        return c.street + c.building
    return c.street


def district_of(c: Customer, rng: random.Random, marks: cases.Marks | None = None) -> str | None:
    """The old county name of the customer's district now and then (萧山市 for 萧山区), else None."""
    old = c.city.old_name(c.district)
    if old is None or rng.random() >= 0.35:
        return None
    if marks is not None:
        marks.add(cases.OLD_COUNTY_NAME)
    return old


def address_variant(c: Customer, rng: random.Random, marks: cases.Marks | None = None) -> str:
    """A one-line address: with or without province, abbreviated, with the district but no
    city, without the district, or with the district's old county name."""
    street = street_of(c, rng, marks)
    city, district = c.city, c.district
    old = district_of(c, rng, marks)
    if old is not None:
        return f"{city.province}{old}{street}" if rng.random() < 0.5 else f"{old}{street}"
    roll = rng.random()
    if roll < 0.3:
        return f"{city.province}{city.name}{district}{street}"
    if roll < 0.6:
        return f"{city.name}{district}{street}"
    if roll < 0.72:
        short_district = (
            district[:-1] if len(district) > 2 and district.endswith("区") else district
        )
        return f"{city.province_short}{city.short}{short_district}{street}"
    if roll < 0.85:
        return f"{city.short}{district}{street}"
    if roll < 0.93:
        if marks is not None:
            marks.add(cases.DISTRICT_ONLY)
        return f"{district}{street}"  # no city
    return f"{city.name}{street}"  # no district


def landline_cell(
    c: Customer, local: str, rng: random.Random, marks: cases.Marks, *, extension: bool
) -> str:
    """A landline cell: now and then a digit missing, and (``extension``) an extension."""
    if len(local) > 6 and rng.random() < cases.RATES[cases.MISSING_LANDLINE_DIGIT]:
        local = cases.missing_digit(local, rng)
        marks.add(cases.MISSING_LANDLINE_DIGIT)
    cell = landline_variant(c.city, local, rng)
    if extension and rng.random() < cases.RATES[cases.PHONE_EXTENSION]:
        cell = cases.with_extension(cell, rng)
        marks.add(cases.PHONE_EXTENSION)
    return cell


def mobile_cell(mobile: str, rng: random.Random, marks: cases.Marks, second: str | None) -> str:
    """A mobile cell: both numbers of a customer who has two, or two digits transposed."""
    if second and rng.random() < cases.RATES[cases.TWO_NUMBERS]:
        marks.add(cases.TWO_NUMBERS)
        return cases.two_numbers(mobile, second, rng)
    if rng.random() < cases.RATES[cases.TRANSPOSED_MOBILE]:
        mobile = cases.transposed(mobile, rng)
        marks.add(cases.TRANSPOSED_MOBILE)
    return mobile_variant(mobile, rng)


def own_mobile(c: Customer, keep: float, rng: random.Random, marks: cases.Marks) -> str:
    """The customer's own mobile cell, or an empty one with probability ``1 - keep``."""
    if c.mobile is None or rng.random() >= keep:
        return ""
    return mobile_cell(c.mobile, rng, marks, c.second_mobile)


def name_typo(name: str, rng: random.Random, marks: cases.Marks) -> str:
    """Now and then one character replaced by a look-alike (形近字)."""
    if rng.random() < cases.RATES[cases.LOOKALIKE_CHAR]:
        typo = cases.lookalike_typo(name, rng)
        if typo is not None:
            marks.add(cases.LOOKALIKE_CHAR)
            return typo
    return name


def email_variant(email: str, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.12:
        return email.upper()
    if roll < 0.2:
        return email[0].upper() + email[1:]
    if roll < 0.25:
        return f" {email} "
    return email


def phone_of(c: Customer, rng: random.Random) -> str | None:
    """The customer's landline, or the old one they no longer answer."""
    if c.old_phone and rng.random() < 0.5:
        return c.old_phone
    return c.phone


def date_variant(day: date, style: str, rng: random.Random) -> str:
    """A date as an office writes it: iso, slash (2024/3/25), chinese (2024年3月25日), compact."""
    if style == "mixed":
        style = rng.choice(("slash", "chinese", "compact"))
    if style == "slash":
        return f"{day.year}/{day.month}/{day.day}"
    if style == "chinese":
        return f"{day.year}年{day.month}月{day.day}日"
    if style == "compact":
        return day.strftime("%Y%m%d")
    return day.isoformat()


def maybe(value: str | None, keep: float, rng: random.Random) -> str:
    """The value, or an empty cell with probability ``1 - keep``."""
    return value if value is not None and rng.random() < keep else ""

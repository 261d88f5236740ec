"""The demo's true world: who the customers really are and how they are related.

Before any export is written, the generator decides the truth: companies (shops, firms,
chains with a parent and branches in several cities, the channel dealers themselves)
and persons (individual customers, contact persons of companies, families sharing an
address and a landline, people referred by other customers). The exports are then
messy views of this truth, and the truth files let every later stage be measured.

A few hard cases are planted whatever the size, so that every demo has them: a chain
whose subsidiaries share a brand in different cities, very common names (张伟) carried by
different people in different cities, and a family at one address. Beside them, the
cases of ``sources.demo.cases`` that belong to a customer rather than to one record:
branches of a head office (``…有限公司福州分公司``), individual businesses named after
their owner (``张伟文印店``, or just ``张伟``), companies renamed since one of their
records was typed, second mobiles, building and room, districts that were counties.
"""

from __future__ import annotations

import functools
import itertools
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

import phonenumbers

from sources.demo import cases
from sources.demo import vocabulary as v
from sources.demo.ids import generate_id_number, generate_uscc
from sources.demo.places import CITIES, CITY_CODE, City

#: Mobile prefixes of the three carriers.
MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "156",
    "157",
    "158",
    "159",
    "177",
    "180",
    "181",
    "182",
    "186",
    "187",
    "188",
    "189",
    "199",
)


@functools.cache
def _valid_block(e164_head: str, length: int) -> bool:
    """Whether numbers of this length starting with ``e164_head`` are in the numbering plan.

    Validity in the CN plan depends on the leading digits only, so one number decides
    for its block (checked with phonenumbers once per block, not per number).
    """
    return phonenumbers.is_valid_number(phonenumbers.parse(e164_head.ljust(length, "0")))


def _valid(e164: str) -> bool:
    return _valid_block(e164[:8], len(e164))


#: Draws of a 2-character brand before a third character is added (_Builder.free_brand).
_TWO_CHARACTER_DRAWS = 64

#: Records per customer with records: 1 (46%), 2 (36%), 3 (12%), 4 (6%): mean ~1.8.
RECORD_COUNTS = ((1, 46), (2, 36), (3, 12), (4, 6))


@dataclass
class Customer:
    """One real customer (or a contact person who is not a customer in their own right)."""

    customer_id: str
    entity_type: str  # company | person
    name: str  # the true name, as the company registry or the person's ID card has it
    city: City
    district: str
    district_code: str
    street: str  # street, number and floor: 湖滨南路123号3楼
    phone: str | None  # local landline digits, without area code
    mobile: str | None
    email: str | None
    has_records: bool = True
    # companies
    brand: str = ""
    trade: str = ""
    legal_form: str | None = None
    name_style: str = "prefix"  # prefix: 厦门洪来文印店; paren: 快心电脑（厦门）有限公司; bare
    uscc: str | None = None
    industry: str | None = None
    parent_id: str | None = None
    contact_id: str | None = None
    contact_title: str | None = None
    hotline: str | None = None  # a 400 number shared by a chain's branches
    dealer_code: str | None = None  # set for the channel dealers themselves
    # persons
    id_number: str | None = None
    birth_date: date | None = None
    gender: str | None = None  # M | F
    referrer_id: str | None = None
    # mess that belongs to the customer, not to a record: an old phone and an old address
    old_phone: str | None = None
    old_street: str | None = None
    value: float = 1.0  # relative spend (Pareto-shaped)
    n_records: int = 0
    records: list[tuple[str, str]] = field(default_factory=list)  # (source, source_record_id)
    # planted cases (sources.demo.cases) that belong to the customer
    kinds: list[str] = field(default_factory=list)  # cases every record of it carries
    old_brand: str | None = None  # renamed: the trade name one of its records still has
    name_city: City | None = None  # branches: the head office's city, written in the name
    name_suffix: str = ""  # branches: 福州分公司
    owner_id: str | None = None  # an individual business named after its owner
    second_mobile: str | None = None
    building: str = ""  # 金山大厦A座1205室, written after the street by some records

    @property
    def address(self) -> str:
        return f"{self.city.province}{self.city.name}{self.district}{self.street}"


@dataclass
class World:
    customers: list[Customer]
    relationships: list[tuple[str, str, str]]  # (from, to, type)
    dealers: list[Customer]

    def by_id(self) -> dict[str, Customer]:
        return {c.customer_id: c for c in self.customers}


class _Builder:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.customers: list[Customer] = []
        self.relationships: list[tuple[str, str, str]] = []
        self.used_company_names: set[tuple[str, str]] = set()
        self.used_phones: set[tuple[str, str]] = set()
        self.used_mobiles: set[str] = set()
        self.with_records = 0  # customers that appear in some export
        self._city_weights = [c.weight for c in CITIES]

    # --- primitives ------------------------------------------------------------------
    def _append(self, customer: Customer) -> None:
        self.customers.append(customer)
        self.with_records += customer.has_records

    def _next_id(self) -> str:
        return f"C{len(self.customers) + 1:07d}"

    def city(self) -> City:
        return self.rng.choices(CITIES, weights=self._city_weights)[0]

    def landline(self, city: City) -> str:
        """A landline number nobody else has, valid by the numbering plan (local digits only)."""
        while True:
            number = self.rng.choice("2356") + "".join(
                self.rng.choices("0123456789", k=city.local_digits - 1)
            )
            if (city.area_code, number) not in self.used_phones and _valid(
                f"+86{city.area_code}{number}"
            ):
                self.used_phones.add((city.area_code, number))
                return number

    def mobile(self) -> str:
        """A mobile number nobody else has, on a prefix the carriers really use."""
        while True:
            number = self.rng.choice(MOBILE_PREFIXES) + "".join(self.rng.choices("0123456789", k=8))
            if number not in self.used_mobiles and _valid(f"+86{number}"):
                self.used_mobiles.add(number)
                return number

    def street(self, city: City) -> str:
        rng = self.rng
        base = f"{rng.choice(city.streets)}{rng.randint(1, 399)}号"
        extra = rng.random()
        if extra < 0.3:
            return base + f"{rng.randint(2, 28)}楼"
        if extra < 0.5:
            return base + f"{rng.randint(2, 28)}{rng.randint(1, 20):02d}室"
        if extra < 0.6:
            return base + f"{rng.choice('ABCD')}栋{rng.randint(2, 20)}{rng.randint(1, 12):02d}"
        return base

    def free_brand(self, city: City, word: str, avoid: str | None = None) -> str:
        """A brand no company in the city trades under with this trade word, now taken.

        Two brand characters, as Chinese trade names mostly are; after 64 draws that are
        all taken (a city's 2-character names nearly used up, which happens only in demos
        of millions of records) a third character is added, so the draw always ends and
        smaller demos keep their exact bytes.
        """
        rng = self.rng
        for tries in itertools.count():
            brand = rng.choice(v.BRAND_CHARS) + rng.choice(v.BRAND_CHARS)
            if tries >= _TWO_CHARACTER_DRAWS:
                brand += rng.choice(v.BRAND_CHARS)
            if brand != avoid and (city.name, brand + word) not in self.used_company_names:
                self.used_company_names.add((city.name, brand + word))
                return brand
        raise AssertionError("unreachable")

    def pareto_value(self) -> float:
        return self.rng.paretovariate(1.1)

    def person_name(self, surname: str | None = None) -> str:
        rng = self.rng
        if surname is None and rng.random() < 0.03:
            return rng.choice(v.COMMON_NAMES)
        surname = surname or rng.choices(v.SURNAMES, weights=v.SURNAME_WEIGHTS)[0]
        chars = v.RARE_GIVEN_CHARS if rng.random() < 0.004 else v.GIVEN_CHARS
        given = rng.choice(chars) + (rng.choice(v.GIVEN_CHARS) if rng.random() < 0.6 else "")
        return surname + given

    # --- customers -------------------------------------------------------------------
    def add_person(
        self, city: City | None = None, name: str | None = None, has_records: bool = True
    ) -> Customer:
        rng = self.rng
        city = city or self.city()
        district, code = rng.choice(city.districts)
        name = name or self.person_name()
        gender = rng.choice("MF")
        born = date(1955, 1, 1) + timedelta(days=rng.randint(0, 365 * 48))
        email = None
        if rng.random() < 0.5:
            email = f"{_latin(name, rng)}{born.year % 100:02d}@{rng.choice(v.EMAIL_DOMAINS)}"
        person = Customer(
            customer_id=self._next_id(),
            entity_type="person",
            name=name,
            city=city,
            district=district,
            district_code=code,
            street=self.street(city),
            phone=self.landline(city) if rng.random() < 0.3 else None,
            mobile=self.mobile(),
            email=email,
            has_records=has_records,
            id_number=generate_id_number(rng, born, gender, region_code=code),
            birth_date=born,
            gender=gender,
            value=self.pareto_value() * 0.3,
        )
        if rng.random() < 0.08:
            person.old_street = self.street(city)
        if rng.random() < 0.1:
            person.old_phone = self.landline(city)
        if rng.random() < 0.08:
            person.second_mobile = self.mobile()
        if rng.random() < 0.1:
            person.street, person.building = _base(person.street), cases.building_of("person", rng)
        self._append(person)
        return person

    def add_company(
        self,
        city: City | None = None,
        brand: str | None = None,
        trade: tuple[str, str, bool] | None = None,
        name_style: str | None = None,
        legal_form: str | None = None,
    ) -> Customer:
        rng = self.rng
        city = city or self.city()
        trade = trade or rng.choice(v.TRADES)
        word, industry, is_shop = trade
        if brand is None or (city.name, brand + word) in self.used_company_names:
            brand = self.free_brand(city, word)
        else:
            self.used_company_names.add((city.name, brand + word))
        if legal_form is None:
            legal_form = (
                None if is_shop else ("股份有限公司" if rng.random() < 0.06 else "有限公司")
            )
        if name_style is None:
            name_style = (
                "prefix" if is_shop or rng.random() < 0.55 else rng.choice(("paren", "prefix_shi"))
            )
        district, code = rng.choice(city.districts)
        company = Customer(
            customer_id=self._next_id(),
            entity_type="company",
            name=company_name(city, brand, word, legal_form, name_style),
            city=city,
            district=district,
            district_code=code,
            street=self.street(city),
            phone=self.landline(city),
            mobile=self.mobile() if is_shop or rng.random() < 0.3 else None,
            email=(
                f"{_latin(brand + word, rng)[:10]}@{rng.choice(v.EMAIL_DOMAINS)}"
                if rng.random() < 0.5
                else None
            ),
            brand=brand,
            trade=word,
            legal_form=legal_form,
            name_style=name_style,
            uscc=generate_uscc(rng, region_code=city.adcode, category="92" if is_shop else "91"),
            industry=industry,
            value=self.pareto_value(),
        )
        if rng.random() < 0.1:
            company.old_phone = self.landline(city)
        if rng.random() < 0.06:
            company.old_street = self.street(city)
        if company.mobile and rng.random() < 0.06:
            company.second_mobile = self.mobile()
        if rng.random() < 0.35:
            company.street = _base(company.street)
            company.building = cases.building_of("company", rng)
        self._append(company)
        return company

    def give_contact(self, company: Customer, existing: list[Customer]) -> None:
        """A contact person for the company: usually nobody else, sometimes a customer too."""
        rng = self.rng
        if existing and rng.random() < 0.15:
            person = rng.choice(existing)
        else:
            person = self.add_person(city=company.city, has_records=False)
        company.contact_id = person.customer_id
        company.contact_title = rng.choice(v.CONTACT_TITLES)
        self.relationships.append((company.customer_id, person.customer_id, "employment"))

    def add_chain(self, cities: list[City]) -> list[Customer]:
        """A parent company and branches named '<brand>（<city>）有限公司' in other cities."""
        rng = self.rng
        trade = rng.choice([t for t in v.TRADES if not t[2]])
        parent = self.add_company(
            city=cities[0], trade=trade, name_style="bare", legal_form="股份有限公司"
        )
        parent.hotline = "400" + "".join(rng.choices("0123456789", k=7))
        branches = []
        for city in cities[1:]:
            branch = self.add_company(
                city=city,
                brand=parent.brand,
                trade=trade,
                name_style="paren",
                legal_form="有限公司",
            )
            branch.parent_id = parent.customer_id
            branch.hotline = parent.hotline
            branch.kinds.append(cases.SUBSIDIARY)
            self.relationships.append((parent.customer_id, branch.customer_id, "holding"))
            branches.append(branch)
        return [parent, *branches]

    def add_branch(self, head: Customer, city: City) -> Customer:
        """A branch of ``head`` in ``city``: '<head office's name><city>分公司', its own customer."""
        trade = next(t for t in v.TRADES if t[0] == head.trade)
        branch = self.add_company(city=city, trade=trade, legal_form=head.legal_form)
        branch.brand, branch.name_style = head.brand, head.name_style
        branch.name_city, branch.name_suffix = head.city, f"{city.short}分公司"
        branch.name = registered_name(branch)
        branch.kinds.append(cases.BRANCH)
        self.relationships.append((head.customer_id, branch.customer_id, "branch"))
        return branch

    def add_owned_shop(self) -> Customer:
        """An individual business (个体工商户) named after its owner: 张伟文印店, or just 张伟.

        The shop's mobile is the owner's; half the shops sit at the owner's address. The
        owner is a customer in their own right half of the time (then ``owned_by``).
        """
        rng = self.rng
        owner = self.add_person(has_records=rng.random() < 0.5)
        shop = self.add_company(city=owner.city, trade=rng.choice([t for t in v.TRADES if t[2]]))
        shop.brand = owner.name
        shop.trade = shop.trade if rng.random() < 0.7 else ""
        shop.legal_form, shop.name_style = None, "bare"
        shop.name = registered_name(shop)
        shop.mobile, shop.owner_id = owner.mobile, owner.customer_id
        if rng.random() < 0.5:
            shop.district, shop.district_code = owner.district, owner.district_code
            shop.street, shop.building = owner.street, owner.building
        shop.kinds.append(cases.INDIVIDUAL_BUSINESS)
        if owner.has_records:
            self.relationships.append((shop.customer_id, owner.customer_id, "owned_by"))
        return owner

    def add_family_member(self, person: Customer) -> Customer:
        """Someone living with ``person``: same surname, address and landline, own mobile."""
        if person.phone is None:
            person.phone = self.landline(person.city)
        member = self.add_person(city=person.city, name=self.person_name(surname=person.name[0]))
        while member.name == person.name:
            member.name = self.person_name(surname=person.name[0])
        member.district, member.district_code, member.street = (
            person.district,
            person.district_code,
            person.street,
        )
        member.phone = person.phone
        member.old_street = None
        member.building = person.building
        for someone in (person, member):
            if cases.FAMILY_MEMBER not in someone.kinds:
                someone.kinds.append(cases.FAMILY_MEMBER)
        self.relationships.append((person.customer_id, member.customer_id, "family"))
        return member


def _base(street: str) -> str:
    """'湖滨南路123号3楼' → '湖滨南路123号': the street and number, before a building is named."""
    head, sep, _ = street.partition("号")
    return head + sep


def registered_name(c: Customer, brand: str | None = None) -> str:
    """The company's registered name (with ``brand`` in place of its own: the old name)."""
    name = company_name(
        c.name_city or c.city, brand or c.brand, c.trade, c.legal_form, c.name_style
    )
    return name + c.name_suffix


def company_name(city: City, brand: str, word: str, legal_form: str | None, style: str) -> str:
    """A company's registered name in one of the ways Chinese names carry their city."""
    form = legal_form or ""
    if style == "paren":
        return f"{brand}{word}（{city.short}）{form}"
    if style == "prefix_shi":
        return f"{city.name}{brand}{word}{form}"
    if style == "bare":
        return f"{brand}{word}{form}"
    return f"{city.short}{brand}{word}{form}"


def _latin(text: str, rng: random.Random) -> str:
    """A mailbox name from the pinyin of ``text`` (as people pick them)."""
    syllables = cases.pinyin_of(text)
    if rng.random() < 0.5:
        return "".join(syllables)
    return syllables[0] + "".join(s[0] for s in syllables[1:])


def build_world(customers: int, rng: random.Random) -> World:
    """Decide the truth: ``customers`` customers with records, plus contact persons."""
    b = _Builder(rng)
    xiamen, fuzhou, quanzhou = CITIES[0], CITIES[1], CITIES[2]
    planted: list[Customer] = []
    # hard cases every demo has
    planted += b.add_chain([xiamen, fuzhou, quanzhou])
    planted.append(b.add_company(city=xiamen, brand="洪来", trade=v.TRADES[0]))
    for city in (xiamen, fuzhou):
        planted.append(b.add_person(city=city, name="张伟"))
    head = b.add_person(city=xiamen)
    planted += [head, b.add_family_member(head)]

    n_dealers = max(8, min(60, customers // 250))
    dealers: list[Customer] = []
    for i in range(n_dealers):
        city = CITIES[i % len(CITIES)] if i < len(CITIES) else b.city()
        dealer = b.add_company(city=city, trade=v.TRADES[10], legal_form="有限公司")
        dealer.dealer_code = f"{CITY_CODE[city.name]}{sum(d.city is city for d in dealers) + 1:02d}"
        dealers.append(dealer)

    # a branch of a head office, and a shop named after its owner who is a customer too
    head = b.add_company(city=xiamen, trade=v.TRADES[4], legal_form="有限公司", name_style="prefix")
    planted += [head, b.add_branch(head, fuzhou)]
    owner = b.add_owned_shop()
    while not owner.has_records:
        owner = b.add_owned_shop()
    planted.append(owner)

    persons: list[Customer] = [c for c in planted if c.entity_type == "person"]
    while b.with_records < customers:
        roll = rng.random()
        if roll < 0.015 and customers - b.with_records > 4:
            chain_cities = rng.sample(CITIES, rng.randint(2, 4))
            b.add_chain(chain_cities)
        elif roll < 0.025:
            head = b.add_company(trade=rng.choice([t for t in v.TRADES if not t[2]]))
            for city in rng.sample([c for c in CITIES if c is not head.city], rng.randint(1, 2)):
                b.add_branch(head, city)
        elif roll < 0.055:
            owner = b.add_owned_shop()
            if owner.has_records:
                persons.append(owner)
        elif roll < 0.58:
            b.add_company()
        else:
            person = b.add_person()
            persons.append(person)
            if rng.random() < 0.06:
                persons.append(b.add_family_member(person))
            elif len(persons) > 10 and rng.random() < 0.05:
                referrer = rng.choice(persons[:-1])
                person.referrer_id = referrer.customer_id
                b.relationships.append((referrer.customer_id, person.customer_id, "referral"))

    for company in [c for c in b.customers if c.entity_type == "company"]:
        if company.owner_id is None and (rng.random() < 0.75 or company is planted[0]):
            b.give_contact(company, persons)
    for customer in b.customers:
        if customer.has_records:
            customer.n_records = rng.choices(
                [n for n, _ in RECORD_COUNTS], weights=[w for _, w in RECORD_COUNTS]
            )[0]
    _rename_some(b, rng)
    return World(customers=b.customers, relationships=b.relationships, dealers=dealers)


def _rename_some(b: _Builder, rng: random.Random) -> None:
    """Companies renamed since one of their records was typed (the planted one always).

    Only ordinary companies with two records or more: a renamed company's old name is on
    one record, its new name on another; credit code, address and phone stay its own.
    """
    eligible = [
        c
        for c in b.customers
        if c.entity_type == "company"
        and c.trade
        and not (c.dealer_code or c.parent_id or c.owner_id or c.name_suffix or c.hotline)
    ]
    for i, company in enumerate(eligible):
        if i == 0 or rng.random() < 0.06:
            company.n_records = max(company.n_records, 2)
            company.old_brand = b.free_brand(company.city, company.trade, avoid=company.brand)

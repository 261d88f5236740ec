"""Regional offices' customer lists: one CSV per province office, UTF-8 with BOM, Chinese headers.

Offices register individuals with their resident ID, birth date and gender, record who
referred a customer, and write dates in the office's own habit (2024/3/25, 2024年3月25日
or 20240325). Province and city sit in columns of their own.
"""

from __future__ import annotations

import random
from datetime import date

from sources.demo import cases, mess
from sources.demo.ids import with_typo
from sources.demo.world import Customer

HEADERS = (
    "编号",
    "客户名称",
    "客户类型",
    "统一信用代码",
    "身份证号",
    "出生日期",
    "性别",
    "手机",
    "固定电话",
    "邮箱",
    "省份",
    "城市",
    "详细地址",
    "联系人",
    "联系人电话",
    "介绍人",
    "行业",
    "客户经理",
    "建档日期",
    "客户来源",  # acquisition channel: filled by the generator once it knows who bought
)
TYPE_VALUES = {"单位": "company", "个人": "person"}
#: How each office writes dates; offices not listed mix all three.
DATE_STYLES = {"fujian": "slash", "guangdong": "chinese", "zhejiang": "compact"}
MANAGERS = ("林小燕", "黄建国", "吴丽", "郑海峰", "陈静")


def row(
    c: Customer,
    record_id: str,
    office: str,
    people: dict[str, Customer],
    carry_contact: bool,
    created: date,
    rng: random.Random,
    marks: cases.Marks | None = None,
    old_name: bool = False,
) -> list[str]:
    """One regional office's row for customer ``c`` (the planted cases it carries go to
    ``marks``; ``old_name``: the company's name before it was renamed)."""
    marks = marks if marks is not None else cases.Marks()
    style = DATE_STYLES.get(office, "mixed")
    city = c.city
    uscc = id_number = birth = gender = industry = contact_name = contact_phone = referrer = ""
    mobile = mess.own_mobile(c, 0.85, rng, marks)
    if c.entity_type == "company":
        kind, name = "单位", mess.company_name_variant(c, rng, old_name)
        if old_name:
            marks.add(cases.RENAMED)
        uscc = mess.maybe(c.uscc, 1.0 if c.old_brand else 0.7, rng)
        if uscc and rng.random() < 0.06:
            uscc = with_typo(uscc, rng.randint(8, 16), rng.randint(0, 8))
        industry = c.industry or ""
        if c.contact_id and (carry_contact or rng.random() < 0.7):
            contact = people[c.contact_id]
            contact_name = mess.person_name_variant(contact.name, rng)
            contact_phone = mess.maybe(
                contact.mobile and mess.mobile_variant(contact.mobile, rng), 0.8, rng
            )
            if (
                contact.mobile
                and rng.random() < cases.RATES[cases.CONTACT_MOBILE_IN_COMPANY_COLUMN]
            ):
                mobile, contact_phone = mess.mobile_variant(contact.mobile, rng), ""
                marks.add(cases.CONTACT_MOBILE_IN_COMPANY_COLUMN)
                marks.add(cases.CONTACT_MOBILE_IN_COMPANY_COLUMN, contact=True)
    else:
        kind, name = "个人", mess.person_name_variant(c.name, rng)
        if c.id_number and rng.random() < 0.6:
            id_number = c.id_number
            if rng.random() < 0.03:
                id_number = with_typo(id_number, rng.randint(14, 16), rng.randint(0, 8))
            elif rng.random() < 0.2:
                id_number = id_number.lower()
        if c.birth_date and rng.random() < 0.7:
            birth = mess.date_variant(c.birth_date, style, rng)
        if c.gender and rng.random() < 0.8:
            male = c.gender == "M"
            gender = (
                ("男" if male else "女") if rng.random() < 0.8 else ("先生" if male else "女士")
            )
        if c.referrer_id and rng.random() < 0.9:
            referrer = mess.person_name_variant(people[c.referrer_id].name, rng)
    name = mess.name_typo(name, rng, marks)
    phone = mess.phone_of(c, rng)
    roll = rng.random()
    if rng.random() >= 0.95:
        detail = ""
    elif roll < 0.6:
        detail = (mess.district_of(c, rng, marks) or c.district) + mess.street_of(c, rng, marks)
    elif roll < 0.75:
        detail = mess.address_variant(c, rng, marks)
    else:
        detail = mess.street_of(c, rng, marks)
    landline = ""
    if phone and rng.random() < 0.8:
        landline = mess.landline_cell(c, phone, rng, marks, extension=c.entity_type == "company")
    return [
        record_id,
        name,
        kind,
        uscc,
        id_number,
        birth,
        gender,
        mobile,
        landline,
        mess.maybe(c.email and mess.email_variant(c.email, rng), 0.6, rng),
        city.province if rng.random() < 0.7 else "",
        (city.name if rng.random() < 0.6 else city.short) if rng.random() < 0.9 else "",
        detail,
        contact_name,
        contact_phone,
        referrer,
        industry,
        rng.choice(MANAGERS),
        mess.date_variant(created, style, rng),
    ]

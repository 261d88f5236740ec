"""Channel dealers' customer exports: one CSV per dealer, GB18030 (or legacy GBK), Chinese headers.

Dealers keep their own customer lists in small desktop systems: phones typed any way,
a mobile in the landline column, the company's 400 hotline or the dealer's own number
where the customer's should be, the parent company written by hand, the contact
person's mobile in the customer's mobile column.
"""

from __future__ import annotations

import random

from sources.demo import cases, mess
from sources.demo.ids import with_typo
from sources.demo.world import Customer

HEADERS = (
    "客户编号",
    "客户名称",
    "客户类型",
    "统一社会信用代码",
    "联系人",
    "联系人手机",
    "手机",
    "电话",
    "传真",
    "邮箱",
    "地址",
    "上级单位",
    "经销商代码",
    "建档日期",
    "备注",
    "获客渠道",  # acquisition channel: filled by the generator once it knows who bought
)
#: The 客户类型 values the dealers' systems use, and one they should not.
TYPE_VALUES = {"企业": "company", "个体户": "company", "个人": "person"}
UNKNOWN_TYPE = "待定"
REMARKS = ("", "", "", "老客户", "月结", "需开专票", "只收现金", "电话联系前先发短信")


def row(
    c: Customer,
    record_id: str,
    dealer: Customer,
    people: dict[str, Customer],
    carry_contact: bool,
    created: str,
    rng: random.Random,
    marks: cases.Marks | None = None,
    old_name: bool = False,
) -> list[str]:
    """One dealer's row for customer ``c`` (the planted cases it carries go to ``marks``;
    ``old_name``: the company's name before it was renamed)."""
    marks = marks if marks is not None else cases.Marks()
    city = c.city
    phone = mess.phone_of(c, rng)
    own_phone = bool(phone) and rng.random() < 0.85
    mobile_cell = mess.own_mobile(c, 0.85, rng, marks)
    roll = rng.random()
    if roll < 0.02:
        phone_cell = mess.landline_variant(
            dealer.city, dealer.phone or "", rng
        )  # the dealer's own number
    elif roll < 0.03:
        phone_cell = "00000000"
    elif c.hotline and roll < 0.4:
        phone_cell = f"{c.hotline[:3]}-{c.hotline[3:6]}-{c.hotline[6:]}"
    elif own_phone and phone:
        phone_cell = mess.landline_cell(c, phone, rng, marks, extension=c.entity_type == "company")
    else:
        phone_cell = ""
    if c.entity_type == "person" and mobile_cell and rng.random() < 0.12:
        phone_cell, mobile_cell = mobile_cell, ""  # the mobile went into the phone column

    if c.entity_type == "company":
        kind = "个体户" if c.legal_form is None and rng.random() < 0.6 else "企业"
        name = mess.company_name_variant(c, rng, old_name)
        if old_name:
            marks.add(cases.RENAMED)
        uscc = mess.maybe(c.uscc, 1.0 if c.old_brand else 0.6, rng)
        if uscc and rng.random() < 0.06:
            uscc = with_typo(uscc, rng.randint(8, 16), rng.randint(0, 8))
        if uscc and rng.random() < 0.1:
            uscc = uscc.lower()
    else:
        kind, name, uscc = "个人", mess.person_name_variant(c.name, rng), ""
    name = mess.name_typo(name, rng, marks)
    if rng.random() < 0.003:
        kind = UNKNOWN_TYPE

    contact_name = contact_mobile = ""
    if c.contact_id and (carry_contact or rng.random() < 0.7):
        contact = people[c.contact_id]
        contact_name = mess.person_name_variant(contact.name, rng)
        contact_mobile = mess.maybe(
            contact.mobile and mess.mobile_variant(contact.mobile, rng), 0.7, rng
        )
        if contact.mobile and rng.random() < cases.RATES[cases.CONTACT_MOBILE_IN_COMPANY_COLUMN]:
            mobile_cell, contact_mobile = mess.mobile_variant(contact.mobile, rng), ""
            marks.add(cases.CONTACT_MOBILE_IN_COMPANY_COLUMN)
            marks.add(cases.CONTACT_MOBILE_IN_COMPANY_COLUMN, contact=True)
    parent = ""
    if c.parent_id and rng.random() < 0.8:
        parent = mess.company_name_variant(people[c.parent_id], rng)
    fax = (
        mess.landline_variant(city, c.phone, rng)
        if c.entity_type == "company" and c.phone and rng.random() < 0.1
        else ""
    )
    return [
        record_id,
        name,
        kind,
        uscc,
        contact_name,
        contact_mobile,
        mobile_cell,
        phone_cell,
        fax,
        mess.maybe(c.email and mess.email_variant(c.email, rng), 0.7, rng),
        mess.address_variant(c, rng, marks) if rng.random() < 0.92 else "",
        parent,
        dealer.dealer_code or "",
        created,
        rng.choice(REMARKS),
    ]

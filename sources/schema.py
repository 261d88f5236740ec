"""The canonical customer record every source is mapped onto.

A source export may carry any subset of these fields; what it lacks stays empty.
The staged table ``staging.customers`` has exactly ``STAGED_COLUMNS``, in order.
"""

from __future__ import annotations

from typing import Literal, get_args

ENTITY_TYPES = ("company", "person")
SOURCE_KINDS = ("dealer", "key_account", "regional", "other")

#: Lineage columns every raw table carries in front of the source's own columns.
LINEAGE_COLUMNS = ("source", "source_file", "source_row", "ingested_at", "record_hash")

#: Fields a source may map from its own columns (the keys of ``columns:`` in the config).
MAPPABLE_FIELDS = (
    "source_record_id",
    "entity_type",
    "name",
    "uscc",
    "id_number",
    "gender",
    "birth_date",
    "phone",
    "mobile",
    "fax",
    "email",
    "wechat",
    "qq",
    "province",
    "city",
    "district",
    "address",
    "postcode",
    "industry",
    "customer_category",
    "acquisition_channel",
    "owner",
    "credit_limit",
    "parent_company_name",
    "referrer_name",
    "dealer_code",
    "own_dealer_code",
    "created_at",
    "updated_at",
    "contact_name",
    "contact_title",
    "contact_gender",
    "contact_mobile",
)

#: Columns of ``staging.customers``: identity and lineage, who, how to reach, business,
#: the contact-person link and the standardisation flags.
STAGED_COLUMNS = (
    # identity and lineage
    "record_key",
    "source",
    "source_kind",
    "source_record_id",
    "source_file",
    "source_row",
    "ingested_at",
    "record_hash",
    # who
    "entity_type",
    "name",
    "name_raw",
    "name_core",
    "legal_form",
    "name_region",
    "name_pinyin",
    "name_latin",  # Latin-script form: pinyin, or an English name with its trade words in pinyin
    "is_branch",  # a branch (分公司, 分店, 办事处, Branch) of the company named in branch_of_name
    "branch_of_name",
    "business_kind",  # company / individual_business / partnership / sole_proprietorship
    "business_owner_name",  # the person an individual business is named after (a candidate)
    "uscc",
    "id_number",
    "gender",
    "birth_date",
    # how to reach
    "phone",
    "mobile",
    "fax",
    "phone_extension",  # the extension written after the landline ('转8001')
    "other_phones",  # further numbers found in the phone and mobile cells (E.164 list)
    "email",
    "wechat",
    "qq",
    "province",
    "city",
    "district",
    "address_detail",
    "address_building",  # parsed off address_detail: '国贸大厦A座'
    "address_room",  # parsed off address_detail: '12层1203室'
    "address_raw",
    "postcode",
    # business
    "industry",
    "customer_category",
    "acquisition_channel",
    "owner",
    "credit_limit",
    "parent_company_name",
    "referrer_name",
    "dealer_code",  # the dealer that serves (and exported) the customer
    "own_dealer_code",  # the customer's own code when the customer is itself a dealer
    "created_at",
    "updated_at",
    # contact person on a company record (kept on the company row for evidence)
    "contact_name",
    "contact_title",
    "contact_gender",
    "contact_mobile",
    # a person record derived from a company's contact points back to that company
    "derived_from_record_key",
    # standardisation problems, ';'-separated codes such as 'phone_invalid;uscc_checksum'
    "quality_flags",
)

#: Golden attribute → the staged columns that survive with it, the first being its value
#: (a name survives with its core, legal form and pinyin; an address as a whole).
GOLDEN_ATTRIBUTE_GROUPS: dict[str, tuple[str, ...]] = {
    "name": ("name", "name_core", "legal_form", "name_region", "name_pinyin"),
    "uscc": ("uscc",),
    "id_number": ("id_number",),
    "gender": ("gender",),
    "birth_date": ("birth_date",),
    "phone": ("phone",),
    "mobile": ("mobile",),
    "fax": ("fax",),
    "email": ("email",),
    "wechat": ("wechat",),
    "qq": ("qq",),
    "address": ("address_detail", "province", "city", "district", "postcode"),
    "industry": ("industry",),
    "customer_category": ("customer_category",),
    "owner": ("owner",),
    "credit_limit": ("credit_limit",),
    "parent_company_name": ("parent_company_name",),
    "dealer_code": ("dealer_code",),
}
#: Survivorship rules, each a way to rank the candidate values of a golden attribute.
SurvivorshipRule = Literal["valid", "trust", "recent", "frequent", "complete"]
SURVIVORSHIP_RULES: tuple[str, ...] = get_args(SurvivorshipRule)

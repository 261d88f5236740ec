"""Standardisers: turn one column of messy export values into the canonical spelling.

Every public function takes a pandas Series and returns a Series or DataFrame aligned to
its index. Work is done once per distinct value and broadcast back, so a million rows
cost what their distinct values cost. Empty cells give None; bad values never raise,
they come back flagged (``valid`` False, None, NaT).
"""

from sources.standardise.addresses import parse_addresses
from sources.standardise.area_codes import area_code_for_city
from sources.standardise.business_kinds import recognise_business_kinds
from sources.standardise.dates import parse_amounts, parse_dates
from sources.standardise.emails import standardise_emails
from sources.standardise.identifiers import (
    generate_id_number,
    generate_uscc,
    standardise_id_numbers,
    standardise_uscc,
)
from sources.standardise.latin_names import latin_company_names, latin_person_names
from sources.standardise.names import clean_person_names, split_company_names
from sources.standardise.persons import clean_gender
from sources.standardise.phones import standardise_phones
from sources.standardise.text import normalise_text, to_pinyin

__all__ = [
    "area_code_for_city",
    "clean_gender",
    "clean_person_names",
    "generate_id_number",
    "generate_uscc",
    "latin_company_names",
    "latin_person_names",
    "normalise_text",
    "parse_addresses",
    "parse_amounts",
    "parse_dates",
    "recognise_business_kinds",
    "split_company_names",
    "standardise_emails",
    "standardise_id_numbers",
    "standardise_phones",
    "standardise_uscc",
    "to_pinyin",
]

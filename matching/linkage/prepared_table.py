"""The prepared table: what the matcher compares and blocks on, one row per staged record.

``features`` derives it from staged records a record at a time (``prepare_uncapped``), and
``caps`` nulls, over all records of an entity type at once, the values shared by too many
of them. Between the two, the *uncapped* table (``UNCAPPED_COLUMNS``) holds everything a
record's own values decide: an incremental sync keeps it and prepares only the records
that changed (``prepared_store``), since the caps depend on every record but nothing
else does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: Identifier columns: staged column → the junk-free copy used for comparing and blocking.
IDENTIFIER_COLUMNS = {
    "phone": "phone_block",
    "mobile": "mobile_block",
    "email": "email_block",
    "uscc": "uscc_block",
    "id_number": "id_number_block",
}

#: Keys used only to generate candidate pairs (never compared), capped in size.
BLOCK_KEY_COLUMNS = (
    "name_block",
    "name_city_block",
    "pinyin_city_block",
    "name_street_block",
    "name_birth_block",
    "pinyin_birth_block",
    "birth_block",
    "latin_postcode_block",
    "first_word_postcode_block",
    "last_word_postcode_block",
)

#: Character-bigram lists (order-free, code-point based similarity of Chinese text).
GRAM_COLUMNS = ("name_grams", "address_grams")
#: List columns of the prepared table.
LIST_COLUMNS = (*GRAM_COLUMNS, "phone_numbers")
#: Service numbers (400/800 hotlines, 95xxx): a brand's, never evidence of one customer.
SERVICE_NUMBER = r"^\+86(?:400|800|9[56])"

#: Every column of the prepared table, in order.
PREPARED_COLUMNS = (
    "record_key",
    "entity_type",
    "name_key",
    "name_pinyin",
    "name_latin",
    "name_shape",
    "name_grams",
    "name_region",
    "legal_form",
    "branch",
    *IDENTIFIER_COLUMNS.values(),
    "phone_numbers",
    "phone_tail",
    "gender",
    "birth_date",
    "city_key",
    "district_key",
    "address_detail",
    "address_street",
    "address_grams",
    "postcode",
    *BLOCK_KEY_COLUMNS,
)


#: Arrow schema of the prepared table.
PREPARED_SCHEMA = pa.schema(
    [(c, pa.list_(pa.string()) if c in LIST_COLUMNS else pa.string()) for c in PREPARED_COLUMNS]
)


#: Columns of the uncapped table: the prepared columns as a record's own values give them
#: (placeholders already dropped, nothing capped; ``phone_numbers`` is made after the caps),
#: the further numbers of the record (``extra_numbers``: its other phone cells and its
#: contact person's mobile, one entry per occurrence) and the placeholders dropped from it
#: (``placeholders``: column and value, one entry per occurrence), which the report counts.
UNCAPPED_COLUMNS = (
    *(c for c in PREPARED_COLUMNS if c != "phone_numbers"),
    "extra_numbers",
    "placeholders",
)
#: A placeholder dropped from a record: the prepared column and the value.
PLACEHOLDER_TYPE = pa.struct([("column", pa.string()), ("value", pa.string())])
#: Arrow schema of the uncapped table.
UNCAPPED_SCHEMA = pa.schema(
    [
        (
            c,
            pa.list_(PLACEHOLDER_TYPE)
            if c == "placeholders"
            else pa.list_(pa.string())
            if c in (*GRAM_COLUMNS, "extra_numbers")
            else pa.string(),
        )
        for c in UNCAPPED_COLUMNS
    ]
)


@dataclass(frozen=True)
class PreparedRecords:
    """The matcher's view of one entity type's records, and what was suppressed.

    Attributes:
        table: one row per staged record, ``PREPARED_COLUMNS``, as Splink reads it.
        suppressed: one row per suppressed value: ``column`` (prepared column),
            ``value``, ``records`` (how many records carried it) and ``reason``
            ('placeholder' or 'shared_by_too_many_records').
    """

    table: pa.Table
    suppressed: pd.DataFrame

    def of_records(self, keys: Iterable[str]) -> PreparedRecords:
        """Only the rows of these record keys, in this table's order (the suppressed values
        stay those of the whole preparation)."""
        wanted = pa.array(list(keys), pa.string())
        mask = pc.fill_null(pc.is_in(self.table.column("record_key"), wanted), False)
        return PreparedRecords(self.table.filter(mask), self.suppressed)

    @cached_property
    def records(self) -> pd.DataFrame:
        """The prepared table as pandas (text as Arrow-backed strings), for inspection."""
        return self.table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)

"""Staging: a field the records do not carry is staged as a column of empty cells would be."""

from datetime import date, datetime

import pandas as pd

from sources.staging import DATE_FIELDS, PARTY_NAME_FIELDS, PLAIN_TEXT_FIELDS, stage_records

#: Fields whose standardising is skipped when the mapped records lack the column.
SKIPPED = (*PLAIN_TEXT_FIELDS, *PARTY_NAME_FIELDS, *DATE_FIELDS, "fax", "contact_mobile")
SKIPPED += ("contact_name", "contact_gender")


def test_an_absent_field_stages_exactly_as_an_empty_one():
    mapped = pd.DataFrame(
        {
            "source": "crm",
            "source_record_id": ["1", "2", "3"],
            "source_file": None,
            "source_row": [0, 1, 2],
            "ingested_at": datetime(2026, 1, 1),
            "record_hash": None,
            "entity_type": ["company", "person", "person"],
            "name": ["厦门洪来文印店", "张伟", "王芳"],
            "phone": ["0592-5551234", "13800138000", None],
            "id_number": [None, "11010519491231002X", "not an id"],
            "address": ["福建省厦门市思明区湖滨南路100号", None, "北京市海淀区中关村大街1号"],
        }
    )
    empty = mapped.assign(**{name: None for name in SKIPPED})
    absent = stage_records(mapped, {"crm": "other"}, date(2026, 6, 1))
    staged = stage_records(empty, {"crm": "other"}, date(2026, 6, 1))
    pd.testing.assert_frame_equal(absent, staged)  # values and types
    assert absent["birth_date"].notna().any()  # the ID still gives a birth date

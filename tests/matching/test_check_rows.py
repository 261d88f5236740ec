"""The duplicate check's row path stages and prepares a form exactly as the pipeline does.

Every record of a small demo's exports becomes forms as a person would type them (as
exported; the name in traditional script; phones written otherwise; a field left out; a
typo in the name), and so do hand-made cases of what exports hold (placeholders, hotlines,
local numbers, several numbers in a cell, old IDs, English names, odd whitespace). Each
form is staged as a company and as a person (a check whose type is guessed does both),
once by ``stage_form`` / ``prepare_record`` and once by ``stage_records`` /
``prepare_records``; every staged column the matcher reads and every prepared column must
be the same.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime

import numpy as np
import opencc
import pandas as pd
import pytest

from matching.duplicate_check import standardise_input
from matching.linkage.features import MATCHING_COLUMNS, prepare_records
from matching.linkage.junk import JunkRules
from matching.linkage.prepare_one import prepare_record
from sources.config import load_config
from sources.demo import generate_demo
from sources.form_staging import FORM_COLUMNS, FORM_FIELDS, stage_form
from sources.ingest import ingest_feed
from sources.mapping import map_source
from sources.schema import ENTITY_TYPES
from sources.staging import stage_records

#: No value of a batch is capped: one record's values never are.
NO_CAPS = JunkRules(max_records_per_value=10**9, max_block_size=10**9)

HAND_MADE: list[dict[str, str | None]] = [
    {
        "name": "厦门洪来文印店",
        "phone": "0592-5551234",
        "address": "福建省厦门市思明区湖滨南路100号",
    },
    {"name": "洪来文印店", "phone": "5551234", "address": "厦门思明区湖滨南路100号之1"},
    {"name": "洪来文印店", "phone": "5551234"},
    {"name": "快心电脑(厦门)有限公司", "uscc": "91350200MA2Y0X8X1K", "phone": "13800138000"},
    {"name": "快心电脑有限公司", "phone": "13800138000", "mobile": "13800138000"},
    {"name": "快心电脑有限公司", "phone": "13800138000", "mobile": "13900139000"},
    {"name": "快心电脑", "phone": "0592-5551234转8001", "mobile": "13800138000/13900139000"},
    {"name": "快心电脑", "phone": "0592-5551234;0592-5551235", "mobile": "13800138000 13900139000"},
    {"name": "快心电脑", "phone": "0592-5551234/5551235", "address": "鼓楼区五四路1号"},
    {"name": "华为技术有限公司福州分公司", "phone": "400-835-2114", "mobile": "95588"},
    {"name": "Xiamen Kuaixin Computer Co., Ltd. Fuzhou Branch", "phone": "+852 2345 6789"},
    {"name": "KUAIXIN DIANNAO (XIAMEN) CO LTD", "email": "mailto:Li.Wei@Example.COM"},
    {"name": "ＡＢＣ１２３", "email": "<info@kuaixin.cn>", "mobile": "１３８００１３８０００"},
    {"name": "张 伟", "id_number": "35020319800101123x", "mobile": "+86 138 0013 8000"},
    {"name": "王先生", "id_number": "350203800101123", "email": "li wei@x.cn"},
    {"name": "买买提·艾力", "id_number": "350203198001011231"},
    {"name": "Mr. John  Smith", "email": "test@test.com", "phone": "00000000"},
    {"name": "WANG Xiaoming", "mobile": "13800000000", "uscc": "111111111111111111"},
    {"name": "Xiaoming Wang", "uscc": "123456789012345678", "id_number": "A1234567"},
    {"name": "无", "phone": "-", "mobile": "0", "email": "none@x.com", "id_number": "x"},
    {"name": "测试", "address": "收货地址:福建省厦门市湖里区江头北路8号"},
    {"name": "建发集团有限公司", "address": "北京市北京市朝阳区建国路1号国贸大厦A座1201室"},
    {"name": "广州金达贸易有限公司", "address": "广州中山五路1号"},
    {"name": "杭州远通物流有限公司", "address": "浙江省萧山市人民路5号 国贸大厦 A座"},
    {
        "name": "\u3000廈門\u3000快心電腦（廈門）有限公司\u3000",
        "address": "廈門市思明區湖濱南路\u3000100號",
    },
    {"name": "個體工商戶張偉", "phone": "(0592)555 1234"},
    {"name": "张伟文印店", "mobile": "138-0013-8000 ext. 12"},
    {"name": "l", "phone": "0592 5551234", "address": "上海"},
    {"name": "NİL", "email": "NULL@x.cn", "uscc": "9135 0200-MA2Y_0X8X1K"},
    {"phone": "13800138000"},
    {"email": "Info@Example.COM"},
    {"address": "福建省厦门市思明区湖滨南路100号"},
    {"uscc": "91350200MA2Y0X8X1K"},
    {"id_number": "35020319800101123X"},
]

_TRADITIONAL = opencc.OpenCC("s2t")
_TYPO = "甲乙丙丁戊己庚辛壬癸"


def _fields(row: dict) -> dict[str, str | None]:
    out = {}
    for field in FORM_FIELDS:
        value = row.get(field)
        out[field] = value.strip() or None if isinstance(value, str) else None
    return out


def _typed(fields: dict[str, str | None], rng: random.Random) -> list[dict[str, str | None]]:
    """The form as exported, and as a person might type it again."""
    forms = [fields]
    name = fields["name"]
    if name:
        forms.append(fields | {"name": _TRADITIONAL.convert(name)})
        at = rng.randrange(len(name))
        forms.append(fields | {"name": name[:at] + rng.choice(_TYPO) + name[at + 1 :]})
    for field in ("phone", "mobile"):
        value = fields[field]
        if value:
            digits = "".join(c for c in value if c.isdigit())
            if len(digits) > 7:
                styled = f"({digits[:4]}){digits[4:7]} {digits[7:]}"
                forms.append(fields | {field: styled, "address": None})
    given = [f for f, v in fields.items() if v]
    if len(given) > 1:
        forms.append(fields | {rng.choice(given): None})
    return forms


@pytest.fixture(scope="module")
def forms(tmp_path_factory) -> list[dict[str, str | None]]:
    """Forms made of every record of a small demo's exports, and the hand-made ones."""
    folder = tmp_path_factory.mktemp("check_rows")
    generate_demo(folder, customers=100, seed=13)
    config = load_config(folder / "customer_master.yaml")
    rng = random.Random(13)
    out = list(HAND_MADE)
    for source in config.sources:
        batch = ingest_feed(source, config, ingested_at=datetime(2026, 12, 1))
        for row in map_source(batch.table, source).records.to_pylist():
            out += _typed(_fields(row), rng)
    return [f for f in out if any(f.values())]


def _batch(forms: list[dict[str, str | None]], entity_type: str) -> pd.DataFrame:
    """The forms staged together by ``stage_records`` (its rows are independent)."""
    mapped = pd.DataFrame(
        [
            {
                "source": "check",
                "source_record_id": f"input_{i}",
                "source_file": None,
                "source_row": 0,
                "ingested_at": datetime.now(UTC).replace(tzinfo=None),
                "record_hash": None,
                "entity_type": entity_type,
                **{f: form.get(f) for f in FORM_FIELDS},
            }
            for i, form in enumerate(forms)
        ]
    )
    return stage_records(mapped, {"check": "other"}, date.today())


def _plain(value):
    """A staged cell as a plain value: every kind of missing as None, numpy scalars as Python."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list):
        return value
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def test_the_form_columns_are_every_column_the_matcher_reads():
    assert set(MATCHING_COLUMNS) <= set(FORM_COLUMNS)


def test_there_are_enough_forms_to_mean_something(forms):
    assert len(forms) > 1000
    for field in FORM_FIELDS:
        assert sum(bool(f[field]) for f in forms if field in f) > 50, field


@pytest.mark.parametrize("entity_type", ENTITY_TYPES)
def test_a_form_is_staged_and_prepared_as_the_pipeline_does(forms, entity_type):
    staged = _batch(forms, entity_type)
    prepared = prepare_records(staged, entity_type, NO_CAPS).table
    expected = prepared.to_pylist()
    differences = []
    for i, form in enumerate(forms):
        row = stage_form(form, entity_type, f"check:input_{i}")
        for column in FORM_COLUMNS:
            want, got = _plain(staged[column].iat[i]), row[column]
            if want != got or type(want) is not type(got):
                differences.append((form, column, want, got))
        table = prepare_record(row, entity_type)
        assert table.schema.equals(prepared.schema)
        got_prepared = table.to_pylist()[0]
        for column, want in expected[i].items():
            if got_prepared[column] != want:
                differences.append((form, column, want, got_prepared[column]))
    assert not differences, differences[:10]


@pytest.mark.parametrize("form", HAND_MADE[:12] + HAND_MADE[-8:])
def test_one_form_alone_is_prepared_as_the_duplicate_check_prepared_it(form):
    """The reference as the check ran it before: one record, default junk limits."""
    for entity_type in ENTITY_TYPES:
        staged = standardise_input(form, entity_type)
        want = prepare_records(staged, entity_type).table
        row = stage_form(_fields(form), entity_type, staged["record_key"].iat[0])
        assert prepare_record(row, entity_type).equals(want)

"""Mapping raw rows onto canonical fields; unusable rows are quarantined with a reason."""

import json

import pyarrow as pa

from sources.config import SourceConfig
from sources.mapping import map_source


def raw_table(rows: list[dict]) -> pa.Table:
    lineage = {
        "source": ["dealers"] * len(rows),
        "source_file": ["dealers/a.csv"] * len(rows),
        "source_row": list(range(2, len(rows) + 2)),
        "ingested_at": [None] * len(rows),
        "record_hash": ["h"] * len(rows),
    }
    columns = {k: [r.get(k) for r in rows] for k in rows[0]}
    return pa.table({**lineage, **{k: pa.array(v, pa.string()) for k, v in columns.items()}})


SOURCE = SourceConfig(
    name="dealers",
    kind="dealer",
    path="*.csv",
    entity_type={"column": "类型", "values": {"企业": "company", "个人": "person"}},
    columns={
        "source_record_id": "编号",
        "name": "名称",
        "mobile": "手机",
        "address": ["省", "市", "地址"],
    },
)


def test_fields_are_trimmed_and_joined_in_order():
    raw = raw_table(
        [
            {
                "编号": " D1 ",
                "名称": "厦门洪来文印店",
                "类型": "企业",
                "手机": "  ",
                "省": "福建省",
                "市": None,
                "地址": "思明区湖滨南路1号",
            }
        ]
    )
    mapped = map_source(raw, SOURCE).records.to_pylist()[0]
    assert mapped["source_record_id"] == "D1"
    assert mapped["mobile"] is None
    assert mapped["address"] == "福建省 思明区湖滨南路1号"
    assert mapped["entity_type"] == "company"


def test_unusable_rows_are_quarantined_with_their_reason_and_content():
    raw = raw_table(
        [
            {
                "编号": "D1",
                "名称": "张伟",
                "类型": "个人",
                "手机": None,
                "省": None,
                "市": None,
                "地址": None,
            },
            {
                "编号": None,
                "名称": "李娜",
                "类型": "个人",
                "手机": None,
                "省": None,
                "市": None,
                "地址": None,
            },
            {
                "编号": "D1",
                "名称": "张伟",
                "类型": "个人",
                "手机": None,
                "省": None,
                "市": None,
                "地址": None,
            },
            {
                "编号": "D3",
                "名称": "王芳",
                "类型": "社团",
                "手机": None,
                "省": None,
                "市": None,
                "地址": None,
            },
            {
                "编号": "D4",
                "名称": None,
                "类型": "个人",
                "手机": None,
                "省": None,
                "市": None,
                "地址": "厦门",
            },
            {
                "编号": "D5",
                "名称": None,
                "类型": "个人",
                "手机": "13800138000",
                "省": None,
                "市": None,
                "地址": None,
            },
        ]
    )
    batch = map_source(raw, SOURCE)
    assert batch.records.column("source_record_id").to_pylist() == ["D1", "D5"]
    quarantine = batch.quarantine.to_pylist()
    assert [(q["source_row"], q["reason"]) for q in quarantine] == [
        (3, "missing source_record_id"),
        (4, "duplicate source_record_id 'D1' (kept dealers/a.csv row 2)"),
        (5, "unknown entity_type value '社团' in column '类型'"),
        (6, "no name and no identifier"),
    ]
    assert json.loads(quarantine[0]["raw"])["名称"] == "李娜"
    assert batch.records.num_rows + batch.quarantine.num_rows == raw.num_rows


def test_constant_entity_type():
    source = SOURCE.model_copy(update={"entity_type": "company"})
    raw = raw_table(
        [
            {
                "编号": "K1",
                "名称": "快心电脑有限公司",
                "类型": "个人",
                "手机": None,
                "省": None,
                "市": None,
                "地址": None,
            }
        ]
    )
    assert map_source(raw, source).records.column("entity_type").to_pylist() == ["company"]

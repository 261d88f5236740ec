"""A sync that prepares only the records that changed ends where preparing all of them does,
even when today's records push a shared value over its limit or take one back under it."""

import datetime as dt

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from matching.linkage import prepared_store
from matching.linkage.junk import JunkRules
from matching.linkage.prepared_store import (
    REWRITTEN,
    load_prepared,
    prepare_by_type,
    restart_rewritten_log,
    save_prepared,
    update_prepared,
)
from sources.build_staging import STAGED_SCHEMA
from warehouse.store import replace_table

#: At most two records per phone, e-mail or number, two per blocking key.
JUNK = JunkRules(max_records_per_value=2, max_block_size=2)
HOTLINE, SHOP, SPARE = "+864008352114", "+865925551234", "+8613900139000"
BORN = dt.date(1985, 3, 12)

COMPANIES = {
    # a hotline three records share: over the limit on the first day
    "d:1": {"name": "洪来文印店", "city": "厦门市", "phone": HOTLINE},
    "d:2": {"name": "快心电脑", "city": "厦门市", "phone": HOTLINE},
    "d:3": {"name": "金达贸易", "city": "福州市", "phone": HOTLINE},
    # a number two records share: at the limit on the first day
    "d:4": {"name": "元通物流", "city": "泉州市", "phone": SHOP},
    "d:5": {"name": "元通物流", "city": "漳州市", "phone": SHOP},
    "d:6": {"name": "无", "email": "none@qq.com", "city": "厦门市"},
    "d:7": {"name": "鑫源五金", "other_phones": [SPARE], "city": "厦门市"},
    "d:8": {"name": "鑫源五金", "contact_mobile": SPARE, "city": "莆田市"},
    # records no change reaches: their prepared rows stay as written on the first day
    "d:11": {"name": "海峡茶业", "city": "宁德市", "phone": "+865935551234"},
    "d:12": {"name": "闽南食品", "city": "龙岩市", "email": "minnan@163.com"},
}
PERSONS = {
    "r:1": {"name": "张伟", "birth_date": BORN, "city": "厦门市"},
    "r:2": {"name": "李娜", "birth_date": BORN, "city": "福州市"},
    "r:3": {"name": "王芳", "birth_date": dt.date(1990, 7, 1), "city": "厦门市"},
}


def next_day() -> tuple[dict, dict]:
    """New, edited and removed records; values cross their limits both ways."""
    companies = {
        "d:9": {"name": "远航电器", "city": "厦门市", "phone": SHOP},  # SHOP goes over
        **{k: v for k, v in COMPANIES.items() if k != "d:3"},  # HOTLINE comes back under
        "d:6": {"name": "星光照明", "email": "xingguang@163.com", "city": "厦门市"},
        "d:10": {"name": "鑫源五金", "other_phones": [SPARE, HOTLINE], "city": "三明市"},
    }
    persons = {
        **PERSONS,
        "r:3": {**PERSONS["r:3"], "birth_date": BORN},  # the birth date's block goes over
        "r:4": {"name": "陈静", "city": "泉州市"},
    }
    return companies, persons


def staged_table(companies: dict, persons: dict) -> pa.Table:
    rows = [{"record_key": k, "entity_type": "company", **v} for k, v in companies.items()]
    rows += [{"record_key": k, "entity_type": "person", **v} for k, v in persons.items()]
    for row in rows:
        row.update(province="福建省", name_core=row["name"], is_branch=False)
        row["source"] = row["record_key"].split(":")[0]
    return pa.Table.from_pylist(rows, schema=STAGED_SCHEMA)


def stage(con: duckdb.DuckDBPyConnection, staged: pa.Table) -> None:
    replace_table(con, "staging", "customers", staged)


def kept(con: duckdb.DuckDBPyConnection) -> tuple[list, list, list]:
    """The prepared records as each entity type reads them back (in staging order), and the
    suppressed values in their order."""
    read = [load_prepared(con, entity_type) for entity_type in ("company", "person")]
    return (
        [p.table.to_pylist() for p in read if p is not None],
        sorted(con.sql("FROM matching.prepared_records").fetchall(), key=repr),
        con.sql("FROM matching.suppressed_values").fetchall(),
    )


@pytest.fixture
def warehouses():
    cons = [duckdb.connect() for _ in range(2)]
    for con in cons:
        con.execute("CREATE SCHEMA staging; CREATE SCHEMA matching")
    yield cons
    for con in cons:
        con.close()


def test_preparing_what_changed_equals_preparing_everything(warehouses):
    incremental, full = warehouses
    stage(incremental, staged_table(COMPANIES, PERSONS))
    assert update_prepared(incremental, JUNK, incremental=True) == {"company": 10, "person": 3}
    first = load_prepared(incremental, "company")
    assert first is not None
    assert first.records["phone_block"].isna()[:3].all()  # the hotline, over its limit

    today = staged_table(*next_day())
    stage(incremental, today)
    # the new, the edited; the removed ones dropped; the rest kept as prepared yesterday
    prepared_again = update_prepared(incremental, JUNK, incremental=True)
    assert prepared_again == {"company": 3, "person": 2}
    stage(full, today)
    assert update_prepared(full, JUNK, incremental=False) == {"company": 11, "person": 4}
    assert kept(incremental) == kept(full)

    # and both are what preparing the staged records in memory gives
    in_memory = duckdb.connect()
    in_memory.execute("CREATE SCHEMA matching")
    save_prepared(in_memory, prepare_by_type(today.to_pandas(), JUNK))
    assert kept(in_memory) == kept(full)

    companies = load_prepared(incremental, "company")
    assert companies is not None
    by_key = companies.records.set_index("record_key")
    phones = by_key["phone_block"]
    assert phones["d:1"] == HOTLINE  # unchanged record, its value back under the limit
    assert pd.isna(phones["d:4"])  # unchanged record, its value now over the limit
    assert (
        by_key.loc["d:7", "phone_numbers"] is None
    )  # SPARE is now the further number of three records
    persons = load_prepared(incremental, "person")
    assert persons is not None
    assert persons.records["birth_block"].isna().sum() == 4  # three share it; one has none
    # in staging order: the new company first
    assert companies.records["record_key"].tolist()[:2] == ["d:9", "d:1"]
    suppressed = {
        (c, v, r) for c, v, _, r in companies.suppressed.itertuples(index=False, name=None)
    }
    assert ("phone_block", SHOP, "shared_by_too_many_records") in suppressed
    assert ("phone_numbers", SPARE, "shared_by_too_many_records") in suppressed
    assert not any(v == HOTLINE and c == "phone_block" for c, v, _ in suppressed)
    assert not any(c == "name_key" for c, _, _ in suppressed)  # the placeholder name is gone


def test_an_unchanged_staging_prepares_nothing_again(warehouses):
    con, _ = warehouses
    stage(con, staged_table(COMPANIES, PERSONS))
    update_prepared(con, JUNK, incremental=True)
    before = kept(con)
    assert update_prepared(con, JUNK, incremental=True) == {}
    assert kept(con) == before


def test_a_preparation_stopped_midway_leaves_the_last_one_whole(warehouses, monkeypatch):
    """The three tables describe one preparation: a day's update that fails leaves them as
    they were, and the next one ends where preparing everything does."""
    con, whole = warehouses
    stage(con, staged_table(COMPANIES, PERSONS))
    update_prepared(con, JUNK, incremental=True)
    tables = ("prepared_uncapped", "prepared_records", "suppressed_values")
    before = [sorted(con.sql(f"FROM matching.{t}").fetchall(), key=repr) for t in tables]
    stage(con, staged_table(*next_day()))

    def fail(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(prepared_store, "cap_shared_values", fail)
    with pytest.raises(OSError, match="disk full"):
        update_prepared(con, JUNK, incremental=True)
    after = [sorted(con.sql(f"FROM matching.{t}").fetchall(), key=repr) for t in tables]
    assert after == before
    monkeypatch.undo()
    update_prepared(con, JUNK, incremental=True)
    stage(whole, staged_table(*next_day()))
    update_prepared(whole, JUNK, incremental=False)
    assert kept(con) == kept(whole)


def test_the_rewritten_prepared_rows_are_logged_until_the_log_is_started_again(warehouses):
    """The log lists every record whose prepared row an incremental preparation deleted or
    wrote (the new, edited, removed, and those holding a value that crossed its limit);
    every record whose row it does not list is as it was when the log was started. A
    whole preparation drops it; without it none is kept."""
    con, _ = warehouses
    exists = f"FROM information_schema.tables WHERE table_name = '{REWRITTEN.split('.')[1]}'"
    stage(con, staged_table(COMPANIES, PERSONS))
    update_prepared(con, JUNK, incremental=True)
    assert con.sql(exists).fetchall() == []  # nobody started it: none kept
    restart_rewritten_log(con)
    before = {r[0]: r for r in con.sql("FROM matching.prepared_records").fetchall()}
    stage(con, staged_table(*next_day()))
    update_prepared(con, JUNK, incremental=True)
    logged = {k for (k,) in con.sql(f"SELECT record_key FROM {REWRITTEN}").fetchall()}
    after = {r[0]: r for r in con.sql("FROM matching.prepared_records").fetchall()}
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    assert changed <= logged
    assert {"d:9", "d:6", "d:10", "d:3", "r:3", "r:4", "d:1", "d:4"} <= logged
    assert len(logged) < len(after)  # not every record: those unchanged are not listed
    # a day that changes nothing adds nothing; the log accumulates until started again
    update_prepared(con, JUNK, incremental=True)
    again = {k for (k,) in con.sql(f"SELECT record_key FROM {REWRITTEN}").fetchall()}
    assert again == logged
    restart_rewritten_log(con)
    assert con.sql(f"FROM {REWRITTEN}").fetchall() == []
    update_prepared(con, JUNK, incremental=False)
    assert con.sql(exists).fetchall() == []  # every row written again: dropped
    restart_rewritten_log(con)
    save_prepared(con, prepare_by_type(staged_table(*next_day()).to_pandas(), JUNK))
    assert con.sql(exists).fetchall() == []

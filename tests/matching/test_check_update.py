"""A delta day's check index carried over from the last one equals one built whole."""

import json
import logging
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from matching.check_index import load_check_index
from matching.check_store import load_check_files, write_warehouse_check_files
from matching.check_update import state_path, update_check_index
from matching.linkage.junk import JunkRules
from matching.linkage.prepared_store import restart_rewritten_log, update_prepared

JUNK = JunkRules(max_records_per_value=3)


def warehouse(
    staged: pd.DataFrame, models: dict[str, dict], folder: Path
) -> duckdb.DuckDBPyConnection:
    """A warehouse holding what the check files read: staged records in staging order, each
    record's customer (its ``truth``), the prepared records and the models in use."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA staging; CREATE SCHEMA master; CREATE SCHEMA matching")
    stage(con, staged)
    con.execute(
        "CREATE TABLE matching.models (entity_type VARCHAR, version VARCHAR, model VARCHAR, "
        "path VARCHAR, trained BOOLEAN, records BIGINT)"
    )
    for entity_type, model in models.items():
        path = folder / f"{entity_type}.json"
        path.write_text(json.dumps(model), encoding="utf-8")
        con.execute(
            "INSERT INTO matching.models VALUES (?, 'v1', ?, ?, true, 0)",
            [entity_type, json.dumps(model), str(path)],
        )
    update_prepared(con, JUNK, incremental=False)
    return con


def stage(con: duckdb.DuckDBPyConnection, staged: pd.DataFrame) -> None:
    """``staged`` as the day's staged records, in its row order, each record's customer its
    ``truth`` (the master's current xref)."""
    con.register("__staged", staged)
    con.execute("CREATE OR REPLACE TABLE staging.customers AS FROM __staged")
    con.unregister("__staged")
    con.execute(
        "CREATE OR REPLACE TABLE staging.customer_order AS "
        "SELECT record_key, rowid AS position FROM staging.customers"
    )
    con.execute(
        "CREATE OR REPLACE TABLE master.customer_xref AS SELECT record_key, "
        "truth AS customer_id, NULL::TIMESTAMP AS valid_to FROM staging.customers"
    )


def next_day(staged: pd.DataFrame) -> pd.DataFrame:
    """A day later: one record edited, one gone, one new, one moved to the end of staging
    order, one company moved to another customer."""
    day = staged.copy()
    companies = day.index[day["entity_type"] == "company"]
    persons = day.index[day["entity_type"] == "person"]
    day.loc[companies[0], "name"] = "厦门洪来图文快印店"
    day.loc[companies[2], "truth"] = "C_SOMEONE_ELSE"
    new = day.loc[[persons[0]]].assign(record_key="regional:R999", truth="C_NEW")
    moved = day.loc[[companies[3]]]
    day = day.drop(index=[companies[1], companies[3]])
    return pd.concat([day, new, moved], ignore_index=True)


def assert_same_indexes(ours: Path, theirs: Path) -> None:
    """The check indexes in both folders hold the same rows, customers, names, term
    frequencies and blocking indexes (an Arrow file may differ in an all-valid column's
    validity bitmap, which a table written in order lacks and a reordered one has), and
    every other check file is the same byte for byte."""
    for entity_type in ("company", "person"):
        a, b = (load_check_index(f, entity_type) for f in (ours, theirs))
        assert a.table.equals(b.table) and a.tf == b.tf, entity_type
        assert a.customer_ids.equals(b.customer_ids) and a.names.equals(b.names), entity_type
        for x, y in zip(a.blocks, b.blocks, strict=True):
            assert x.columns == y.columns
            assert (x.hashes == y.hashes).all() and (x.rows == y.rows).all(), x.columns
    for path in sorted(theirs.iterdir()):
        if not path.name.endswith("_records.arrow"):
            assert (ours / path.name).read_bytes() == path.read_bytes(), path.name


@pytest.fixture
def models(company_model, person_model):
    return {"company": company_model, "person": person_model}


@pytest.mark.parametrize("rewritten", ["ignore", "use"])
def test_a_carried_over_index_is_the_one_built_whole(
    staged, models, tmp_path, first_files, rewritten
):
    """Whether every record's prepared row is fingerprinted again or only those of the log
    of rewritten prepared rows (started when ``first`` was published)."""
    first, updated, whole = (tmp_path / n for n in ("first", "updated", "whole"))
    for folder in (updated, whole):
        folder.mkdir()
    con = warehouse(staged, models, tmp_path)
    restart_rewritten_log(con)
    stage(con, next_day(staged))
    update_prepared(con, JUNK, incremental=True)
    write_warehouse_check_files(
        con, updated, JUNK, first, carried=first, delta_share=None, rewritten=rewritten
    )
    write_warehouse_check_files(con, whole, JUNK, first)
    assert_same_indexes(updated, whole)
    assert load_check_index(updated, "company").table != load_check_index(first, "company").table
    index = load_check_index(updated, "company")
    keys = index.table.column("record_key").to_pylist()
    assert keys[-1] == staged[staged["entity_type"] == "company"]["record_key"].iloc[3]
    assert index.customer_ids.to_pylist()[keys.index(staged["record_key"].iloc[2])] == (
        "C_SOMEONE_ELSE"
    )
    carried, built = load_check_files(updated), load_check_files(whole)
    try:
        for name in ("厦门洪来图文快印店", "洪来文印店", "快心电脑有限公司"):
            assert carried.check(name=name) == built.check(name=name)
        assert built.check(name="快心电脑有限公司")  # the answers compared are not all empty
    finally:
        carried.close()
        built.close()


def test_an_unchanged_day_carries_every_row_over_and_reads_none_again(
    staged, models, tmp_path, caplog, first_files
):
    first, second = first_files, tmp_path / "second"
    second.mkdir()
    con = warehouse(staged, models, tmp_path)
    with caplog.at_level(logging.INFO, logger="matching.check_update"):
        write_warehouse_check_files(con, second, JUNK, first, carried=first, delta_share=None)
    carried = [r.getMessage() for r in caplog.records if "carried over" in r.getMessage()]
    assert len(carried) == 2 and all(": 0 of " in m for m in carried), carried
    assert_same_indexes(second, first)


def test_an_index_saved_without_fingerprints_or_for_another_model_is_not_carried_over(
    staged, models, tmp_path, first_files
):
    con = warehouse(staged, models, tmp_path)
    first = first_files
    assert update_check_index(con, first, "company", models["company"]) is not None
    other = {**models["company"], "probability_two_random_records_match": 0.001}
    assert update_check_index(con, first, "company", other) is None
    state_path(first, "company").unlink()
    assert update_check_index(con, first, "company", models["company"]) is None

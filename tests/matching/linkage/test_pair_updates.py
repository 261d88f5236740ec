"""An incremental scoring reads only the records that can pair with the changed ones, and
leaves the pairs and fingerprints a scoring of everything leaves."""

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from matching.linkage.changes import (
    RecordChanges,
    record_changes,
    remember_scored_records,
    write_rescored_pairs,
)
from matching.linkage.features import prepare_records
from matching.linkage.junk import SUPPRESSED_COLUMNS
from matching.linkage.pairable import (
    blocking_sides,
    load_pairable,
    term_frequency_columns,
)
from matching.linkage.prediction import predict_pairs
from matching.linkage.prepared_store import update_prepared


@pytest.fixture
def warehouse(staged, params):
    """An in-memory warehouse holding the persons' prepared records, as the sync keeps them."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA matching")
    prepared = prepare_records(staged, "person", params.junk)
    con.register("__p", prepared.table)
    con.execute("CREATE TABLE matching.prepared_records AS SELECT * FROM __p")
    suppressed = prepared.suppressed.assign(entity_type="person")
    con.register("__s", suppressed[["entity_type", *SUPPRESSED_COLUMNS]])
    con.execute("CREATE TABLE matching.suppressed_values AS SELECT * FROM __s")
    yield con, prepared
    con.close()


def test_pairs_of_changed_records_score_as_among_all_records(warehouse, person_model, params):
    con, prepared = warehouse
    everything = predict_pairs(prepared, person_model, 0.0, junk=params.junk, threads=2)
    flagged = {everything["record_key_l"].iloc[0]}
    pairable = load_pairable(con, "person", person_model, flagged)
    assert pairable.records.table.num_rows < prepared.table.num_rows
    assert pairable.term_frequencies is not None
    assert pairable.term_frequencies.num_rows == prepared.table.num_rows
    assert pairable.term_frequencies.column_names == term_frequency_columns(person_model)
    rescored = predict_pairs(
        pairable.records,
        person_model,
        0.0,
        junk=params.junk,
        threads=2,
        only_with=flagged,
        term_frequencies=pairable.term_frequencies,
    )
    mine = everything["record_key_l"].isin(flagged) | everything["record_key_r"].isin(flagged)
    assert len(rescored) > 0
    pd.testing.assert_frame_equal(rescored, everything[mine].reset_index(drop=True))


def test_a_model_with_a_rule_that_is_not_an_equality_reads_every_record(warehouse, person_model):
    con, prepared = warehouse
    fuzzy = {
        **person_model,
        "blocking_rules_to_generate_predictions": [
            "l.name_block = r.name_block or l.mobile_block = r.mobile_block"
        ],
    }
    assert blocking_sides(fuzzy, set(prepared.table.column_names)) is None
    pairable = load_pairable(con, "person", fuzzy, {prepared.table["record_key"][0].as_py()})
    assert pairable.records.table.num_rows == prepared.table.num_rows
    assert pairable.term_frequencies is None


def test_rescored_pairs_replace_those_of_changed_and_removed_records_in_place():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA matching")
    con.execute(
        """CREATE TABLE matching.pairs AS SELECT * FROM (VALUES
            ('company', 'a', 'b', 0.9::DOUBLE, 3::TINYINT),
            ('company', 'b', 'c', 0.8, 2),
            ('person', 'p', 'q', 0.7, 1),
            ('person', 'q', 'r', 0.6, 0)) t(entity_type, record_key_l, record_key_r,
                                             match_probability, gamma_name)"""
    )
    fresh = pd.DataFrame(
        {
            "entity_type": ["company", "person"],
            "record_key_l": ["a", "n"],
            "record_key_r": ["c", "p"],
            "match_probability": [0.95, 0.5],
            "gamma_name": [4, 1],
        }
    )
    changes = RecordChanges(changed=frozenset({"c", "n"}), removed=frozenset({"r"}))
    write_rescored_pairs(con, fresh, changes)
    # the kept pairs stay where they lie, the new ones follow them
    assert con.execute("FROM matching.pairs").fetchall() == [
        ("company", "a", "b", 0.9, 3),
        ("person", "p", "q", 0.7, 1),
        ("company", "a", "c", 0.95, 4),
        ("person", "n", "p", 0.5, 1),
    ]
    assert con.execute("FROM matching.pairs ORDER BY ALL").fetchall() == [
        ("company", "a", "b", 0.9, 3),
        ("company", "a", "c", 0.95, 4),
        ("person", "n", "p", 0.5, 1),
        ("person", "p", "q", 0.7, 1),
    ]
    assert [d[1] for d in con.execute("DESCRIBE matching.pairs").fetchall()] == [
        "VARCHAR",
        "VARCHAR",
        "VARCHAR",
        "DOUBLE",
        "TINYINT",
    ]


def _prepared_day(con: duckdb.DuckDBPyConnection, params, *, incremental: bool) -> None:
    """The preparation step of a sync: the fingerprints the scoring compares are its own."""
    update_prepared(con, params.junk, incremental=incremental)


def test_fingerprints_updated_in_place_equal_those_taken_of_every_record(staged, params):
    con = duckdb.connect()
    con.execute("CREATE SCHEMA staging")
    con.execute("CREATE SCHEMA matching")
    con.register("__day1", pa.Table.from_pandas(staged, preserve_index=False))
    con.execute(
        "CREATE TABLE staging.customers AS SELECT * REPLACE "
        "(postcode::VARCHAR AS postcode, owner::VARCHAR AS owner) FROM __day1"
    )
    _prepared_day(con, params, incremental=False)
    remember_scored_records(con)
    persons = staged[staged["entity_type"] == "person"]["record_key"]
    first, second, third = persons.iloc[0], persons.iloc[1], persons.iloc[2]
    con.execute("UPDATE staging.customers SET name = name || '甲' WHERE record_key = ?", [first])
    con.execute("DELETE FROM staging.customers WHERE record_key = ?", [second])
    con.execute(
        "INSERT INTO staging.customers SELECT * REPLACE ('new:1' AS record_key) "
        "FROM staging.customers WHERE record_key = ?",
        [first],
    )
    # a postcode is blocked on and compared: a record whose postcode alone changed is
    # scored again, as a full scoring would score it
    con.execute("UPDATE staging.customers SET postcode = '100871' WHERE record_key = ?", [third])
    # a remark the matcher does not read is no change
    con.execute("UPDATE staging.customers SET owner = 'someone else' WHERE record_key = ?", [first])
    _prepared_day(con, params, incremental=True)
    changes = record_changes(con)
    assert changes is not None
    assert changes.changed == {first, third, "new:1"} and changes.removed == {second}
    remember_scored_records(con, changes)
    in_place = con.execute("FROM matching.scored_records ORDER BY record_key").fetchall()
    remember_scored_records(con)
    assert in_place == con.execute("FROM matching.scored_records ORDER BY record_key").fetchall()
    assert record_changes(con) == RecordChanges(frozenset(), frozenset())

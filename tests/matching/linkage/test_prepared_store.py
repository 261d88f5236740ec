"""The sync's prepared records kept in the warehouse read back as preparing gave them, and
every step that matches scores them as it scores the staged records."""

import duckdb
import pandas as pd
import pytest

from matching.linkage.features import as_prepared, prepare_records
from matching.linkage.junk import JunkRules
from matching.linkage.prediction import predict_pairs
from matching.linkage.prepared_store import load_prepared, prepare_by_type, save_prepared


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA matching")
    yield con
    con.close()


def test_kept_records_read_back_as_prepared_in_staging_order(staged, con):
    junk = JunkRules(max_records_per_value=2)  # the hotline and more are suppressed
    prepared = prepare_by_type(staged, junk)
    assert set(prepared) == {"company", "person"}
    assert save_prepared(con, prepared) == {t: p.table.num_rows for t, p in prepared.items()}
    for entity_type, made in prepared.items():
        kept = load_prepared(con, entity_type)
        assert kept is not None
        assert kept.table.equals(made.table)
        assert not made.suppressed.empty or entity_type == "person"
        pd.testing.assert_frame_equal(
            kept.suppressed.reset_index(drop=True),
            made.suppressed.reset_index(drop=True),
            check_dtype=False,
        )
    suppressed = con.sql("SELECT DISTINCT entity_type FROM matching.suppressed_values").fetchall()
    assert ("company",) in suppressed


def test_only_some_records_keep_their_order(staged, con):
    save_prepared(con, prepare_by_type(staged, JunkRules()))
    companies = staged.loc[staged["entity_type"] == "company", "record_key"].tolist()
    wanted = set(companies[::3])
    kept = load_prepared(con, "company", only=wanted)
    assert kept is not None
    assert kept.table.column("record_key").to_pylist() == [k for k in companies if k in wanted]


def test_a_warehouse_without_kept_records_says_so(con):
    assert load_prepared(con, "company") is None


def test_prediction_scores_kept_records_as_staged_ones(staged, company_model, params, con):
    save_prepared(con, prepare_by_type(staged, params.junk))
    kept = load_prepared(con, "company")
    from_staged = predict_pairs(staged, company_model, 0.01, junk=params.junk, threads=1)
    from_kept = predict_pairs(kept, company_model, 0.01, junk=params.junk, threads=1)
    assert len(from_staged) > 5
    pd.testing.assert_frame_equal(from_kept, from_staged)


def test_prepared_records_of_another_entity_type_are_refused(staged):
    persons = prepare_records(staged, "person")
    with pytest.raises(ValueError, match="'company'"):
        as_prepared(persons, "company")

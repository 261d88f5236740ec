"""The duplicate check's index: saved by the pipeline, loaded by the service, same answers."""

import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from matching.check_index import (
    BlockIndex,
    CheckIndex,
    TermFrequencies,
    build_check_index,
    has_check_index,
    key_hashes,
    load_check_index,
    save_check_index,
    term_frequencies,
)
from matching.duplicate_check import DuplicateChecker, build_check_indexes
from matching.linkage.junk import JunkRules

JUNK = JunkRules(max_records_per_value=3)
PROBES = [
    {"name": "厦门洪来文印店", "phone": "(0592)5551234"},
    {"name": "廈門洪來文印店"},
    {"name": "洪来文印", "mobile": "13800138000", "address": "福建省厦门市思明区湖滨南路100号"},
    {"name": "完全不存在的客户名称", "phone": "0755-12345678"},
]


@pytest.fixture(scope="module")
def master(staged):
    return staged.assign(customer_id=staged["truth"])


@pytest.fixture(scope="module")
def models(company_model, person_model):
    return {"company": company_model, "person": person_model}


@pytest.fixture(scope="module")
def built(master, models):
    """A checker built from the master's records, the reference the loaded checkers answer
    as: built once for the module (checking reads it, never changes it)."""
    checker = DuplicateChecker(master, models, JUNK)
    yield checker
    checker.close()


@pytest.fixture(scope="module")
def published(master, models, tmp_path_factory):
    """The check files of the master, written once for the module, and the counts the
    writing returned. Read it, never write it: a test that changes it copies it first."""
    from matching.check_store import write_check_files

    folder = tmp_path_factory.mktemp("published")
    return folder, write_check_files(folder, master, models, JUNK)


def test_a_saved_index_loads_back_the_same(master, company_model, tmp_path):
    built = build_check_index(
        master[master["entity_type"] == "company"], company_model, "company", JUNK
    )
    save_check_index(built, tmp_path)
    assert has_check_index(tmp_path, "company") and not has_check_index(tmp_path, "person")
    loaded = load_check_index(tmp_path, "company")
    assert loaded.table.equals(built.table)
    assert loaded.customer_ids.to_pylist() == built.customer_ids.to_pylist()
    assert loaded.names.to_pylist() == built.names.to_pylist()
    assert loaded.tf == built.tf
    for ours, theirs in zip(loaded.blocks, built.blocks, strict=True):
        assert ours.columns == theirs.columns
        assert (ours.hashes == theirs.hashes).all() and (ours.rows == theirs.rows).all()


def test_a_checker_on_loaded_indexes_answers_as_one_built_from_records(
    master, models, built, tmp_path
):
    for index in build_check_indexes(master, models, JUNK).values():
        save_check_index(index, tmp_path)
    loaded = {t: load_check_index(tmp_path, t) for t in models}
    fast = DuplicateChecker(None, models, JUNK, indexes=loaded)
    try:
        for fields in PROBES:
            assert fast.check(**fields) == built.check(**fields)
        assert built.check(**PROBES[0])  # the comparison is not of two empty lists
    finally:
        fast.close()


def test_a_checker_loaded_from_published_files_answers_as_one_built_from_records(
    master, built, published
):
    from matching.check_store import load_check_files

    folder, counts = published
    assert counts == master["entity_type"].value_counts().to_dict()
    assert (folder / "scoring_company.sql").read_text(encoding="utf-8").lstrip()
    fast = load_check_files(folder)
    try:
        assert all(index._linker is None for index in fast._index.values())  # no linker built
        for fields in PROBES:
            assert fast.check(**fields) == built.check(**fields)
    finally:
        fast.close()


def test_a_blocking_index_finds_every_record_of_a_key_in_row_order(master, company_model):
    index = build_check_index(
        master[master["entity_type"] == "company"], company_model, "company", JUNK
    )
    phones = index.table.column("phone_block").to_pylist()
    block = next(b for b in index.blocks if b.columns == ("phone_block",))
    value = next(v for v in phones if v is not None and phones.count(v) > 1)
    probe = pa.table({"phone_block": [value]})
    hashes = key_hashes(probe, ("phone_block",))
    assert hashes is not None
    found = block.lookup(hashes.data[0])
    assert list(found) == [i for i, v in enumerate(phones) if v == value]
    missing = key_hashes(
        pa.table({"phone_block": pa.array([None], type=pa.string())}), ("phone_block",)
    )
    assert missing is not None and np.ma.getmaskarray(missing)[0]


def test_records_outside_within_never_crowd_the_ones_inside_out_of_the_cap():
    # 300 records of other customers share the probe's key and come first in row order
    keys = [f"dealers:X{i:03d}" for i in range(300)] + ["regional:MINE"]
    table = pa.table({"record_key": keys, "blk": ["厦门洪来"] * len(keys)})
    hashes = key_hashes(table, ("blk",))
    assert hashes is not None
    order = np.argsort(hashes.data, kind="stable")
    index = CheckIndex(
        entity_type="company",
        table=table,
        customer_ids=np.array([f"C{i}" for i in range(len(keys))], dtype=object),
        names=np.array(keys, dtype=object),
        tf={},
        blocks=[BlockIndex(("blk",), hashes.data[order], order.astype(np.int64))],
    )
    probe = pa.table({"blk": ["厦门洪来"]})
    assert len(index.candidates(probe, 200)) == 200
    assert len(keys) - 1 not in index.candidates(probe, 200)  # capped before its turn
    assert index.candidates(probe, 200, within=frozenset({"regional:MINE"})) == [len(keys) - 1]
    mixed = frozenset({"regional:MINE", *keys[:5]})
    assert sorted(index.candidates(probe, 200, within=mixed)) == [0, 1, 2, 3, 4, len(keys) - 1]


def test_a_check_within_some_records_answers_from_those_only(master, company_model):
    checker = DuplicateChecker(master, {"company": company_model}, JUNK)
    try:
        everyone = checker.check(entity_type="company", **PROBES[0])
        assert everyone
        best = everyone[0]
        others = frozenset(master.loc[master["customer_id"] != best.customer_id, "record_key"])
        found = checker.check(entity_type="company", within=others, **PROBES[0])
        assert best.customer_id not in {c.customer_id for c in found}
        assert {c.record_key for c in found} <= others
        mine = frozenset(master.loc[master["customer_id"] == best.customer_id, "record_key"])
        assert [c.customer_id for c in checker.check(within=mine, **PROBES[0])] == [
            best.customer_id
        ]
    finally:
        checker.close()


def test_a_key_hashed_once_for_all_its_rows_hashes_as_on_its_own():
    table = pa.table(
        {
            "a": ["厦门", "厦门", None, "福州", "厦门", ""],
            "b": ["1", "2", "1", None, "1", "x"],
        }
    )
    for columns in [("a",), ("a", "b")]:
        hashes = key_hashes(table, columns)
        assert hashes is not None
        for row in range(table.num_rows):
            alone = key_hashes(table.slice(row, 1), columns)
            assert alone is not None
            assert bool(hashes.mask[row]) == bool(np.ma.getmaskarray(alone)[0])
            if not hashes.mask[row]:
                assert hashes.data[row] == alone.data[0]
    # the hash of the key's text, as the index has always hashed it
    single = key_hashes(table, ("a",))
    assert single is not None
    text = np.array(["厦门", "厦门", "", "福州", "厦门", ""], dtype=object)
    expected = pd.util.hash_array(text, categorize=False)
    assert (single.data[~single.mask] == expected[~single.mask]).all()


def test_files_written_over_a_previous_index_take_its_statement_and_answer_the_same(
    master, company_model, person_model, published, tmp_path
):
    from matching.check_store import load_check_files, write_check_files

    models = {"company": company_model, "person": person_model}
    first = Path(shutil.copytree(published[0], tmp_path / "first"))  # the master's files
    second, whole = (tmp_path / n for n in ("second", "whole"))
    for folder in (second, whole):
        folder.mkdir()
    (first / "scoring_person.sql").write_text(
        "-- kept\n" + (first / "scoring_person.sql").read_text(encoding="utf-8"), encoding="utf-8"
    )
    changed = master.iloc[1:]  # a day later: one record fewer
    other_person = {**person_model, "probability_two_random_records_match": 0.001}
    models = {"company": company_model, "person": other_person}
    write_check_files(second, changed, models, JUNK, previous=first)
    write_check_files(whole, changed, models, JUNK)
    # the company model is the same: its statement is the previous one; the person model
    # changed: its statement is captured anew
    statement = "scoring_company.sql"
    assert (second / statement).read_bytes() == (first / statement).read_bytes()
    assert not (second / "scoring_person.sql").read_text(encoding="utf-8").startswith("-- kept")
    updated, built = load_check_files(second), load_check_files(whole)
    try:
        for fields in PROBES:
            assert updated.check(**fields) == built.check(**fields)
    finally:
        updated.close()
        built.close()


def test_with_every_statement_saved_no_checker_is_set_up_and_the_files_are_the_same(
    master, models, published, tmp_path, monkeypatch
):
    import matching.check_store as check_store

    first, second = published[0], tmp_path / "second"  # first: the master's files, read only
    second.mkdir()

    def no_checker(*args, **kwargs):
        raise AssertionError("a checker was set up although every statement was saved")

    monkeypatch.setattr(check_store, "DuplicateChecker", no_checker)
    check_store.write_check_files(second, master, models, JUNK, previous=first)
    for path in sorted(first.iterdir()):
        assert (second / path.name).read_bytes() == path.read_bytes(), path.name


def test_each_indexed_row_carries_its_records_customer_and_name(master, company_model):
    companies = master[master["entity_type"] == "company"].iloc[::-1]  # any order of records
    built = build_check_index(companies, company_model, "company", JUNK)
    by_key = companies.set_index("record_key")
    keys = built.table.column("record_key").to_pylist()
    assert built.customer_ids.to_pylist() == [str(by_key.at[k, "customer_id"]) for k in keys]
    expected = [None if pd.isna(n) else n for n in (by_key.at[k, "name"] for k in keys)]
    assert built.names.to_pylist() == expected


def test_prepared_rows_of_records_outside_the_master_are_left_out(master, company_model):
    from matching.linkage.features import prepare_records

    companies = master[master["entity_type"] == "company"]
    prepared = prepare_records(companies, "company", JUNK)
    columns = ["record_key", "entity_type", "customer_id", "name"]
    whole = build_check_index(companies[columns], company_model, "company", JUNK, prepared)
    # every prepared row is a master record's: the prepared table is indexed as it is
    scored = whole.table.select(prepared.table.column_names)
    assert scored.equals(prepared.table)
    gone = companies["record_key"].iloc[0]  # a record no longer in the master
    kept = companies[companies["record_key"] != gone]
    built = build_check_index(kept[columns], company_model, "company", JUNK, prepared)
    assert built.table.column("record_key").to_pylist() == kept["record_key"].tolist()
    assert built.customer_ids.to_pylist() == kept["customer_id"].astype(str).tolist()


def test_term_frequencies_from_arrow_are_ordered_as_python_orders_the_values():
    values = ["廈門", "厦门", "Zhang", "zhang", "ä", "a", "😀", "\U0001f600x", "洪来", ""]
    shares = [float(i) / 10 for i in range(len(values))]
    from_arrow = TermFrequencies.from_arrow(pa.array(values), pa.array(shares))
    from_dict = TermFrequencies.from_dict(dict(zip(values, shares, strict=True)))
    assert from_arrow.terms.tolist() == sorted(values) == from_dict.terms.tolist()
    assert from_arrow.shares.tolist() == from_dict.shares.tolist()
    assert from_arrow["厦门"] == 0.1 and from_arrow[""] == 0.9
    # the Arrow text the lookups of a whole column use: the same terms either way
    assert from_arrow.text.to_pylist() == from_dict.text.to_pylist() == sorted(values)
    shares = from_arrow.shares_of(pa.array(["厦门", "none", None, ""]))
    assert shares.to_pylist() == [0.1, None, None, 0.9]
    with pytest.raises(TypeError, match="not of text"):
        TermFrequencies.from_arrow(pa.array([1, 2]), pa.array([0.5, 0.5]))
    # a column without any value (typed null, as pandas gives it) has no terms
    empty = TermFrequencies.from_arrow(pa.array([], pa.null()), pa.array([], pa.float64()))
    assert len(empty) == 0 and empty.text.to_pylist() == []


def test_a_column_without_any_value_has_no_term_frequencies():
    table = pa.table({"name": ["a", "b", "a"], "postcode": pa.array([None] * 3, pa.null())})
    found = term_frequencies(table, ["name", "postcode"])
    assert dict(zip(found["name"].terms, found["name"].shares, strict=True)) == pytest.approx(
        {"a": 2 / 3, "b": 1 / 3}
    )
    assert len(found["postcode"]) == 0


def test_term_frequencies_on_a_callers_connection_are_those_of_a_fresh_database(
    master, company_model
):
    table = pa.Table.from_pandas(
        master[["name", "city", "phone"]].astype("string"), preserve_index=False
    )
    columns = ["name", "city", "phone"]
    fresh = term_frequencies(table, columns)
    with duckdb.connect(":memory:") as con:
        on_caller = term_frequencies(table, columns, con)
        # the caller's connection is left as it was: nothing registered on it
        assert "__check_master" not in {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    for column in columns:
        counts = master[column].dropna().value_counts()
        expected = {value: n / counts.sum() for value, n in counts.items()}
        assert dict(zip(fresh[column].terms, fresh[column].shares, strict=True)) == pytest.approx(
            expected
        )
        assert fresh[column].terms.tolist() == sorted(expected)
        assert on_caller[column].terms.tolist() == fresh[column].terms.tolist()
        assert on_caller[column].shares.tolist() == fresh[column].shares.tolist()


def test_a_loaded_index_keeps_its_terms_as_the_text_it_was_saved_with(
    master, company_model, tmp_path
):
    built = build_check_index(
        master[master["entity_type"] == "company"], company_model, "company", JUNK
    )
    save_check_index(built, tmp_path)
    loaded = load_check_index(tmp_path, "company")
    assert loaded.tf.keys() == built.tf.keys() and built.tf
    for column, frequencies in loaded.tf.items():
        assert frequencies.text.to_pylist() == frequencies.terms.tolist()
        assert frequencies.text.equals(built.tf[column].text)

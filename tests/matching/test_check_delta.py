"""A check index of a base part and a delta part answers as one built whole."""

import logging
import os
from pathlib import Path

import pandas as pd
import pytest

from matching import check_delta, check_store, check_update
from matching.check_delta import base_part, delta_check_index
from matching.check_index import load_check_index
from matching.check_store import load_check_files, write_warehouse_check_files
from matching.check_update import delta_state_path, state_path
from matching.linkage.prepare_one import prepare_record
from matching.linkage.prepared_store import REWRITTEN, restart_rewritten_log, update_prepared
from sources.form_staging import FORM_FIELDS, stage_form
from tests.matching.test_check_update import JUNK, next_day, stage, warehouse

FIELDS = ("name", "phone", "mobile", "email", "uscc", "id_number")


@pytest.fixture
def models(company_model, person_model):
    return {"company": company_model, "person": person_model}


def another_day(day: pd.DataFrame) -> pd.DataFrame:
    """A day after ``next_day``: a company's phone edited, a person gone, a new person, a
    company moved to another customer."""
    later = day.copy()
    companies = later.index[later["entity_type"] == "company"]
    persons = later.index[later["entity_type"] == "person"]
    later.loc[companies[4], "phone"] = "+865925550000"
    later.loc[companies[5], "truth"] = "C_OTHER"
    new = later.loc[[persons[2]]].assign(record_key="regional:R998", truth="P_NEW")
    later = later.drop(index=[persons[1]])
    return pd.concat([later, new], ignore_index=True)


def probes(*days: pd.DataFrame) -> list[dict[str, str]]:
    """Forms made of the records of ``days`` (those a day retired or changed among them):
    each record whole, its name alone, and each of its contact values alone."""
    found: dict[tuple, dict[str, str]] = {}
    for day in days:
        for record in day.to_dict("records"):
            whole = {f: record[f] for f in FIELDS if isinstance(record.get(f), str)}
            for form in [whole, *({f: v} for f, v in whole.items())]:
                if form:
                    found.setdefault(tuple(sorted(form.items())), form)
    return list(found.values())


def assert_same_answers(ours: Path, theirs: Path, forms: list[dict[str, str]]) -> None:
    """Every form gets the same candidates in the same order from both indexes, and the
    same answers (customers, probabilities, reasons) from both checkers."""
    for entity_type in ("company", "person"):
        a, b = (load_check_index(f, entity_type) for f in (ours, theirs))
        for form in forms:
            filled = {f: form.get(f) for f in FORM_FIELDS}
            probe = prepare_record(stage_form(filled, entity_type, "check:input"), entity_type)
            keys = [
                [i.table.column("record_key")[row].as_py() for row in i.candidates(probe, 200)]
                for i in (a, b)
            ]
            assert keys[0] == keys[1], (entity_type, form)
    checkers = load_check_files(ours), load_check_files(theirs)
    try:
        answered = 0
        for form in forms:
            found = [c.check(limit=10, **form) for c in checkers]
            assert found[0] == found[1], form
            answered += bool(found[1])
        assert answered > len(forms) // 2  # the answers compared are mostly not empty
    finally:
        for checker in checkers:
            checker.close()


def assert_merged_is_whole(ours: Path, theirs: Path) -> None:
    """The index of two parts, merged, is the one built whole, row for row."""
    for entity_type in ("company", "person"):
        a = load_check_index(ours, entity_type).merged()
        b = load_check_index(theirs, entity_type)
        assert a.table.equals(b.table) and a.tf == b.tf, entity_type
        assert a.customer_ids.equals(b.customer_ids) and a.names.equals(b.names), entity_type
        for x, y in zip(a.blocks, b.blocks, strict=True):
            assert x.columns == y.columns
            assert (x.hashes == y.hashes).all() and (x.rows == y.rows).all(), x.columns


def folders(tmp_path: Path, *names: str) -> list[Path]:
    for name in names:
        (tmp_path / name).mkdir()
    return [tmp_path / name for name in names]


def test_a_delta_answers_as_an_index_built_whole(staged, models, tmp_path, first_files, caplog):
    first, delta, whole = first_files, *folders(tmp_path, "delta", "whole")
    con = warehouse(staged, models, tmp_path)
    day = next_day(staged)
    stage(con, day)
    update_prepared(con, JUNK, incremental=True)
    with caplog.at_level(logging.INFO, logger="matching.check_delta"):
        write_warehouse_check_files(con, delta, JUNK, first, carried=first, delta_share=1.0)
    write_warehouse_check_files(con, whole, JUNK, first)
    index = load_check_index(delta, "company")
    assert index.rank is not None  # two parts
    assert any("delta part" in r.getMessage() for r in caplog.records)
    # the edited record, the one moved to another customer, the new one: in the delta;
    # the removed record and the edited one's old row: retired
    companies = staged[staged["entity_type"] == "company"]["record_key"]
    delta_keys = index.table.slice(index.base_rows).column("record_key").to_pylist()
    assert sorted(delta_keys) == sorted([companies.iloc[0], companies.iloc[2]])
    retired = index.table.column("record_key").take((index.rank < 0).nonzero()[0]).to_pylist()
    assert sorted(retired) == sorted(companies.iloc[:3])
    # the base's files are the first index's, not written again
    for name in ("check_company_records.arrow", "check_company_blocks.arrow"):
        assert os.path.samefile(delta / name, first / name), name
    assert os.path.samefile(state_path(delta, "person"), state_path(first, "person"))
    assert delta_state_path(delta, "person").is_file()
    assert_merged_is_whole(delta, whole)
    assert_same_answers(delta, whole, probes(staged, day))


def test_the_base_part_of_a_loaded_index_is_the_one_loaded_alone(
    staged, models, tmp_path, first_files
):
    """A delta day reads the last index once and builds on its base part (``base_part``):
    the same rows, customers, names and blocking indexes as the base loaded alone."""
    first, second = first_files, *folders(tmp_path, "second")
    con = warehouse(staged, models, tmp_path)
    stage(con, next_day(staged))
    update_prepared(con, JUNK, incremental=True)
    write_warehouse_check_files(con, second, JUNK, first, carried=first, delta_share=1.0)
    for folder in (first, second):
        for entity_type in ("company", "person"):
            whole = load_check_index(folder, entity_type)
            ours, alone = base_part(whole), load_check_index(folder, entity_type, base_only=True)
            assert (ours is whole) == (folder == first)  # one part: the index itself
            assert ours.rank is None and ours.table.equals(alone.table)
            assert ours.table.num_rows == (whole.base_rows or whole.table.num_rows)
            assert ours.customer_ids.equals(alone.customer_ids)
            assert ours.names.equals(alone.names)
            for x, y in zip(ours.blocks, alone.blocks, strict=True):
                assert x.columns == y.columns and x.delta is None and y.delta is None
                assert (x.hashes == y.hashes).all() and (x.rows == y.rows).all()


def test_each_day_s_delta_is_made_against_the_base(staged, models, tmp_path, first_files):
    first, second, third, whole = first_files, *folders(tmp_path, "second", "third", "whole")
    con = warehouse(staged, models, tmp_path)
    day = next_day(staged)
    stage(con, day)
    update_prepared(con, JUNK, incremental=True)
    write_warehouse_check_files(con, second, JUNK, first, carried=first, delta_share=1.0)
    later = another_day(day)
    stage(con, later)
    update_prepared(con, JUNK, incremental=True)
    write_warehouse_check_files(con, third, JUNK, second, carried=second, delta_share=1.0)
    write_warehouse_check_files(con, whole, JUNK, second)
    assert os.path.samefile(
        third / "check_company_records.arrow", first / "check_company_records.arrow"
    )
    # the first folder removed (as ``serve.keep`` prunes it): the others keep their base
    for path in first.iterdir():
        path.unlink()
    first.rmdir()
    assert_merged_is_whole(third, whole)
    assert_same_answers(third, whole, probes(staged, day, later))


def test_a_delta_past_its_share_is_written_whole(staged, models, tmp_path, first_files, caplog):
    first, updated, whole = first_files, *folders(tmp_path, "updated", "whole")
    con = warehouse(staged, models, tmp_path)
    stage(con, next_day(staged))
    update_prepared(con, JUNK, incremental=True)
    company = models["company"]
    # five of the companies' rows: two in the delta, three retired
    assert delta_check_index(con, first, "company", company, share=1.0) is not None
    with caplog.at_level(logging.INFO, logger="matching.check_delta"):
        assert delta_check_index(con, first, "company", company, share=0.0) is None
    assert any("written whole" in r.getMessage() for r in caplog.records)
    write_warehouse_check_files(con, updated, JUNK, first, carried=first, delta_share=0.01)
    write_warehouse_check_files(con, whole, JUNK, first)
    assert not list(updated.glob("check_*_delta*"))
    for entity_type in ("company", "person"):
        assert load_check_index(updated, entity_type).rank is None
    assert_merged_is_whole(updated, whole)


def test_a_delta_past_its_share_plans_the_records_once(
    staged, models, tmp_path, first_files, monkeypatch
):
    """The index written whole once the delta passes its share is made from the plan the
    delta was tried on: the records are planned (joined with the last index's rows) once
    per entity type, not once for the delta and again for the whole index."""
    first, updated, whole = first_files, *folders(tmp_path, "updated", "whole")
    con = warehouse(staged, models, tmp_path)
    stage(con, next_day(staged))
    update_prepared(con, JUNK, incremental=True)
    planned = []
    plan = check_update.plan_update

    def counted(con, old, *args, **kwargs):
        planned.append(old.entity_type)
        return plan(con, old, *args, **kwargs)

    for module in (check_update, check_delta):  # wherever the plan is called from
        monkeypatch.setattr(module, "plan_update", counted, raising=False)
    write_warehouse_check_files(con, updated, JUNK, first, carried=first, delta_share=0.0)
    assert sorted(planned) == ["company", "person"]
    write_warehouse_check_files(con, whole, JUNK, first)
    assert load_check_index(updated, "company").rank is None
    assert_merged_is_whole(updated, whole)


def test_a_whole_index_carried_over_from_one_of_two_parts_is_the_one_built_whole(
    staged, models, tmp_path, first_files
):
    """The compaction of a delta: ``check_update`` starts from both parts' rows."""
    first, second, third, whole = first_files, *folders(tmp_path, "second", "third", "whole")
    con = warehouse(staged, models, tmp_path)
    day = next_day(staged)
    stage(con, day)
    update_prepared(con, JUNK, incremental=True)
    write_warehouse_check_files(con, second, JUNK, first, carried=first, delta_share=1.0)
    stage(con, another_day(day))
    update_prepared(con, JUNK, incremental=True)
    write_warehouse_check_files(con, third, JUNK, second, carried=second, delta_share=None)
    write_warehouse_check_files(con, whole, JUNK, second)
    assert load_check_index(third, "company").rank is None
    assert_merged_is_whole(third, whole)
    for path in sorted(whole.iterdir()):
        if not path.name.endswith("_records.arrow"):
            assert (third / path.name).read_bytes() == path.read_bytes(), path.name


@pytest.mark.parametrize("share", [1.0, None], ids=["delta", "carried-whole"])
def test_the_log_s_index_after_a_skipped_and_a_failed_step_is_the_one_built_whole(
    staged, models, tmp_path, first_files, monkeypatch, share
):
    """Only the prepared rows the log of rewritten records lists are fingerprinted again;
    the log grows over a day whose index step was skipped and one whose step failed, and
    the index then carried over from the last published one (as a delta or written whole)
    is the one built whole, on that day and on a later one that changes records back."""
    first, failed, second, third, whole, whole_3 = (
        first_files,
        *folders(tmp_path, "failed", "second", "third", "whole", "whole_3"),
    )
    con = warehouse(staged, models, tmp_path)
    restart_rewritten_log(con)  # ``first`` published from this warehouse
    day = next_day(staged)
    stage(con, day)
    update_prepared(con, JUNK, incremental=True)  # and no index step: skipped
    later = another_day(day)
    stage(con, later)
    update_prepared(con, JUNK, incremental=True)

    def disk_full(*_args, **_kwargs):
        raise OSError("disk full")

    with monkeypatch.context() as patched:
        patched.setattr(check_store, "save_check_files", disk_full)
        with pytest.raises(OSError, match="disk full"):
            write_warehouse_check_files(
                con, failed, JUNK, first, carried=first, delta_share=share, rewritten="use"
            )
    logged = {k for (k,) in con.sql(f"SELECT record_key FROM {REWRITTEN}").fetchall()}
    assert {"regional:R999", "regional:R998"} <= logged  # both days' new records
    write_warehouse_check_files(
        con, second, JUNK, first, carried=first, delta_share=share, rewritten="use"
    )
    write_warehouse_check_files(con, whole, JUNK, first)
    assert (load_check_index(second, "company").rank is not None) == (share is not None)
    assert_merged_is_whole(second, whole)
    assert_same_answers(second, whole, probes(staged, day, later))
    restart_rewritten_log(con)  # ``second`` published
    stage(con, day)  # the second day's changes undone
    update_prepared(con, JUNK, incremental=True)
    write_warehouse_check_files(
        con, third, JUNK, second, carried=second, delta_share=share, rewritten="use"
    )
    write_warehouse_check_files(con, whole_3, JUNK, second)
    assert_merged_is_whole(third, whole_3)
    assert_same_answers(third, whole_3, probes(staged, day, later))


@pytest.mark.parametrize("share", [1.0, None], ids=["delta", "carried-whole"])
def test_a_prepared_row_the_log_does_not_list_is_taken_from_the_last_index(
    staged, models, tmp_path, first_files, share
):
    """With the log kept, a record it does not list keeps the prepared row of the last
    index: its row in the warehouse is not read (nor fingerprinted); without the log, it
    is."""
    first, logged, unlogged = first_files, *folders(tmp_path, "logged", "unlogged")
    con = warehouse(staged, models, tmp_path)
    restart_rewritten_log(con)
    key = staged[staged["entity_type"] == "company"]["record_key"].iloc[5]
    # a change no preparation made: outside the log
    con.execute(
        "UPDATE matching.prepared_records SET name_key = 'no such name' WHERE record_key = ?", [key]
    )
    for folder, rewritten in ((logged, "use"), (unlogged, "ignore")):
        write_warehouse_check_files(
            con, folder, JUNK, first, carried=first, delta_share=share, rewritten=rewritten
        )

    def name_of(folder: Path) -> str:
        index = load_check_index(folder, "company").merged()
        keys = index.table.column("record_key").to_pylist()
        return index.table.column("name_key")[keys.index(key)].as_py()

    assert name_of(logged) == name_of(first) != "no such name"
    assert name_of(unlogged) == "no such name"

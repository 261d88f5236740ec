"""The review page's writes to the stewards' decisions file: appended and taken back whole."""

from matching.linkage.decisions import append_decisions, read_decisions, remove_decisions

ROW = {"record_key_l": "a:1", "record_key_r": "b:2", "decision": "match",
       "decided_by": "林小燕", "decided_at": "2026-12-02T03:00:00", "note": "same shop, new phone"}  # fmt: skip


def test_decisions_appended_to_a_new_file_read_back(tmp_path):
    path = tmp_path / "decisions.csv"
    append_decisions(path, [ROW, ROW | {"record_key_r": "c:3", "decision": "no_match"}])
    table = read_decisions(path).table
    assert list(table["decision"]) == ["match", "no_match"]
    assert (
        table["decided_by"].iloc[0] == "林小燕" and table["note"].iloc[0] == "same shop, new phone"
    )


def test_appending_keeps_what_stewards_wrote_by_hand(tmp_path):
    path = tmp_path / "decisions.csv"
    path.write_text(
        "\ufeffrecord_key_l,record_key_r,decision\nx:1,y:1,no_match", encoding="utf-8"
    )  # a BOM, no final newline, fewer columns
    append_decisions(path, [ROW])
    table = read_decisions(path).table.set_index("record_key_l")
    assert len(table) == 2
    assert table.loc["a:1", "decided_by"] == "林小燕" and table.loc["x:1", "decision"] == "no_match"


def test_a_bad_decision_writes_nothing(tmp_path):
    import pytest

    from matching.linkage.decisions import DecisionFileError

    path = tmp_path / "decisions.csv"
    append_decisions(path, [ROW])
    before = path.read_bytes()
    with pytest.raises(DecisionFileError, match="field decision"):
        append_decisions(path, [ROW | {"record_key_r": "d:4"}, ROW | {"decision": "maybe"}])
    assert path.read_bytes() == before


def test_undo_removes_exactly_the_rows_given(tmp_path):
    path = tmp_path / "decisions.csv"
    other = ROW | {"record_key_r": "c:3"}
    append_decisions(path, [ROW, other])
    assert remove_decisions(path, [ROW]) == 1
    assert list(read_decisions(path).table["record_key_r"]) == ["c:3"]
    assert remove_decisions(path, [ROW]) == 0
    assert not list(path.parent.glob(".*.tmp"))

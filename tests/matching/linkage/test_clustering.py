"""Clusters from links, steward decisions and the size limit; the decisions file itself."""

import pandas as pd
import pytest

from matching.linkage.clustering import resolve_clusters
from matching.linkage.decisions import DecisionFileError, empty_decisions, read_decisions


def pairs(*rows: tuple[str, str, float]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["record_key_l", "record_key_r", "match_probability"])


def decisions_file(tmp_path, text: str):
    path = tmp_path / "decisions.csv"
    path.write_text(
        "record_key_l,record_key_r,decision,decided_by,decided_at,note\n" + text, encoding="utf-8"
    )
    return read_decisions(path)


def cluster_of(resolution) -> dict[str, str]:
    return dict(
        zip(resolution.clusters["record_key"], resolution.clusters["cluster_id"], strict=True)
    )


KEYS = ["a", "b", "c", "d", "e"]


def test_links_above_threshold_form_components():
    result = resolve_clusters(
        KEYS, pairs(("a", "b", 0.99), ("b", "c", 0.95), ("d", "e", 0.6)), empty_decisions(), 0.9, 50
    )
    assert cluster_of(result) == {"a": "a", "b": "a", "c": "a", "d": "d", "e": "e"}
    assert result.clusters.set_index("record_key")["cluster_size"].to_dict() == {
        "a": 3,
        "b": 3,
        "c": 3,
        "d": 1,
        "e": 1,
    }
    assert result.cut_links.empty and result.conflicts.empty


def test_steward_match_joins_what_the_model_left_apart(tmp_path):
    decided = decisions_file(tmp_path, "e,d,match,林小燕,2026-11-20,same shop\n")
    result = resolve_clusters(KEYS, pairs(("d", "e", 0.6)), decided, 0.9, 50)
    assert cluster_of(result)["e"] == "d"


def test_no_match_splits_the_cluster_on_its_weakest_link(tmp_path):
    # a - b - c - d chained; a steward says a and d are different customers
    chain = pairs(("a", "b", 0.99), ("b", "c", 0.91), ("c", "d", 0.97))
    decided = decisions_file(tmp_path, "d,a,no_match,林小燕,2026-11-20,branch in another city\n")
    result = resolve_clusters(KEYS, chain, decided, 0.9, 50)
    clusters = cluster_of(result)
    assert clusters["a"] == clusters["b"] == "a"
    assert clusters["c"] == clusters["d"] == "c"
    assert result.cut_links[["record_key_l", "record_key_r", "reason"]].values.tolist() == [
        ["b", "c", "no_match_conflict"]
    ]
    assert result.conflicts[["record_key_l", "record_key_r", "resolved"]].values.tolist() == [
        ["a", "d", True]
    ]


def test_no_match_on_a_direct_link_removes_that_link(tmp_path):
    decided = decisions_file(tmp_path, "a,b,no_match,,,\n")
    result = resolve_clusters(KEYS, pairs(("a", "b", 0.99)), decided, 0.9, 50)
    assert cluster_of(result)["b"] == "b"
    assert result.conflicts.empty  # the link itself was overruled, nothing else joined them


def test_contradicting_steward_decisions_are_flagged_not_guessed(tmp_path):
    decided = decisions_file(tmp_path, "a,b,match,,,\nb,c,match,,,\na,c,no_match,,,\n")
    result = resolve_clusters(KEYS, pairs(), decided, 0.9, 50)
    assert cluster_of(result)["c"] == "a"
    assert result.conflicts["resolved"].tolist() == [False]
    assert result.clusters.set_index("record_key")["needs_review"].to_dict() == {
        "a": True,
        "b": True,
        "c": True,
        "d": False,
        "e": False,
    }


def test_oversized_cluster_is_split_flagged_and_its_cut_links_listed():
    keys = [f"r{i}" for i in range(6)]
    # two tight triples joined by one weak link: a giant chain in miniature
    links = pairs(
        ("r0", "r1", 0.99),
        ("r1", "r2", 0.99),
        ("r0", "r2", 0.98),
        ("r3", "r4", 0.99),
        ("r4", "r5", 0.99),
        ("r2", "r3", 0.91),
    )
    result = resolve_clusters(keys, links, empty_decisions(), 0.9, max_cluster_size=3)
    clusters = cluster_of(result)
    assert {clusters[k] for k in keys[:3]} == {"r0"} and {clusters[k] for k in keys[3:]} == {"r3"}
    assert result.cut_links[["record_key_l", "record_key_r", "reason"]].values.tolist() == [
        ["r2", "r3", "oversized_cluster"]
    ]
    assert result.clusters["needs_review"].all()
    assert result.counts()["largest_cluster"] == 3


def test_decisions_file_latest_wins_and_order_of_keys_does_not_matter(tmp_path):
    decided = decisions_file(
        tmp_path,
        "b,a,no_match,张,2026-11-01,\na,b,match,李,2026-11-20,checked the licence\n",
    )
    assert decided.table[
        ["record_key_l", "record_key_r", "decision", "decided_by"]
    ].values.tolist() == [["a", "b", "match", "李"]]


def test_missing_decisions_file_means_none_yet(tmp_path):
    assert len(read_decisions(tmp_path / "nothing.csv")) == 0
    assert len(read_decisions(None)) == 0


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("a,,match,,,\n", "row 2, field record_key_r: empty record key"),
        ("a,b,maybe,,,\n", "row 2, field decision: 'maybe' is not one of match, no_match"),
        ("a,a,match,,,\n", "row 2: a record cannot be decided against itself"),
    ],
)
def test_bad_decision_rows_name_file_row_and_field(tmp_path, row, message):
    with pytest.raises(DecisionFileError, match=message) as error:
        decisions_file(tmp_path, row)
    assert "decisions.csv" in str(error.value)


def test_decisions_file_without_the_required_columns(tmp_path):
    path = tmp_path / "decisions.csv"
    path.write_text("left,right,verdict\na,b,match\n", encoding="utf-8")
    with pytest.raises(DecisionFileError, match="missing column"):
        read_decisions(path)


def test_decisions_naming_unknown_records_are_reported(tmp_path):
    decided = decisions_file(tmp_path, "a,zzz,match,,,\n")
    result = resolve_clusters(KEYS, pairs(), decided, 0.9, 50)
    assert result.unknown_decision_records == ["zzz"]
    assert set(cluster_of(result).values()) == set(KEYS)

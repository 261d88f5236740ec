"""Recall per planted case, checked against cases counted by hand."""

import pandas as pd
import pytest

from matching.linkage.case_recall import recall_per_case


def planted(**cases: list[str]) -> pd.DataFrame:
    rows = [(key, case) for case, keys in cases.items() for key in keys]
    return pd.DataFrame(rows, columns=["record_key", "case"])


def test_only_pairs_that_involve_a_marked_record_count():
    # true customer X: a b c d, Y: e f; clusters {a b} {c d} {e f}; b carries 'renamed'
    clusters = {"a": 1, "b": 1, "c": 2, "d": 2, "e": 3, "f": 3}
    truth = {"a": "X", "b": "X", "c": "X", "d": "X", "e": "Y", "f": "Y"}
    r = recall_per_case(clusters, truth, planted(renamed=["b"]))["renamed"]
    # pairs with b inside X: (a,b) (b,c) (b,d); found: (a,b)
    assert (r.records, r.true_pairs, r.found_pairs) == (1, 3, 1)
    assert r.recall == pytest.approx(1 / 3)


def test_two_marked_records_of_one_customer_count_their_pair_once():
    clusters = {"a": 1, "b": 1, "c": 2}
    truth = {"a": "X", "b": "X", "c": "X"}
    r = recall_per_case(clusters, truth, planted(latin=["a", "b"]))["latin"]
    # pairs with a or b: (a,b) (a,c) (b,c) = 3; found (a,b)
    assert (r.true_pairs, r.found_pairs) == (3, 1)


def test_a_case_on_singletons_or_unscored_records_has_nothing_to_find():
    clusters = {"a": 1, "b": 2}
    truth = {"a": "X", "b": "Y"}
    out = recall_per_case(clusters, truth, planted(branch=["a"], ghost=["zz"]))
    assert (out["branch"].true_pairs, out["branch"].recall) == (0, 1.0)
    assert out["ghost"].records == 0
    assert list(out) == ["branch", "ghost"]


def test_merging_with_another_customer_does_not_raise_recall():
    # a wrong merge of c (customer Y) into a's cluster finds no pair of X
    clusters = {"a": 1, "b": 2, "c": 1}
    truth = {"a": "X", "b": "X", "c": "Y"}
    r = recall_per_case(clusters, truth, planted(renamed=["a"]))["renamed"]
    assert (r.true_pairs, r.found_pairs, r.recall) == (1, 0, 0.0)


def test_a_planted_file_without_its_columns_is_refused():
    with pytest.raises(ValueError, match="case"):
        recall_per_case({"a": 1}, {"a": "X"}, pd.DataFrame({"record_key": ["a"]}))

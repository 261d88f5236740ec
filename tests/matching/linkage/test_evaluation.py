"""Pairwise and B-cubed scores of a clustering, checked against cases computed by hand."""

import numpy as np
import pandas as pd
import pytest

from matching.linkage.evaluation import ClusterScores, score_clusters


def test_perfect_clustering_scores_one():
    s = score_clusters({"a": 1, "b": 1, "c": 2, "d": 3}, {"a": "x", "b": "x", "c": "y", "d": "z"})
    assert (s.records, s.true_positive_pairs, s.predicted_pairs, s.true_pairs) == (4, 1, 1, 1)
    assert s.pairwise_precision == s.pairwise_recall == s.pairwise_f1 == 1.0
    assert s.bcubed_precision == s.bcubed_recall == s.bcubed_f1 == 1.0


def test_all_singletons_claim_nothing_and_find_nothing():
    # truth: {a, b, c} and {d}; clustering: every record alone
    s = score_clusters({"a": 1, "b": 2, "c": 3, "d": 4}, {"a": "x", "b": "x", "c": "x", "d": "y"})
    assert (s.true_positive_pairs, s.predicted_pairs, s.true_pairs) == (0, 0, 3)
    assert s.pairwise_precision == 1.0  # no pair claimed, none claimed wrongly
    assert s.pairwise_recall == 0.0
    assert s.pairwise_f1 == 0.0
    # B-cubed recall: a, b, c each find 1/3 of their customer, d all of it: (3 * 1/3 + 1) / 4
    assert s.bcubed_precision == 1.0
    assert s.bcubed_recall == pytest.approx(0.5)
    assert s.bcubed_f1 == pytest.approx(2 * 0.5 / 1.5)


def test_everything_in_one_cluster():
    # truth {a, b} {c, d}; one cluster of all four: 6 pairs claimed, 2 of them true
    s = score_clusters(dict.fromkeys("abcd", "k"), {"a": "x", "b": "x", "c": "y", "d": "y"})
    assert (s.true_positive_pairs, s.predicted_pairs, s.true_pairs) == (2, 6, 2)
    assert s.pairwise_precision == pytest.approx(1 / 3)
    assert s.pairwise_recall == 1.0
    assert s.pairwise_f1 == pytest.approx(0.5)
    assert s.bcubed_precision == pytest.approx(0.5)  # each record: 2 of its 4 cluster-mates
    assert s.bcubed_recall == 1.0


def test_mixed_case_by_hand():
    # clusters {a b c} {d e} {f}; truth {a b} {c d e f}
    clusters = {"a": "C1", "b": "C1", "c": "C1", "d": "C2", "e": "C2", "f": "C3"}
    truth = {"a": "T1", "b": "T1", "c": "T2", "d": "T2", "e": "T2", "f": "T2"}
    s = score_clusters(clusters, truth)
    # true positives: (a,b) and (d,e); claimed: 3 + 1; true: 1 + 6
    assert (s.true_positive_pairs, s.predicted_pairs, s.true_pairs) == (2, 4, 7)
    assert s.pairwise_precision == pytest.approx(0.5)
    assert s.pairwise_recall == pytest.approx(2 / 7)
    assert s.pairwise_f1 == pytest.approx(2 * 0.5 * (2 / 7) / (0.5 + 2 / 7))
    # per record precision a 2/3, b 2/3, c 1/3, d 1, e 1, f 1
    assert s.bcubed_precision == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 3) / 6)
    # per record recall a 1, b 1, c 1/4, d 2/4, e 2/4, f 1/4
    assert s.bcubed_recall == pytest.approx(3.5 / 6)


def test_only_records_in_both_are_scored_and_shapes_are_accepted():
    clusters = pd.DataFrame(
        {"record_key": ["a", "b", "c", "extra"], "cluster_id": ["a", "a", "c", "extra"]}
    )
    truth = pd.Series({"a": 7, "b": 7, "c": 8, "unclustered": 9})
    s = score_clusters(clusters, truth)
    assert s.records == 3
    assert s.pairwise_f1 == 1.0
    assert isinstance(s, ClusterScores)
    assert s.as_dict()["true_pairs"] == 1


def test_nothing_in_common_scores_nothing():
    s = score_clusters({"a": 1}, {"b": 1})
    assert s.records == 0


@pytest.mark.parametrize(
    "bad",
    [
        pd.DataFrame({"record_key": ["a", "a"], "cluster_id": [1, 2]}),
        pd.DataFrame({"key": ["a"], "cluster_id": [1]}),
        pd.DataFrame({"record_key": ["a"], "cluster_id": [None]}),
    ],
)
def test_malformed_assignments_are_refused(bad):
    with pytest.raises(ValueError):
        score_clusters(bad, {"a": 1})


def test_a_million_records_by_group_sizes():
    # truth: customers of 4 records; clustering: each split into two clusters of 2
    n = 1_000_000
    keys = pd.Index([f"r{i}" for i in range(n)])
    clusters = pd.Series(np.arange(n) // 2, index=keys)
    truth = pd.Series(np.arange(n) // 4, index=keys)
    s = score_clusters(clusters, truth)
    assert s.records == n
    assert s.true_positive_pairs == s.predicted_pairs == n // 2
    assert s.true_pairs == 6 * (n // 4)
    assert s.pairwise_precision == 1.0
    assert s.pairwise_recall == pytest.approx(1 / 3)
    assert s.bcubed_precision == 1.0
    assert s.bcubed_recall == pytest.approx(0.5)


def test_truth_and_planted_case_files_are_refused_naming_the_file_and_the_column(tmp_path):
    from matching.linkage.evaluate_run import read_planted_cases, read_truth

    with pytest.raises(FileNotFoundError, match="truth file not found"):
        read_truth(tmp_path / "records.csv")
    cases = tmp_path / "planted_cases.csv"
    cases.write_text("record_key,kind\nregional:1,renamed\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"planted_cases.csv: missing column\(s\) case"):
        read_planted_cases(cases)
    cases.write_text("\ufeffrecord_key,case\nregional:1,renamed\n", encoding="utf-8")
    assert read_planted_cases(cases).to_dict("records") == [
        {"record_key": "regional:1", "case": "renamed"}
    ]

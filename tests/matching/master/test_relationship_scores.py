"""Relationships scored like matches: precision, recall per type, false merges, by hand."""

import pandas as pd
import pytest

from matching.master.relationship_scores import false_merges, score_relationships

REL = ["from_customer_id", "to_customer_id", "relationship_type"]


def rels(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=REL)


def master(assignment: dict[str, str], derived: tuple[str, ...] = ()) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "record_key": list(assignment),
            "customer_id": list(assignment.values()),
            "source_row": [k not in derived for k in assignment],
        }
    )


def truth(assignment: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({"record_key": list(assignment), "customer_id": list(assignment.values())})


# True world: company C (records c1 c2) employs person P (own record p1, and p2 = the
# contact named on c1); head office H (h1) has branch B (b1); family F1 (f1), F2 (f2).
TRUTH = truth(
    {
        "c1": "C",
        "c2": "C",
        "p1": "P",
        "c1:contact": "P",
        "h1": "H",
        "b1": "B",
        "f1": "F1",
        "f2": "F2",
    }
)
TRUE_RELS = rels(("C", "P", "employment"), ("H", "B", "branch"), ("F1", "F2", "family"))


def test_everything_found_between_the_right_customers_scores_one():
    golden = master(
        {
            "c1": "G1",
            "c2": "G1",
            "p1": "G2",
            "c1:contact": "G2",
            "h1": "G3",
            "b1": "G4",
            "f1": "G5",
            "f2": "G6",
        },
        derived=("c1:contact",),
    )
    found = rels(("G1", "G2", "employment"), ("G3", "G4", "branch"), ("G6", "G5", "family"))
    scores = score_relationships(found, golden, TRUTH, TRUE_RELS)
    for kind in ("employment", "branch", "family"):  # family: either direction
        assert (scores[kind].precision, scores[kind].recall) == (1.0, 1.0), kind
    assert all(m.merged == 0 for m in false_merges(golden, TRUTH, TRUE_RELS).values())


def test_employment_to_a_contact_left_alone_is_right_but_not_found():
    # the contact record p2 did not reach the person customer G2: it is a customer G7
    golden = master(
        {
            "c1": "G1",
            "c2": "G1",
            "p1": "G2",
            "c1:contact": "G7",
            "h1": "G3",
            "b1": "G4",
            "f1": "G5",
            "f2": "G6",
        },
        derived=("c1:contact",),
    )
    found = rels(("G1", "G7", "employment"))
    s = score_relationships(found, golden, TRUTH, TRUE_RELS)["employment"]
    assert (s.found, s.right, s.precision) == (1, 1, 1.0)
    assert (s.true, s.true_found, s.recall) == (1, 0, 0.0)


def test_a_wrong_type_or_wrong_direction_is_not_right():
    golden = master(
        {"c1": "G1", "c2": "G1", "p1": "G2", "h1": "G3", "b1": "G4", "f1": "G5", "f2": "G6"}
    )
    found = rels(("G4", "G3", "branch"), ("G3", "G4", "holding"), ("G5", "G2", "family"))
    scores = score_relationships(found, golden, TRUTH, TRUE_RELS)
    assert (scores["branch"].right, scores["branch"].recall) == (0, 0.0)  # reversed
    assert (scores["holding"].found, scores["holding"].precision) == (1, 0.0)  # not in truth
    assert scores["holding"].true == 0 and scores["holding"].recall == 1.0
    assert scores["family"].precision == 0.0
    assert scores["employment"].found == 0 and scores["employment"].precision == 1.0
    assert scores["employment"].recall == 0.0


def test_a_branch_merged_into_its_head_office_is_a_false_merge_and_not_found():
    golden = master(
        {"c1": "G1", "c2": "G9", "p1": "G2", "h1": "G3", "b1": "G3", "f1": "G5", "f2": "G6"}
    )
    merges = false_merges(golden, TRUTH, TRUE_RELS)
    assert (merges["branch"].pairs, merges["branch"].merged, merges["branch"].rate) == (1, 1, 1.0)
    assert merges["family"].merged == 0
    assert merges["owned_by"].pairs == 0 and merges["owned_by"].rate == 0.0
    s = score_relationships(rels(), golden, TRUTH, TRUE_RELS)["branch"]
    assert (s.true, s.true_found) == (1, 0)


def test_a_golden_customer_stands_for_the_true_customer_of_most_of_its_records():
    # G1 holds c1 c2 (C) and p1 (P): it stands for C; P lives in G1 too
    golden = master({"c1": "G1", "c2": "G1", "p1": "G1", "h1": "G3", "b1": "G4"})
    found = rels(("G1", "G1", "employment"))  # a customer related to itself is dropped
    s = score_relationships(found, golden, TRUTH, TRUE_RELS)["employment"]
    assert (s.found, s.true, s.true_found) == (0, 1, 0)


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="relationship_type"):
        score_relationships(
            rels(),
            master({"a": "G"}),
            truth({"a": "X"}),
            pd.DataFrame({"from_customer_id": [], "to_customer_id": []}),
        )

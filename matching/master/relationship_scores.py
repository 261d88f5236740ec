"""Relationships scored like matches: precision and recall per type, and false merges.

The truth names relationships between true customers (``truth/relationships.csv``: from,
to, type); the master names them between golden customers. To compare, each side is
carried to the other through the records:

- a golden customer **stands for** the true customer most of its records belong to
  (ties: the smallest true ID). A found relationship is right when the true customers
  its two ends stand for are related by that type in the truth. Precision is the share
  of found relationships that are right.
- a true customer **lives in** the golden customer that holds most of its source records
  (records staged from a source row; a contact person named on a company row counts only
  when the person has no source record at all; ties: the smallest golden ID). A true
  relationship is found when the master relates the two golden customers its ends live
  in, by that type. Recall is the share of true relationships found, over those whose
  two ends have scored records.

So an employment that points at a contact record left on its own, instead of at the
person customer the contact is, is right (precision) but does not count as found
(recall): the CRM user opening the person sees no employer. ``family`` is compared
without direction, every other type with the truth's direction (employment company →
person, holding parent → subsidiary, branch head office → branch, owned_by shop → owner,
referral referrer → referred, served_by_dealer customer → dealer).

**False merges**: for the types that relate two customers who must never be one (branch
and head office, shop and owner, subsidiary and parent, family members), the share of
true relationships whose two customers have records in one golden customer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

#: Relationship types whose two customers must never be merged into one.
NEVER_MERGED = ("branch", "owned_by", "holding", "family")
#: Types compared without direction.
UNDIRECTED = ("family",)


@dataclass(frozen=True)
class RelationshipScores:
    """Precision and recall of one relationship type against the truth.

    Attributes:
        relationship_type: employment, holding, branch, owned_by, family, referral, ...
        found: relationships of this type the master holds (between distinct customers).
        right: those the truth confirms.
        true: true relationships of this type whose two ends have scored records.
        true_found: those the master holds between the customers the ends live in.
        precision: right / found (1.0 when nothing was found).
        recall: true_found / true (1.0 when there is nothing to find).
    """

    relationship_type: str
    found: int
    right: int
    true: int
    true_found: int
    precision: float
    recall: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class FalseMerges:
    """How many truly related customers of one type were merged into one golden customer."""

    relationship_type: str
    pairs: int
    merged: int
    rate: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def score_relationships(
    found: pd.DataFrame,
    customers: pd.DataFrame,
    truth_records: pd.DataFrame,
    truth_relationships: pd.DataFrame,
) -> dict[str, RelationshipScores]:
    """Precision and recall per relationship type (every type on either side).

    Args:
        found: ``from_customer_id``, ``to_customer_id``, ``relationship_type`` of the master.
        customers: ``record_key``, ``customer_id`` of every record in the master, and
            ``source_row`` (True for a record staged from a source row, False for one
            derived from another record, such as a contact person).
        truth_records: ``record_key``, ``customer_id`` (the true customer).
        truth_relationships: ``from_customer_id``, ``to_customer_id``, ``relationship_type``
            between true customers.

    Returns:
        relationship type → its scores, sorted by type.

    Examples:
        >>> customers = pd.DataFrame({"record_key": ["a", "b"], "customer_id": ["G1", "G2"],
        ...                           "source_row": [True, True]})
        >>> truth = pd.DataFrame({"record_key": ["a", "b"], "customer_id": ["X", "Y"]})
        >>> rel = pd.DataFrame({"from_customer_id": ["X"], "to_customer_id": ["Y"],
        ...                     "relationship_type": ["branch"]})
        >>> found = rel.replace({"X": "G1", "Y": "G2"})
        >>> s = score_relationships(found, customers, truth, rel)["branch"]
        >>> (s.precision, s.recall)
        (1.0, 1.0)
    """
    scored = _scored(customers, truth_records)
    stands_for = _stands_for(scored)
    lives_in = _lives_in(scored)
    truth_rel = _relationship_frame(truth_relationships, "truth relationships")
    found_rel = _relationship_frame(found, "relationships")
    found_rel = found_rel[found_rel["from_customer_id"] != found_rel["to_customer_id"]]

    true_keys = set(_keys(truth_rel))
    carried = _keys(
        found_rel.assign(
            from_customer_id=found_rel["from_customer_id"].map(stands_for),
            to_customer_id=found_rel["to_customer_id"].map(stands_for),
        )
    )
    scorable = truth_rel[
        truth_rel["from_customer_id"].isin(lives_in.index)
        & truth_rel["to_customer_id"].isin(lives_in.index)
    ]
    wanted = _keys(
        scorable.assign(
            from_customer_id=scorable["from_customer_id"].map(lives_in),
            to_customer_id=scorable["to_customer_id"].map(lives_in),
        )
    )
    found_keys = set(_keys(found_rel))
    out: dict[str, RelationshipScores] = {}
    types = sorted(set(truth_rel["relationship_type"]) | set(found_rel["relationship_type"]))
    for kind in types:
        right = sum(1 for k in carried if k[2] == kind and k in true_keys)
        n_found = sum(1 for k in carried if k[2] == kind)
        mine = [k for k in wanted if k[2] == kind]
        hit = sum(1 for k in mine if k[0] != k[1] and k in found_keys)
        out[kind] = RelationshipScores(
            relationship_type=kind,
            found=n_found,
            right=right,
            true=len(mine),
            true_found=hit,
            precision=right / n_found if n_found else 1.0,
            recall=hit / len(mine) if mine else 1.0,
        )
    return out


def false_merges(
    customers: pd.DataFrame,
    truth_records: pd.DataFrame,
    truth_relationships: pd.DataFrame,
    types: tuple[str, ...] = NEVER_MERGED,
) -> dict[str, FalseMerges]:
    """Per type in ``types``: true relationships whose two customers share a golden customer.

    Args:
        customers: ``record_key``, ``customer_id`` of the master (or clusters).
        truth_records: ``record_key``, ``customer_id`` (the true customer).
        truth_relationships: ``from_customer_id``, ``to_customer_id``, ``relationship_type``.
        types: the relationship types to score.

    Returns:
        type → pairs scored (both ends have scored records), how many were merged, the rate.
    """
    scored = _scored(customers, truth_records)
    golden_of = scored.groupby("true_id")["customer_id"].agg(frozenset)
    truth_rel = _relationship_frame(truth_relationships, "truth relationships")
    out: dict[str, FalseMerges] = {}
    for kind in types:
        rows = truth_rel[truth_rel["relationship_type"] == kind]
        rows = rows[
            rows["from_customer_id"].isin(golden_of.index)
            & rows["to_customer_id"].isin(golden_of.index)
        ]
        merged = sum(
            bool(golden_of[a] & golden_of[b])
            for a, b in zip(rows["from_customer_id"], rows["to_customer_id"], strict=True)
        )
        out[kind] = FalseMerges(kind, len(rows), merged, merged / len(rows) if len(rows) else 0.0)
    return out


def _scored(customers: pd.DataFrame, truth_records: pd.DataFrame) -> pd.DataFrame:
    """Records in both: record_key, customer_id (golden), true_id, source_row."""
    for frame, what in ((customers, "customers"), (truth_records, "truth")):
        missing = {"record_key", "customer_id"} - set(frame.columns)
        if missing:
            raise ValueError(f"{what} lack column(s): {', '.join(sorted(missing))}")
    golden = customers.assign(
        source_row=customers["source_row"] if "source_row" in customers else True
    )[["record_key", "customer_id", "source_row"]]
    truth = truth_records[["record_key", "customer_id"]].rename(columns={"customer_id": "true_id"})
    both = golden.merge(truth, on="record_key", how="inner")
    return both.astype({"customer_id": str, "true_id": str})


def _stands_for(scored: pd.DataFrame) -> pd.Series:
    """golden customer → the true customer most of its records belong to."""
    counts = scored.groupby(["customer_id", "true_id"]).size().rename("n").reset_index()
    counts = counts.sort_values(["customer_id", "n", "true_id"], ascending=[True, False, True])
    return counts.drop_duplicates("customer_id").set_index("customer_id")["true_id"]


def _lives_in(scored: pd.DataFrame) -> pd.Series:
    """true customer → the golden customer holding most of its source records."""
    has_source = scored.groupby("true_id")["source_row"].transform("any")
    counted = scored[scored["source_row"] | ~has_source]
    counts = counted.groupby(["true_id", "customer_id"]).size().rename("n").reset_index()
    counts = counts.sort_values(["true_id", "n", "customer_id"], ascending=[True, False, True])
    return counts.drop_duplicates("true_id").set_index("true_id")["customer_id"]


def _relationship_frame(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    needed = ["from_customer_id", "to_customer_id", "relationship_type"]
    missing = set(needed) - set(frame.columns)
    if missing:
        raise ValueError(f"{what} lack column(s): {', '.join(sorted(missing))}")
    return frame[needed].dropna().astype(str)


def _keys(frame: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(from, to, type) per row, the two ends in order for undirected types; an end that
    maps to nothing becomes '' (it matches no key)."""
    out = []
    for a, b, kind in zip(
        frame["from_customer_id"].fillna(""),
        frame["to_customer_id"].fillna(""),
        frame["relationship_type"],
        strict=True,
    ):
        if kind in UNDIRECTED and b < a:
            a, b = b, a
        out.append((str(a), str(b), str(kind)))
    return out

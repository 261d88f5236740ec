"""The stewards' review queue: pairs the model is unsure of, side by side, with the reasons.

A pair is queued when a person should decide it:

- ``between_thresholds``: the model's probability lies between the lower and the upper
  threshold;
- ``oversized_cluster``: a link above the threshold that was cut because its cluster grew
  past the size limit;
- ``decision_conflict``: steward decisions contradict each other (a no_match between two
  records that other match decisions join).

Pairs a steward already decided leave the queue. Each row shows both records' names,
identifiers and addresses, the probability, and ``evidence``: the level every comparison
reached, in the model's own words ("name: same name core; phone: same local number,
other area code; mobile: differs").
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import pandas as pd

from matching.linkage.clustering import Resolution
from matching.linkage.decisions import Decisions, order_pairs

#: Attributes of each record shown side by side (``<attribute>_l``, ``<attribute>_r``).
REVIEW_ATTRIBUTES = (
    "source",
    "name",
    "uscc",
    "id_number",
    "birth_date",
    "phone",
    "mobile",
    "email",
    "province",
    "city",
    "district",
    "address_detail",
)
REVIEW_COLUMNS = (
    "entity_type",
    "record_key_l",
    "record_key_r",
    "match_probability",
    "match_weight",
    "reason",
    "evidence",
    *(f"{a}_{side}" for a in REVIEW_ATTRIBUTES for side in ("l", "r")),
)


def level_labels(model: dict[str, Any]) -> dict[str, dict[int, str]]:
    """Comparison → gamma value → the level's label (gamma counts down from the top level)."""
    labels: dict[str, dict[int, str]] = {}
    for comparison in model["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        top = len(levels) - 1
        labels[comparison["output_column_name"]] = {
            top - i: (
                "differs"
                if lv.get("label_for_charts") == "All other comparisons"
                else lv.get("label_for_charts", "")
            )
            for i, lv in enumerate(levels)
        }
    return labels


def explain(pairs: pd.DataFrame, labels: dict[str, dict[int, str]]) -> pd.Series:
    """One readable line per pair: the level each comparison reached (missing values left out)."""
    # joined column by column: a row-wise apply cost seconds on a large queue
    line = pd.Series(None, index=pairs.index, dtype=object)
    for comparison, by_gamma in labels.items():
        column = f"gamma_{comparison}"
        if column not in pairs.columns:
            continue
        text = pairs[column].map(by_gamma)
        part = (comparison + ": " + text).where(text.notna(), None)
        line = (line + "; " + part).where(line.notna() & part.notna(), line.fillna(part))
    return line.fillna("").astype(object)


def build_review_queue(
    pairs: pd.DataFrame,
    resolution: Resolution,
    decisions: Decisions,
    records: pd.DataFrame | Callable[[Collection[str]], pd.DataFrame],
    lower: float,
    upper: float,
    labels_by_entity: dict[str, dict[str, dict[int, str]]],
) -> pd.DataFrame:
    """Every pair a steward should decide, best candidates first within each reason.

    Args:
        pairs: scored pairs of every entity type (``entity_type``, keys, probability, weight, gammas).
        resolution: the clustering (for links cut from oversized clusters and conflicts).
        decisions: steward decisions (decided pairs leave the queue).
        records: staged records (``record_key``, ``entity_type`` and ``REVIEW_ATTRIBUTES``),
            or a function that reads those of the given record keys (only the queued
            records are shown: at 1M records, reading every record's attributes cost more
            than the rest of the queue).
        lower, upper: the review band of match probability.
        labels_by_entity: entity type → ``level_labels`` of its model.
    """
    pairs = order_pairs(pairs)
    between = pairs[
        (pairs["match_probability"] >= lower) & (pairs["match_probability"] < upper)
    ].assign(reason="between_thresholds")
    cut = resolution.cut_links[resolution.cut_links["reason"] == "oversized_cluster"][
        ["record_key_l", "record_key_r", "reason"]
    ]
    cut = order_pairs(cut).merge(pairs, on=["record_key_l", "record_key_r"], how="left")
    conflicts = resolution.conflicts[~resolution.conflicts["resolved"].astype(bool)][
        ["record_key_l", "record_key_r"]
    ]
    conflicts = order_pairs(conflicts).merge(pairs, on=["record_key_l", "record_key_r"], how="left")
    frames = [f for f in (between, cut, conflicts.assign(reason="decision_conflict")) if len(f)]
    queue = pd.concat(frames, ignore_index=True) if frames else between
    if len(queue) and len(decisions):
        decided = pd.MultiIndex.from_frame(decisions.table[["record_key_l", "record_key_r"]])
        undecided = ~pd.MultiIndex.from_frame(queue[["record_key_l", "record_key_r"]]).isin(decided)
        queue = queue[undecided | (queue["reason"] == "decision_conflict")]
    queue = queue.reset_index(drop=True)

    evidence = pd.Series("", index=queue.index, dtype=object)
    for entity_type, labels in labels_by_entity.items():
        mine = queue["entity_type"] == entity_type
        if mine.any():
            evidence[mine] = explain(queue[mine], labels)
    queue["evidence"] = evidence

    # only the queued records are indexed: indexing every staged record cost 11 s at 1M
    keys = set(queue["record_key_l"]) | set(queue["record_key_r"])
    if callable(records):
        shown = records(keys).set_index("record_key")
    else:
        shown = records.loc[records["record_key"].isin(keys).to_numpy()].set_index("record_key")
    for side in ("l", "r"):
        attributes = (
            shown[list(REVIEW_ATTRIBUTES)]
            .reindex(queue[f"record_key_{side}"])
            .reset_index(drop=True)
        )
        attributes.columns = [f"{a}_{side}" for a in REVIEW_ATTRIBUTES]
        queue = pd.concat([queue, attributes], axis=1)
    entity = shown["entity_type"]
    queue["entity_type"] = queue["entity_type"].fillna(queue["record_key_l"].map(entity))
    order = {"between_thresholds": 0, "oversized_cluster": 1, "decision_conflict": 2}
    queue = queue.sort_values(
        ["reason", "match_probability", "record_key_l", "record_key_r"],
        key=lambda c: c.map(order) if c.name == "reason" else c,
        ascending=[True, False, True, True],
        na_position="last",
    )
    return queue[list(REVIEW_COLUMNS)].reset_index(drop=True)

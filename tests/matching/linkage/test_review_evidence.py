"""The evidence line of a queued pair: each comparison's level, in the model's words."""

import pandas as pd

from matching.linkage.review_queue import explain

LABELS = {
    "name": {1: "same name core", 0: "differs"},
    "phone": {2: "same number", 1: "same local number, other area code", 0: "differs"},
    "mobile": {1: "same mobile", 0: "differs"},
}


def test_levels_are_joined_in_comparison_order_and_missing_values_left_out():
    pairs = pd.DataFrame(
        {
            "gamma_name": [1, -1, -1, 0],
            "gamma_phone": [1, 2, -1, -1],
            "gamma_mobile": [0, -1, -1, 1],
        }
    )
    assert explain(pairs, LABELS).tolist() == [
        "name: same name core; phone: same local number, other area code; mobile: differs",
        "phone: same number",
        "",
        "name: differs; mobile: same mobile",
    ]


def test_no_pairs_or_no_known_comparison_gives_empty_evidence():
    assert explain(pd.DataFrame({"gamma_name": []}), LABELS).tolist() == []
    assert explain(pd.DataFrame({"gamma_other": [1]}), LABELS).tolist() == [""]

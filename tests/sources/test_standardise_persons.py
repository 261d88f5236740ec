"""Gender words to M / F."""

import pandas as pd

from sources.standardise import clean_gender


def test_gender_words():
    raw = pd.Series(
        ["男", "M", "male", "先生", "女", "F", "Female", "女士", "ｍ", "未知", "1", None, ""]
    )
    assert clean_gender(raw).tolist() == [
        "M",
        "M",
        "M",
        "M",
        "F",
        "F",
        "F",
        "F",
        "M",
        None,
        None,
        None,
        None,
    ]

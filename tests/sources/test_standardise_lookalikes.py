"""Look-alike characters (形近字) fold to one shape; other characters stay as they are."""

import pandas as pd

from sources.standardise.lookalikes import fold_lookalikes, name_shapes


def test_look_alike_spellings_share_a_shape_and_others_do_not():
    assert fold_lookalikes("阵春涛") == fold_lookalikes("陈春涛")
    assert fold_lookalikes("厂州") == fold_lookalikes("广州")
    # groups that share a character are one group: 东/车 and 车/军
    assert fold_lookalikes("东") == fold_lookalikes("军")
    # a homophone is no look-alike (the pinyin comparison handles those)
    assert fold_lookalikes("张伟") != fold_lookalikes("章伟")


def test_name_shapes_keep_missing_names_missing():
    names = pd.Series(["玉静", None, "王静"], dtype="string[pyarrow]")
    shapes = name_shapes(names)
    assert shapes[0] == shapes[2]
    assert pd.isna(shapes[1])

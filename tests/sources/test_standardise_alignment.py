"""Every standardiser returns one row per input row, on the input's index, and never raises."""

import numpy as np
import pandas as pd
import pytest

from sources import standardise as st

FUNCTIONS = [
    st.normalise_text,
    st.to_pinyin,
    st.split_company_names,
    st.clean_person_names,
    st.clean_gender,
    st.standardise_phones,
    st.area_code_for_city,
    st.standardise_emails,
    st.standardise_uscc,
    st.standardise_id_numbers,
    st.parse_addresses,
    st.parse_dates,
    st.parse_amounts,
    st.latin_company_names,
    st.latin_person_names,
]
MESSY = ["厦门", None, np.nan, "", "  ", 12.0, "\x00", "（）", "😀", "a" * 500, "厦门"]


@pytest.mark.parametrize("func", FUNCTIONS, ids=lambda f: f.__name__)
def test_messy_column_keeps_index_and_length(func):
    s = pd.Series(MESSY, index=range(100, 100 + len(MESSY)), dtype=object)
    out = func(s)
    assert out.index.equals(s.index)


@pytest.mark.parametrize("func", FUNCTIONS, ids=lambda f: f.__name__)
def test_empty_and_all_null_columns(func):
    assert len(func(pd.Series([], dtype=object))) == 0
    out = func(pd.Series([None, None], dtype=object))
    assert len(out) == 2

"""E-mail addresses cleaned and checked, typos not corrected."""

import pandas as pd
import pytest

from sources.standardise import standardise_emails


@pytest.mark.parametrize(
    ("raw", "email", "valid"),
    [
        ("Li.Wei@Example.COM", "li.wei@example.com", True),
        (" mailto:SALES@xm-tech.cn ", "sales@xm-tech.cn", True),
        ("ｌｉ＠ｑｑ．ｃｏｍ", "li@qq.com", True),
        ("<info@acme.com.cn>", "info@acme.com.cn", True),
        ("li wei@x.cn", "li wei@x.cn", False),
        ("a..b@x.com", "a..b@x.com", False),
        ("li@qq", "li@qq", False),
        ("li@qq.c", "li@qq.c", False),
        ("no-at-sign.com", "no-at-sign.com", False),
        ("li@qq.con", "li@qq.con", True),  # a typo, but not ours to correct
    ],
)
def test_emails(raw, email, valid):
    assert standardise_emails(pd.Series([raw])).iloc[0].tolist() == [email, valid]


def test_empty_emails_give_none():
    out = standardise_emails(pd.Series([None, "  "], index=[3, 4]))
    assert out.index.tolist() == [3, 4]
    assert out.isna().all().all()

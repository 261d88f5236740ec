"""Names written on records resolve to the customer they mean, by the model, not by string."""

import pandas as pd

from matching.linkage.junk import JunkRules
from matching.master.mentions import resolve_names


def test_a_written_name_resolves_to_its_company_and_nonsense_to_nobody(staged, company_model):
    companies = staged[staged["entity_type"] == "company"].assign(customer_id=lambda f: f["truth"])
    names = pd.Series(["厦门洪来文印店", "厦门洪来文印店", "完全陌生的名字有限公司", None])
    resolved = resolve_names(
        names, companies, company_model, "company", JunkRules(max_records_per_value=3)
    )
    assert resolved["name"].tolist() == ["厦门洪来文印店"]  # one row per distinct resolved name
    assert resolved.loc[0, "customer_id"] == "C_HONGLAI_XM"
    assert 0.5 <= resolved.loc[0, "probability"] <= 1.0

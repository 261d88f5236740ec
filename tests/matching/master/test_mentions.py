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


def test_a_day_with_no_new_name_and_no_changed_record_of_its_type_scores_nothing(
    staged, company_model, monkeypatch
):
    """Only person records changed and every company name was seen before: the company
    names are neither staged nor scored again."""
    import matching.master.mentions as mentions

    companies = staged[staged["entity_type"] == "company"].assign(customer_id=lambda f: f["truth"])
    person = staged.loc[staged["entity_type"] == "person", "record_key"].iloc[0]
    called = []
    monkeypatch.setattr(mentions, "stage_records", lambda *a, **k: called.append("stage"))
    monkeypatch.setattr(mentions, "predict_pairs", lambda *a, **k: called.append("predict"))
    matches = mentions.mention_matches(
        pd.Series(["厦门洪来文印店"]),
        companies,
        company_model,
        "company",
        new_names=set(),
        changed_records={person, "dealers:removed-yesterday"},
    )
    assert called == []
    assert matches.empty and list(matches.columns) == list(mentions.MATCH_COLUMNS)

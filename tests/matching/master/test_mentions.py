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


def test_a_written_name_resolves_as_well_in_a_master_a_thousand_times_larger(staged, company_model):
    """A master a thousand times larger trains a prior a thousand times smaller and an exact
    name level no stronger (issue 14: an exact group name scored 0.418 at 100k source
    records, and no holding name resolved at 1M). The name still means its customer, a
    namesake in another city still does not take it, and nonsense still means nobody."""
    companies = staged[staged["entity_type"] == "company"].assign(customer_id=lambda f: f["truth"])
    names = pd.Series(["厦门洪来文印店", "福州洪来文印店", "完全陌生的名字有限公司"])
    junk = JunkRules(max_records_per_value=3)
    larger = {
        **company_model,
        "probability_two_random_records_match": company_model[
            "probability_two_random_records_match"
        ]
        / 1000,
    }
    here = resolve_names(names, companies, company_model, "company", junk)
    there = resolve_names(names, companies, larger, "company", junk)
    assert dict(zip(there["name"], there["customer_id"], strict=True)) == {
        "厦门洪来文印店": "C_HONGLAI_XM",
        "福州洪来文印店": "C_HONGLAI_FZ",
    }
    assert there.equals(here)  # the prior of two records plays no part


def test_a_day_with_no_new_name_and_no_changed_record_of_its_type_scores_nothing(
    staged, company_model, monkeypatch
):
    """Only person records changed and every company name was seen before: the company
    names are neither staged nor scored again."""
    import matching.master.mention_names as mention_names
    import matching.master.mentions as mentions

    companies = staged[staged["entity_type"] == "company"].assign(customer_id=lambda f: f["truth"])
    person = staged.loc[staged["entity_type"] == "person", "record_key"].iloc[0]
    called = []
    monkeypatch.setattr(mention_names, "stage_records", lambda *a, **k: called.append("stage"))
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


def test_an_incremental_scoring_reads_only_the_records_that_can_pair_and_scores_as_a_whole_one(
    staged, person_model, monkeypatch
):
    """A new name and a changed record: the prediction blocks only the names, the changed
    record and the records sharing a blocking value with the new name, and each of their
    pairs scores as in a whole scoring (term frequencies counted over every record)."""
    import matching.master.mentions as mentions

    people, names = _people_and_four_names(staged)
    # every blocked pair kept (a name alone seldom reaches 0.5 against a person), so the
    # probabilities are compared, term frequencies of the name included
    whole = mentions.mention_matches(names, people, person_model, "person", threshold=0.0)
    new_name, changed = names.iloc[0], people["record_key"].iloc[-1]

    seen = _count_predicted_records(monkeypatch)
    fresh = mentions.mention_matches(
        names,
        people,
        person_model,
        "person",
        threshold=0.0,
        new_names={new_name},
        changed_records={changed},
    )
    assert seen and seen[0] < len(people) + len(names)  # not every record was read
    expected = whole[(whole["name"] == new_name) | (whole["record_key"] == changed)]
    assert not expected.empty
    key = ["name", "record_key"]
    assert fresh.sort_values(key, ignore_index=True).equals(
        expected.sort_values(key, ignore_index=True)
    )


def test_a_whole_scoring_blocks_only_the_records_sharing_a_blocking_value_with_a_name(
    staged, person_model, monkeypatch
):
    """Every name scored (a first build, or a referrer's names, scored whole on every sync):
    the prediction reads the names and the records sharing a blocking value with one, and
    gives every pair, with its probability, that a prediction over every record gives."""
    import matching.master.mentions as mentions

    people, names = _people_and_four_names(staged)
    seen = _count_predicted_records(monkeypatch)
    fewer = mentions.mention_matches(names, people, person_model, "person", threshold=0.0)
    monkeypatch.setattr(mentions, "pairable_records", lambda prepared, *_: prepared)
    every = mentions.mention_matches(names, people, person_model, "person", threshold=0.0)
    assert seen[1] == len(people) + len(names)  # the reference read every record
    assert seen[0] < seen[1]
    assert not every.empty
    assert fewer.equals(every)


def test_names_scored_against_the_kept_records_read_in_sql_score_as_in_this_process(
    staged, person_model, params, monkeypatch
):
    """With the sync's prepared records in the warehouse (``store``), only those that can
    pair with a name scored, and the term-frequency columns of all, are read, in SQL: every
    pair and probability is the one scoring the records prepared in this process gives,
    whole and on a day with a new name and a changed record."""
    import duckdb

    import matching.master.mentions as mentions
    from matching.linkage.prepared_store import prepare_by_type, save_prepared

    people, names = _people_and_four_names(staged)
    con = duckdb.connect()
    con.execute("CREATE SCHEMA matching")
    save_prepared(con, prepare_by_type(staged, params.junk))
    seen = _count_predicted_records(monkeypatch)
    day = {"new_names": {names.iloc[0]}, "changed_records": {people["record_key"].iloc[-1]}}
    for kind in ({}, day):
        here = mentions.mention_matches(
            names, people, person_model, "person", params.junk, threshold=0.0, **kind
        )
        read = mentions.mention_matches(
            names,
            people[["record_key", "customer_id", "name"]],  # the rest is read from the store
            person_model,
            "person",
            params.junk,
            threshold=0.0,
            store=con,
            **kind,
        )
        assert not here.empty
        assert read.equals(here)
    assert seen[1] == seen[0] and seen[3] == seen[2]  # the same records were blocked


def test_names_resolved_among_records_left_in_the_warehouse_score_as_among_a_frame_of_them(
    staged, company_model, params
):
    """The records a name may mean given as a query of the warehouse (``store``), never read
    into the process: the same pairs and probabilities as with them in a frame, whole and
    on a day with a new name and a changed record, in one prediction of two groups whose
    records differ (the head offices are the companies that are no branch)."""
    import duckdb

    import matching.master.mentions as mentions
    from matching.linkage.prepared_store import prepare_by_type, save_prepared

    companies = staged[staged["entity_type"] == "company"].assign(customer_id=lambda f: f["truth"])
    fewer = companies.iloc[: len(companies) // 2]
    parents = pd.Series(["厦门洪来文印店", "厦门市快心电脑有限公司"])
    heads = pd.Series(["福州洪来文印店", "厦门市快心电脑有限公司"])
    con = duckdb.connect()
    con.execute("CREATE SCHEMA matching")
    save_prepared(con, prepare_by_type(staged, params.junk))
    con.register("__all", companies[["record_key", "customer_id"]])
    con.register("__fewer", fewer[["record_key", "customer_id"]])
    day = {"changed_records": {companies["record_key"].iloc[-1], "dealers:gone"}}
    for kind in ({}, day):
        new = None if not kind else {"福州洪来文印店"}
        framed = mentions.grouped_mention_matches(
            [mentions.NameGroup(parents, companies, new), mentions.NameGroup(heads, fewer, new)],
            company_model,
            "company",
            params.junk,
            0.0,
            store=con,
            **kind,
        )
        stored = mentions.grouped_mention_matches(
            [
                mentions.NameGroup(parents, "__all", new),
                mentions.NameGroup(heads, "(SELECT * FROM __fewer)", new),
            ],
            company_model,
            "company",
            params.junk,
            0.0,
            store=con,
            **kind,
        )
        assert any(not part.empty for part in framed)
        for here, there in zip(framed, stored, strict=True):
            assert there.equals(here)


def test_company_names_read_in_sql_without_the_records_term_frequencies_score_as_in_this_process(
    staged, company_model, params, monkeypatch
):
    """A company's name has no district, the one value the company model weighs by
    frequency: read from the store, the records' term frequencies are not read at all, and
    every pair and probability is the one scoring the records prepared in this process, with
    the frequencies of all of them, gives."""
    import duckdb

    import matching.master.mentions as mentions
    from matching.linkage.prepared_store import prepare_by_type, save_prepared

    companies = staged[staged["entity_type"] == "company"].assign(customer_id=lambda f: f["truth"])
    names = pd.Series(["厦门洪来文印店", "厦门市快心电脑有限公司", "福州洪来文印店"])
    con = duckdb.connect()
    con.execute("CREATE SCHEMA matching")
    save_prepared(con, prepare_by_type(staged, params.junk))
    loaded, load = [], mentions.load_pairable_with
    monkeypatch.setattr(
        mentions, "load_pairable_with", lambda *a, **k: loaded.append(load(*a, **k)) or loaded[-1]
    )
    here = mentions.mention_matches(
        names, companies, company_model, "company", params.junk, threshold=0.0
    )
    read = mentions.mention_matches(
        names,
        companies[["record_key", "customer_id", "name"]],
        company_model,
        "company",
        params.junk,
        threshold=0.0,
        store=con,
    )
    assert not here.empty
    assert read.equals(here)
    assert len(loaded) == 1 and loaded[0].term_frequencies is None


def test_parent_companies_and_head_offices_score_in_one_prediction_as_each_on_its_own(
    staged, company_model, monkeypatch
):
    """Two groups of company names, one resolved among every company, the other among the
    companies that are not branches: scored together, each group's names match the records
    of its own group with the probabilities each group scored alone has, in one prediction
    (a company's name has no district, the value the company model weighs by frequency)."""
    import matching.master.mentions as mentions

    companies = staged[staged["entity_type"] == "company"].assign(customer_id=lambda f: f["truth"])
    fewer = companies[~companies["name"].str.endswith("文印店")]  # the head offices' candidates
    assert 0 < len(fewer) < len(companies)
    parents = pd.Series(["厦门洪来文印店", "厦门市快心电脑有限公司"])
    heads = pd.Series(["厦门洪来文印店", "福州洪来文印店", "厦门市快心电脑有限公司"])
    junk = JunkRules(max_records_per_value=3)
    groups = [mentions.NameGroup(parents, companies), mentions.NameGroup(heads, fewer)]
    alone = [
        mentions.mention_matches(g.names, g.records, company_model, "company", junk, 0.0)
        for g in groups
    ]
    seen = _count_predicted_records(monkeypatch)
    together = mentions.grouped_mention_matches(groups, company_model, "company", junk, 0.0)
    assert len(seen) == 1
    key = ["name", "record_key"]
    for one, both in zip(alone, together, strict=True):
        assert not one.empty
        assert both.sort_values(key, ignore_index=True).equals(
            one.sort_values(key, ignore_index=True)
        )
    assert not set(together[1]["record_key"]) - set(fewer["record_key"])


def test_names_weighed_by_their_frequency_are_scored_group_by_group(
    staged, person_model, monkeypatch
):
    """A person's name is weighed by how many records bear it, counted over the records its
    group may mean: two groups of person names are each predicted on their own."""
    import matching.master.mentions as mentions

    people, names = _people_and_four_names(staged)
    groups = [
        mentions.NameGroup(names.iloc[:2], people),
        mentions.NameGroup(names.iloc[2:], people.iloc[: len(people) // 2]),
    ]
    alone = [
        mentions.mention_matches(g.names, g.records, person_model, "person", threshold=0.0)
        for g in groups
    ]
    seen = _count_predicted_records(monkeypatch)
    apart = mentions.grouped_mention_matches(groups, person_model, "person", threshold=0.0)
    assert len(seen) == 2
    for one, each in zip(alone, apart, strict=True):
        assert each.equals(one)


def _people_and_four_names(staged: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """The demo's person records, each in its true customer, and four names written on them."""
    people = staged[staged["entity_type"] == "person"].assign(customer_id=lambda f: f["truth"])
    return people, pd.Series(people["name"].dropna().unique()[:4])


def _count_predicted_records(monkeypatch) -> list[int]:
    """Lets ``mention_matches`` predict as usual and notes how many records each prediction read."""
    import matching.master.mentions as mentions

    seen: list[int] = []
    predict = mentions.predict_pairs
    monkeypatch.setattr(
        mentions,
        "predict_pairs",
        lambda r, *a, **k: seen.append(r.table.num_rows) or predict(r, *a, **k),
    )
    return seen

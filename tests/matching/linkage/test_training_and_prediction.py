"""Train → predict → cluster on a few dozen realistic records (see conftest for who is who)."""

import json

import pandas as pd
import pytest

from matching.linkage.components import cluster_pairs
from matching.linkage.evaluation import score_clusters
from matching.linkage.junk import JunkRules
from matching.linkage.prediction import predict_pairs
from matching.linkage.training import (
    TrainingParams,
    _floor_m_probabilities,
    load_model,
    save_model,
    train_model,
)


def keys_of(staged: pd.DataFrame, entity_type: str) -> pd.Series:
    return staged.loc[staged["entity_type"] == entity_type, "record_key"]


def clusters_of(staged, model, params, entity_type, threshold=0.5) -> dict[str, str]:
    pairs = predict_pairs(staged, model, threshold, junk=params.junk, threads=2)
    out = cluster_pairs(keys_of(staged, entity_type), pairs, threshold)
    return dict(zip(out["record_key"], out["cluster_id"], strict=True))


def pair_probability(pairs: pd.DataFrame, a: str, b: str) -> float | None:
    left, right = min(a, b), max(a, b)
    hit = pairs[(pairs["record_key_l"] == left) & (pairs["record_key_r"] == right)]
    return None if hit.empty else float(hit["match_probability"].iloc[0])


@pytest.fixture(scope="module")
def company_pairs(staged, company_model, params) -> pd.DataFrame:
    """Every blocked pair of companies with its probability (threshold 0), predicted once
    for the tests of this module that read it (a prediction is the same every time)."""
    return predict_pairs(staged, company_model, 0.0, junk=params.junk, threads=2)


@pytest.fixture(scope="module")
def person_pairs(staged, person_model, params) -> pd.DataFrame:
    """As ``company_pairs``, of the persons."""
    return predict_pairs(staged, person_model, 0.0, junk=params.junk, threads=2)


@pytest.fixture(scope="module")
def clusters(staged, company_model, person_model, params) -> dict[str, dict[str, str]]:
    """Each entity type's clusters at 0.5 (``clusters_of``), made once for the module."""
    return {
        "company": clusters_of(staged, company_model, params, "company"),
        "person": clusters_of(staged, person_model, params, "person"),
    }


def test_obvious_duplicates_link(clusters):
    companies = clusters["company"]
    assert len({companies[k] for k in ("dealers:D001", "key_accounts:K017", "regional:R105")}) == 1
    # region and legal form spelled three ways, a homophone and a USCC keying error
    assert len({companies[k] for k in ("dealers:D003", "key_accounts:K018", "regional:R106")}) == 1
    assert companies["dealers:D004"] == companies["key_accounts:K019"]
    persons = clusters["person"]
    assert len({persons[k] for k in ("dealers:P101", "key_accounts:P102", "regional:P103")}) == 1
    assert persons["dealers:P104"] == persons["key_accounts:P105"]


def test_same_brand_in_another_city_does_not_link(company_pairs, clusters):
    pairs = company_pairs
    # the shops were compared (same name core) and judged different
    for xiamen in ("dealers:D001", "key_accounts:K017", "regional:R105"):
        for fuzhou in ("dealers:D002", "regional:R201"):
            probability = pair_probability(pairs, xiamen, fuzhou)
            assert probability is not None, (xiamen, fuzhou)
            assert probability < 0.5, (xiamen, fuzhou, probability)
    companies = clusters["company"]
    assert companies["dealers:D002"] == companies["regional:R201"] != companies["dealers:D001"]


def test_clusters_match_the_truth(staged, clusters):
    truth = staged.set_index("record_key")["truth"]
    for entity_type in ("company", "person"):
        scores = score_clusters(pd.Series(clusters[entity_type]), truth)
        assert scores.pairwise_precision == 1.0, entity_type
        assert scores.pairwise_recall == 1.0, entity_type


def test_a_person_never_links_with_a_company(
    staged, company_model, params, company_pairs, person_pairs
):
    companies, persons = set(keys_of(staged, "company")), set(keys_of(staged, "person"))
    assert len(company_pairs) and len(person_pairs)
    assert set(company_pairs[["record_key_l", "record_key_r"]].stack()) <= companies
    assert set(person_pairs[["record_key_l", "record_key_r"]].stack()) <= persons
    # the shop's contact shares its mobile, yet links only with the same person elsewhere
    contact = "key_accounts:K017:contact"
    assert pair_probability(person_pairs, contact, "regional:P110") > 0.5
    # a company model pointed at persons finds nothing: its rules are pinned to companies
    assert predict_pairs(staged, company_model, 0.0, entity_type="person", junk=params.junk).empty


def test_junk_shared_values_do_not_block(staged, company_model, params, hotline):
    hotline_shops = set(staged.loc[staged["phone"] == hotline, "record_key"])
    assert len(hotline_shops) == 4

    def pairs_among_hotline_shops(junk: JunkRules) -> pd.DataFrame:
        pairs = predict_pairs(staged, company_model, 0.0, junk=junk, threads=2)
        return pairs[
            pairs["record_key_l"].isin(hotline_shops) & pairs["record_key_r"].isin(hotline_shops)
        ]

    assert pairs_among_hotline_shops(params.junk).empty  # 4 records > limit 3: suppressed
    blocked = pairs_among_hotline_shops(JunkRules(max_records_per_value=25))
    assert len(blocked) == 6  # the same shops with the hotline kept: every pair is a candidate
    assert (blocked["gamma_phone"] == 3).all()  # the shared-service-number level


def test_model_round_trips_through_json(staged, company_model, params, company_pairs, tmp_path):
    path = save_model(company_model, tmp_path / "models" / "company.json")
    assert json.loads(path.read_text(encoding="utf-8")) == company_model
    assert load_model(path) == company_model
    from_dict = company_pairs  # predicted from the model as a dict
    from_file = predict_pairs(staged, path, 0.0, junk=params.junk, threads=2)
    pd.testing.assert_frame_equal(from_dict, from_file)
    assert list(from_file.columns[:4]) == [
        "record_key_l",
        "record_key_r",
        "match_probability",
        "match_weight",
    ]
    assert {c for c in from_file.columns if c.startswith("gamma_")} == {
        f"gamma_{c['output_column_name']}" for c in company_model["comparisons"]
    }
    assert (from_file["record_key_l"] < from_file["record_key_r"]).all()


def test_chunked_prediction_scores_the_same_pairs(staged, company_model, params, company_pairs):
    whole = company_pairs
    chunked = predict_pairs(
        staged, company_model, 0.0, junk=params.junk, threads=2, records_per_chunk=8
    )  # 22 companies: 3 x 3 chunks
    pd.testing.assert_frame_equal(whole, chunked)


def test_the_saved_model_keeps_the_sql_of_its_settings(company_model, person_model):
    # training runs each bigram-share test in a faster form; the file keeps the plain one
    from matching.linkage.model_settings import build_settings

    def conditions(comparisons: list[dict]) -> list[list[str]]:
        return [[lv["sql_condition"] for lv in c["comparison_levels"]] for c in comparisons]

    for entity_type, model in (("company", company_model), ("person", person_model)):
        settings = build_settings(entity_type).create_settings_dict("duckdb")
        assert conditions(model["comparisons"]) == conditions(settings["comparisons"])
        assert "lambda" not in json.dumps(model)


def test_prediction_in_duckdbs_faster_form_scores_as_the_saved_model(
    staged, company_model, person_model, params, monkeypatch
):
    # prediction runs each bigram-share test counting its intersection once
    # (comparisons.duckdb_form); every pair must get the gammas and probability of the
    # model's plain SQL
    import matching.linkage.prediction as prediction

    for model in (company_model, person_model):
        fast = predict_pairs(staged, model, 0.0, junk=params.junk, threads=2)
        with monkeypatch.context() as patched:
            patched.setattr(prediction, "duckdb_form", lambda settings: settings)
            plain = predict_pairs(staged, model, 0.0, junk=params.junk, threads=2)
        assert len(fast) and "lambda" in json.dumps(prediction.duckdb_form(model))
        pd.testing.assert_frame_equal(fast, plain)


def test_training_on_per_record_values_trains_the_model_of_the_plain_sql(
    staged, person_model, params, monkeypatch
):
    # training reads what a person's name levels compute from one record from columns
    # computed once per record (comparisons.training_form); the model must be the one the
    # plain SQL trains, to the last digit
    import matching.linkage.training as training
    from matching.linkage.comparisons import duckdb_form

    with monkeypatch.context() as patched:
        patched.setattr(training, "training_form", duckdb_form)
        patched.setattr(training, "record_values_read", lambda settings: [])
        plain = train_model(staged, "person", params)
    assert plain == person_model
    assert "name_latin_swapped" not in json.dumps(person_model)


def test_training_is_reproducible(staged, company_model, params):
    assert train_model(staged, "company", params) == company_model
    assert 0 < company_model["probability_two_random_records_match"] < 1
    trained = [
        level["m_probability"]
        for comparison in company_model["comparisons"]
        for level in comparison["comparison_levels"]
        if "m_probability" in level and not level.get("fix_m_probability")
    ]
    assert trained and min(trained) >= params.min_m_probability / 2


def test_no_single_disagreement_can_veto_a_pair():
    # EM on clean data learns that duplicates "never" disagree on a mobile
    model = {
        "comparisons": [
            {
                "output_column_name": "mobile",
                "comparison_levels": [
                    {"sql_condition": "mobile_block_l IS NULL", "is_null_level": True},
                    {"sql_condition": "mobile_block_l = mobile_block_r", "m_probability": 1.0},
                    {"sql_condition": "ELSE", "m_probability": 6.5e-33},
                ],
            }
        ]
    }
    _floor_m_probabilities(model, 1e-3)
    levels = model["comparisons"][0]["comparison_levels"]
    assert levels[2]["m_probability"] == pytest.approx(1e-3 / 1.001)
    assert levels[1]["m_probability"] + levels[2]["m_probability"] == pytest.approx(1.0)
    assert "m_probability" not in levels[0]


def test_levels_em_never_saw_get_the_floor_not_splinks_default():
    # EM on pairs blocked by mobile never meets a duplicate with another mobile or an
    # other gender; Splink would score those levels with a generic 5% default
    def comparison(name, *ms, fixed=None):
        levels = [{"sql_condition": f"{name}_l IS NULL", "is_null_level": True}]
        levels += [
            {"sql_condition": f"level {i}"}
            if m is None
            else {"sql_condition": f"level {i}", "m_probability": m}
            for i, m in enumerate(ms)
        ]
        if fixed is not None:
            levels[1].update(m_probability=fixed, u_probability=fixed, fix_m_probability=True)
        return {"output_column_name": name, "comparison_levels": levels}

    model = {
        "comparisons": [
            comparison("mobile", 1.0, None),
            comparison("uscc", 1.0, 1.0, None),  # averaged over sessions: sums to 2
            comparison("email", None, None),  # never trained: Splink's defaults stay
            comparison("phone", None, 0.9, 0.1, fixed=0.01),  # level 0 is fixed neutral
        ]
    }
    _floor_m_probabilities(model, 1e-3)
    m = {c["output_column_name"]: [lv.get("m_probability") for lv in c["comparison_levels"][1:]]
         for c in model["comparisons"]}  # fmt: skip
    assert m["mobile"] == pytest.approx([1 / 1.001, 1e-3 / 1.001])
    assert m["uscc"] == pytest.approx([0.5 / 1.001, 0.5 / 1.001, 1e-3 / 1.001])
    assert m["email"] == [None, None]
    assert m["phone"] == pytest.approx([0.01, 0.9, 0.1])


def test_bad_requests_fail_early(staged, company_model, tmp_path):
    with pytest.raises(ValueError, match="'spark' needs a Spark session"):
        predict_pairs(staged, company_model, 0.5, backend="spark")
    with pytest.raises(ValueError, match="'spark' needs a Spark session"):
        train_model(staged, "company", TrainingParams(u_max_pairs=1e4), backend="spark")
    with pytest.raises(ValueError, match="'polars' is not supported"):
        predict_pairs(staged, company_model, 0.5, backend="polars")
    with pytest.raises(ValueError, match="probability between 0 and 1"):
        predict_pairs(staged, company_model, 1.5)
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="broken.json: not a readable model JSON"):
        predict_pairs(staged, tmp_path / "broken.json", 0.5)


def test_a_failing_em_session_is_skipped_and_all_failing_is_an_error(
    staged, params, company_model, monkeypatch, caplog
):
    import splink.internals.em_training_session as em_session

    real = em_session.expectation_maximisation

    def underflow_on_phone(*args, **kwargs):
        # fails inside Splink's session on phone_block, after the session has set the
        # phone comparison aside (taken it out of the linker's settings)
        in_session = [c.output_column_name for c in kwargs["core_model_settings"].comparisons]
        if "phone" not in in_session:
            raise ValueError("m_probability value 0.0 is below the minimum allowed value")
        return real(*args, **kwargs)

    monkeypatch.setattr(em_session, "expectation_maximisation", underflow_on_phone)
    with caplog.at_level("WARNING", logger="matching.linkage.training"):
        model = train_model(staged, "company", params)
    assert "failed and was skipped" in caplog.text
    assert model != company_model  # trained, without what the phone session would add
    # the comparisons the failed session had set aside are still in the model, whole
    names = [c["output_column_name"] for c in model["comparisons"]]
    assert names == [c["output_column_name"] for c in company_model["comparisons"]]
    for kept, full in zip(model["comparisons"], company_model["comparisons"], strict=True):
        assert len(kept["comparison_levels"]) == len(full["comparison_levels"])

    def always(*args, **kwargs):
        raise ValueError("m_probability value 0.0 is below the minimum allowed value")

    monkeypatch.setattr(em_session, "expectation_maximisation", always)
    with pytest.raises(ValueError, match="every EM training session failed"):
        train_model(staged, "company", params)

"""The duplicate check: standardise the form's input, find candidates, score, explain."""

import pytest

from matching.duplicate_check import DuplicateChecker
from matching.linkage.junk import JunkRules


@pytest.fixture(scope="module")
def checker(staged, company_model, person_model):
    master = staged.assign(customer_id=staged["truth"])
    checker = DuplicateChecker(
        master,
        {"company": company_model, "person": person_model},
        JunkRules(max_records_per_value=3),
    )
    yield checker
    checker.close()


def test_an_existing_shop_is_found_whatever_the_phone_format(checker):
    found = checker.check(name="厦门洪来文印店", phone="(0592)5551234")
    assert found[0].customer_id == "C_HONGLAI_XM"
    assert found[0].probability > 0.9
    assert any(r.startswith("phone: same") for r in found[0].reasons)
    assert found[0].name and "洪来" in found[0].name


def test_the_same_brand_in_another_city_is_not_the_best_answer(checker):
    found = checker.check(name="洪来文印店", phone="0591-87654321", address="福州市鼓楼区五四路1号")
    assert not found or found[0].customer_id != "C_HONGLAI_XM" or found[0].probability < 0.5


def test_a_person_is_never_offered_as_a_company(checker):
    found = checker.check(name="厦门洪来文印店", phone="0592-5551234", entity_type="company")
    assert all(not c.customer_id.startswith("P_") for c in found)


def test_unknown_input_finds_nobody(checker):
    assert checker.check(name="完全不存在的客户名称", phone="0755-12345678") == []


def test_bad_fields_are_refused(checker):
    with pytest.raises(ValueError, match="unknown field"):
        checker.check(name="x", fax="123")
    with pytest.raises(ValueError, match="at least one"):
        checker.check(name=None)


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "厦门洪来文印店", "phone": "(0592)5551234"},
        {"name": "洪来文印店", "phone": "0591-87654321", "address": "福州市鼓楼区五四路1号"},
        # the same district: the term-frequency adjustment on district_key takes part
        {"name": "洪来文印", "mobile": "13800138000", "address": "福建省厦门市思明区湖滨南路100号"},
    ],
)
def test_the_prepared_statement_scores_exactly_as_splink_does(checker, fields):
    from matching.duplicate_check import prepare_records, standardise_input

    index = checker._index["company"]
    probe = prepare_records(standardise_input(fields, "company"), "company")
    rows = index.candidates(probe.table)
    assert rows
    ours = index.score(probe.table, rows).set_index("record_key_r").sort_index()
    splink = index.score_with_splink(probe.records, rows).set_index("record_key_r").sort_index()
    assert list(ours.index) == list(splink.index)
    assert ours["match_weight"].to_numpy() == pytest.approx(splink["match_weight"].to_numpy())
    gammas = [c for c in splink.columns if c.startswith("gamma_")]
    assert (ours[gammas].to_numpy() == splink[gammas].to_numpy()).all()
    tf = [c for c in splink.columns if c.startswith("tf_")]
    assert tf and ours[tf].fillna(-1).to_numpy() == pytest.approx(splink[tf].fillna(-1).to_numpy())


def test_each_check_scores_its_own_form_and_candidates(checker):
    """The scoring statement is prepared once: every execution must read the rows of the
    check that runs it, never those it was prepared with or the last check's."""
    forms = [
        {"name": "厦门洪来文印店", "phone": "(0592)5551234"},
        {"name": "快心电脑有限公司", "phone": "0592-5080001"},
        {"name": "洪来文印店", "phone": "0591-87654321", "address": "福州市鼓楼区五四路1号"},
    ]
    first = [checker.check(**form) for form in forms]
    again = [checker.check(**form) for form in reversed(forms)][::-1]
    assert first == again
    assert [found[0].customer_id for found in first[:2]] == ["C_HONGLAI_XM", "C_KUAIXIN"]

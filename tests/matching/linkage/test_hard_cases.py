"""The hard negatives stay apart, and the mess the exports really have still links.

Scored with the models trained on the conftest records, on small tables built here.
"""

import pandas as pd

from matching.linkage.junk import JunkRules
from matching.linkage.prediction import predict_pairs
from matching.linkage.review_queue import level_labels
from sources.standardise import latin_person_names

SZ = {"province": "广东省", "city": "深圳市", "district": "宝安区"}
BJ = {"province": "北京市", "city": "北京市", "district": "东城区"}
QZ = {"province": "福建省", "city": "泉州市", "district": "鲤城区"}
HZ = {"province": "浙江省", "city": "杭州市"}
CHAIN_HOTLINE = "+864007739237"


def scored(frame: pd.DataFrame, model: dict, junk: JunkRules | None = None) -> pd.DataFrame:
    pairs = predict_pairs(frame, model, 0.0, junk=junk or JunkRules(), threads=2)
    return pairs.set_index(["record_key_l", "record_key_r"])


def label(model: dict, pairs: pd.DataFrame, comparison: str, pair: tuple[str, str]) -> str:
    return level_labels(model)[comparison][int(pairs.loc[pair, f"gamma_{comparison}"])]


def test_relatives_sharing_a_landline_and_an_address_stay_apart(make_staged, person_model):
    home = {"phone": "+8675555549434", **SZ, "address_detail": "宝安大道325号1404室"}
    frame = make_staged(
        [],
        [
            {"record_key": "regional:F1", "name": "唐敏", "mobile": "+8618241038473", **home},
            {"record_key": "dealers:F2", "name": "唐敏杰", **home},
            {"record_key": "regional:F3", "name": "任明俊", **home, "phone": "+8659522782352"},
            {"record_key": "dealers:F4", "name": "任明国", **home, "phone": "+8659522782352"},
        ],
    )
    pairs = scored(frame, person_model)
    for pair in (("dealers:F2", "regional:F1"), ("dealers:F4", "regional:F3")):
        assert label(person_model, pairs, "phone", pair) == "same number"
        assert pairs.loc[pair, "match_probability"] < 0.5, pair


def test_a_name_with_a_character_the_export_could_not_store(make_staged, person_model):
    frame = make_staged(
        [],
        [
            {"record_key": "dealers:G1", "name": "邓?英", "mobile": "+8613912340001"},
            {"record_key": "regional:G2", "name": "邓䶮英", "mobile": "+8613912340001"},
            {"record_key": "regional:G3", "name": "邓英", "mobile": "+8613912340001"},
        ],
    )
    pairs = scored(frame, person_model)
    assert label(person_model, pairs, "name", ("dealers:G1", "regional:G2")).startswith(
        "same name but for a character"
    )
    assert label(person_model, pairs, "name", ("dealers:G1", "regional:G3")) == "differs"


def test_a_name_with_a_look_alike_character_meets_its_own_spelling(make_staged, person_model):
    frame = make_staged(
        [],
        [
            {"record_key": "dealers:L1", "name": "阵春涛", "mobile": "+8618823390866"},
            {"record_key": "regional:L2", "name": "陈春涛", "mobile": "+8618823390866"},
            {"record_key": "regional:L3", "name": "张春涛", "mobile": "+8618823390866"},
        ],
    )
    pairs = scored(frame, person_model)
    assert label(person_model, pairs, "name", ("dealers:L1", "regional:L2")).startswith(
        "same name but for look-alike characters"
    )
    assert label(person_model, pairs, "name", ("dealers:L1", "regional:L3")) == "differs"


def test_a_chains_parent_and_branch_sharing_its_hotline_stay_apart(make_staged, company_model):
    frame = make_staged(
        [
            {
                "record_key": "dealers:H1",
                "name": "兴正文化传媒股份有限公司",
                "phone": CHAIN_HOTLINE,
                **BJ,
                "address_detail": "中关村大街319号12楼",
            },
            {
                "record_key": "dealers:H2",
                "name": "兴正文化传媒（泉州）有限公司",
                "phone": CHAIN_HOTLINE,
                **QZ,
                "address_detail": "温陵路124号",
            },
            {
                "record_key": "regional:H3",
                "name": "兴正文化传媒(泉州)有限公司",
                "phone": CHAIN_HOTLINE,
                **QZ,
                "address_detail": "温陵路124号",
            },
        ],
        [],
    )
    pairs = scored(frame, company_model, JunkRules(max_records_per_value=25))
    parent_branch = ("dealers:H1", "dealers:H2")
    assert label(company_model, pairs, "phone", parent_branch) == "same service number (400/800)"
    assert label(company_model, pairs, "legal_form", parent_branch) == "differs"
    assert pairs.loc[parent_branch, "match_probability"] < 0.5
    assert pairs.loc[("dealers:H1", "regional:H3"), "match_probability"] < 0.5
    # the branch in two exports is one customer: the hotline neither helps nor hurts
    assert pairs.loc[("dealers:H2", "regional:H3"), "match_probability"] > 0.9


def test_a_service_number_is_no_evidence(company_model):
    phone = next(c for c in company_model["comparisons"] if c["output_column_name"] == "phone")
    (service,) = [
        lv
        for lv in phone["comparison_levels"]
        if lv.get("label_for_charts", "").startswith("same service")
    ]
    assert service["m_probability"] == service["u_probability"]
    assert service["fix_m_probability"] and service["fix_u_probability"]


def test_a_street_address_decides_when_the_district_is_missing(make_staged, company_model):
    frame = make_staged(
        [
            {
                "record_key": "dealers:S1",
                "name": "南红网络工程有限公司",
                **HZ,
                "district": "上城区",
                "address_detail": "解放路20号2516室",
            },
            {
                "record_key": "key_accounts:S2",
                "name": "南红网络工程有限公司",
                **HZ,
                "address_detail": "解放路20号 2516室",
            },
            {
                "record_key": "regional:S3",
                "name": "南红网络工程有限公司",
                "address_detail": "解放路20号2516室",
            },
        ],
        [],
    )
    pairs = scored(frame, company_model)
    street = "same street address, district or city unknown on one side"
    assert label(company_model, pairs, "address", ("dealers:S1", "key_accounts:S2")) == street
    assert label(company_model, pairs, "address", ("dealers:S1", "regional:S3")) == street


def test_a_home_typed_with_and_without_its_flat_is_the_same_street_and_number(
    make_staged, person_model
):
    nanjing = {"province": "江苏省", "city": "南京市"}
    frame = make_staged(
        [],
        [
            {"record_key": "dealers:A1", "name": "邓兰", **nanjing, "district": "玄武区",
             "address_detail": "中山路311号"},
            {"record_key": "key_accounts:A2", "name": "邓兰", **nanjing,
             "address_detail": "中山路311号 翠苑小区30栋1820室"},
            {"record_key": "regional:A3", "name": "邓兰", **nanjing,
             "address_detail": "中山路311号 翠苑小区12栋501室"},
        ],
    )  # fmt: skip
    pairs = scored(frame, person_model)
    same = "same street and number, building and room on one side only"
    assert label(person_model, pairs, "address", ("dealers:A1", "key_accounts:A2")) == same
    # two flats at one number are two homes, not one typed two ways
    assert label(person_model, pairs, "address", ("key_accounts:A2", "regional:A3")) != same


def _latin(rows: list[dict]) -> list[dict]:
    """Person rows with the Latin form staging gives their names."""
    names = latin_person_names(pd.Series([r["name"] for r in rows]))
    return [{**r, "name_latin": latin} for r, latin in zip(rows, names, strict=True)]


def test_latin_names_a_typing_slip_apart_or_sharing_one_name(make_staged, person_model):
    """English names carry typing slips and married names, not relatives' look-alike
    names: they have levels of their own, which Chinese characters never reach."""
    same = {"id_number": "1690126", "postcode": "5344"}
    frame = make_staged(
        [],
        _latin(
            [
                {"record_key": "febrl:1", "name": "Jack Stubbs", **same},
                {"record_key": "febrl:2", "name": "Jack Stubbhw", **same},
                {"record_key": "febrl:3", "name": "Stubbs Jaxck", **same},
                {"record_key": "febrl:4", "name": "Madison Dixon", **same},
                {"record_key": "febrl:5", "name": "Madison", **same},
                {"record_key": "febrl:6", "name": "Kylie Dixon", **same},
                {"record_key": "regional:7", "name": "张伟", **same},
                {"record_key": "regional:8", "name": "张文", **same},
            ]
        ),
    )
    pairs = scored(frame, person_model)
    slip, shared = "Latin names one typing slip apart", "Latin names sharing a given or family"
    assert label(person_model, pairs, "name", ("febrl:1", "febrl:2")).startswith(slip)
    assert label(person_model, pairs, "name", ("febrl:1", "febrl:3")).startswith(slip)
    assert label(person_model, pairs, "name", ("febrl:4", "febrl:5")).startswith(shared)
    assert label(person_model, pairs, "name", ("febrl:4", "febrl:6")).startswith(shared)
    assert label(person_model, pairs, "name", ("febrl:1", "febrl:4")) == "differs"
    assert label(person_model, pairs, "name", ("regional:7", "regional:8")) == "differs"


def test_postcodes_agree_or_differ_by_a_keying_error(make_staged, person_model):
    frame = make_staged(
        [],
        [
            {"record_key": "febrl:1", "name": "Joshua Mayman", "postcode": "2830"},
            {"record_key": "febrl:2", "name": "Joshua Mayman", "postcode": "2830"},
            {"record_key": "febrl:3", "name": "Joshua Mayman", "postcode": "2803"},
            {"record_key": "febrl:4", "name": "Joshua Mayman", "postcode": "6004"},
        ],
    )
    pairs = scored(frame, person_model)
    assert label(person_model, pairs, "postcode", ("febrl:1", "febrl:2")) == "same"
    assert label(person_model, pairs, "postcode", ("febrl:1", "febrl:3")).startswith("keying error")
    assert label(person_model, pairs, "postcode", ("febrl:1", "febrl:4")) == "differs"

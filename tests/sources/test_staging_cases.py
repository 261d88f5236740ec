"""Staging carries the cases real CRMs have into their own columns."""

from datetime import date, datetime

import pandas as pd

from sources.staging import derive_contact_persons, stage_records


def stage(*rows: dict) -> pd.DataFrame:
    lineage = {
        "source": "crm",
        "source_file": "crm.csv",
        "source_row": 2,
        "ingested_at": datetime(2026, 12, 1),
        "record_hash": "h",
        "entity_type": "company",
    }
    mapped = pd.DataFrame(
        [lineage | {"source_record_id": str(i)} | row for i, row in enumerate(rows)]
    )
    return stage_records(mapped, {"crm": "key_account"}, today=date(2026, 12, 1))


def test_phone_cells_address_and_name_land_in_their_columns():
    out = stage(
        {
            "name": "Xiamen Kuaixin Computer Co., Ltd. Fuzhou Branch",
            "phone": "0592-5551234转8001",
            "mobile": "13800138000/13900139000",
            "address": "浙江省萧山市人民路5号国贸大厦A座1201室",
        },
        {"name": "王晓明", "entity_type": "person", "phone": "0592-5551234;0592-5551235"},
    ).iloc
    company, person = out[0], out[1]
    assert (company["phone"], company["phone_extension"]) == ("+865925551234", "8001")
    assert (company["mobile"], company["other_phones"]) == ("+8613800138000", ["+8613900139000"])
    assert (company["city"], company["district"]) == ("杭州市", "萧山区")
    assert (company["address_building"], company["address_room"]) == ("国贸大厦A座", "1201室")
    assert company["name_latin"] == "kuaixindiannao"
    assert (company["is_branch"], company["branch_of_name"]) == (
        True,
        "Xiamen Kuaixin Computer Co., Ltd.",
    )
    assert (person["name_latin"], person["is_branch"]) == ("wang xiaoming", None)
    assert person["other_phones"] == ["+865925551235"]


def test_several_numbers_in_one_cell_when_the_other_phone_column_is_empty():
    """A source (or a duplicate-check form) without a single mobile: that column's cells
    are NaN, which once failed staging when the phone cell held several numbers."""
    out = stage({"name": "快心电脑", "phone": "0592-5551234/5551235"}).iloc[0]
    assert out["phone"] == "+865925551234" and pd.isna(out["mobile"])
    assert out["other_phones"] == ["+865925551235"]
    out = stage({"name": "快心电脑", "mobile": "13800138000/13900139000"}).iloc[0]
    assert (out["mobile"], out["other_phones"]) == ("+8613800138000", ["+8613900139000"])


def test_a_district_several_cities_have_takes_the_sources_city():
    out = stage({"name": "快心电脑有限公司", "address": "鼓楼区五四路1号", "city": "福州"}).iloc[0]
    assert (out["province"], out["city"], out["district"]) == ("福建省", "福州市", "鼓楼区")


def test_contact_persons_get_a_latin_form():
    staged = stage({"name": "快心电脑有限公司", "contact_name": "Zhang Wei"})
    assert derive_contact_persons(staged)["name_latin"].tolist() == ["zhang wei"]

"""Small staged customer tables for the matching tests, and models trained on them once.

The customers (``truth`` says who is who):

- C_HONGLAI_XM: 厦门洪来文印店 in three exports (phones already E.164 from '0592-5551234'
  and '(0592)5551234'), one written without its city, one with a second address line;
- C_HONGLAI_FZ: the same brand in Fuzhou, another customer (other phone, other city);
- C_KUAIXIN: 快心电脑, with region and legal form spelled three ways, once with the
  homophone 快芯 and a USCC one keystroke off;
- C_JINDA, C_YUANTONG: two more duplicated companies; ten single companies, four of
  which a dealer gave the manufacturer's 400 hotline;
- persons: 张伟 three times (once as homophone 章伟), another 张伟 in Fuzhou, 李娜 twice,
  singles, and the contact person of 洪来文印店 who shares the shop's mobile.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pandas as pd
import pytest

from matching.linkage.junk import JunkRules
from matching.linkage.training import TrainingParams, train_model
from sources.schema import STAGED_COLUMNS
from sources.standardise import (
    generate_id_number,
    generate_uscc,
    normalise_text,
    split_company_names,
    to_pinyin,
)

HOTLINE = "+864008352114"
_rng = random.Random(20241123)
USCC_KUAIXIN = generate_uscc(_rng)
USCC_KUAIXIN_TYPO = USCC_KUAIXIN[:6] + ("7" if USCC_KUAIXIN[6] != "7" else "8") + USCC_KUAIXIN[7:]
USCC_JINDA = generate_uscc(_rng, region_code="440106")
ID_ZHANGWEI = generate_id_number(_rng, "1985-03-12", "M")
ID_LINA = generate_id_number(_rng, "1978-11-02", "F", region_code="350102")

XM = {"province": "福建省", "city": "厦门市"}
FZ = {"province": "福建省", "city": "福州市"}
GZ = {"province": "广东省", "city": "广州市"}
HZ = {"province": "浙江省", "city": "杭州市"}
SH = {"province": "上海市", "city": "上海市"}

COMPANIES = [
    # 厦门洪来文印店
    {"record_key": "dealers:D001", "truth": "C_HONGLAI_XM", "name": "厦门洪来文印店",
     "phone": "+865925551234", **XM, "district": "思明区", "address_detail": "湖滨南路100号"},
    {"record_key": "key_accounts:K017", "truth": "C_HONGLAI_XM", "name": "洪来文印店",
     "phone": "+865925551234", "mobile": "+8613800138000", **XM, "district": "思明区",
     "address_detail": "湖滨南路100号之1", "contact_name": "陈洪来"},
    {"record_key": "regional:R105", "truth": "C_HONGLAI_XM", "name": "厦门市洪来文印店",
     "mobile": "+8613800138000", "email": "honglai@163.com", **XM, "district": "思明区",
     "address_detail": "湖滨南路100号"},
    # the same brand in Fuzhou: another customer
    {"record_key": "dealers:D002", "truth": "C_HONGLAI_FZ", "name": "福州洪来文印店",
     "phone": "+865918761234", **FZ, "district": "鼓楼区", "address_detail": "五四路18号"},
    {"record_key": "regional:R201", "truth": "C_HONGLAI_FZ", "name": "洪来文印店",
     "phone": "+865918761234", **FZ, "district": "鼓楼区", "address_detail": "五四路18号"},
    # 快心电脑
    {"record_key": "dealers:D003", "truth": "C_KUAIXIN", "name": "厦门市快心电脑有限公司",
     "uscc": USCC_KUAIXIN, "phone": "+865925080001", **XM, "district": "湖里区",
     "address_detail": "江头北路8号"},
    {"record_key": "key_accounts:K018", "truth": "C_KUAIXIN", "name": "快心电脑(厦门)有限公司",
     "uscc": USCC_KUAIXIN, "email": "service@kuaixin.cn", **XM, "district": "湖里区",
     "address_detail": "江头北路8号"},
    {"record_key": "regional:R106", "truth": "C_KUAIXIN", "name": "快芯电脑有限公司",
     "uscc": USCC_KUAIXIN_TYPO, "phone": "+865925080001", **XM, "district": "湖里区"},
    # 金达贸易 (Guangzhou)
    {"record_key": "dealers:D004", "truth": "C_JINDA", "name": "广州金达贸易有限公司",
     "uscc": USCC_JINDA, "phone": "+862038881234", **GZ, "district": "天河区",
     "address_detail": "天河路385号"},
    {"record_key": "key_accounts:K019", "truth": "C_JINDA", "name": "金达贸易有限公司",
     "phone": "+862038881234", "mobile": "+8613922223333", **GZ, "district": "天河区",
     "address_detail": "天河路385号"},
    # 远通物流 (Hangzhou)
    {"record_key": "dealers:D005", "truth": "C_YUANTONG", "name": "杭州远通物流有限公司",
     "mobile": "+8615858581234", **HZ, "district": "西湖区", "address_detail": "文三路90号"},
    {"record_key": "regional:R301", "truth": "C_YUANTONG", "name": "远通物流有限公司",
     "mobile": "+8615858581234", "email": "yt56@126.com", **HZ, "district": "西湖区"},
    # single companies; four carry the manufacturer's hotline
    {"record_key": "dealers:D010", "truth": "C_10", "name": "厦门鑫源五金店", "phone": HOTLINE,
     **XM, "district": "集美区", "address_detail": "杏林湾路22号"},
    {"record_key": "dealers:D011", "truth": "C_11", "name": "福州恒通建材有限公司", "phone": HOTLINE,
     **FZ, "district": "台江区", "address_detail": "工业路300号"},
    {"record_key": "dealers:D012", "truth": "C_12", "name": "广州博瑞电子科技有限公司",
     "phone": HOTLINE, **GZ, "district": "海珠区", "address_detail": "新港中路12号"},
    {"record_key": "dealers:D013", "truth": "C_13", "name": "上海嘉德装饰工程有限公司",
     "phone": HOTLINE, **SH, "district": "徐汇区", "address_detail": "漕溪北路88号"},
    {"record_key": "key_accounts:K020", "truth": "C_14", "name": "杭州永安食品有限公司",
     "phone": "+8657186001234", **HZ, "district": "上城区", "address_detail": "解放路6号"},
    {"record_key": "key_accounts:K021", "truth": "C_15", "name": "上海联创软件有限公司",
     "phone": "+862164001234", "email": "hr@lianchuang.com", **SH, "district": "浦东新区",
     "address_detail": "张江路1号"},
    {"record_key": "regional:R107", "truth": "C_16", "name": "厦门盛泰餐饮管理有限公司",
     "mobile": "+8618965001234", **XM, "district": "思明区", "address_detail": "中山路50号"},
    {"record_key": "regional:R108", "truth": "C_17", "name": "厦门宏远物流有限公司",
     "phone": "+865925712345", **XM, "district": "湖里区", "address_detail": "枋湖路9号"},
    {"record_key": "regional:R202", "truth": "C_18", "name": "福州丰益服装店",
     "mobile": "+8613705912345", **FZ, "district": "仓山区", "address_detail": "仓山路7号"},
    {"record_key": "dealers:D014", "truth": "C_19", "name": "广州华兴贸易有限公司",
     "phone": "+862087651234", **GZ, "district": "越秀区", "address_detail": "北京路5号"},
]  # fmt: skip

PERSONS = [
    # 张伟 of Xiamen, once as 章伟
    {"record_key": "dealers:P101", "truth": "P_ZHANGWEI_XM", "name": "张伟", "gender": "M",
     "birth_date": "1985-03-12", "mobile": "+8613912345678", **XM, "district": "思明区"},
    {"record_key": "key_accounts:P102", "truth": "P_ZHANGWEI_XM", "name": "章伟", "gender": "M",
     "birth_date": "1985-03-12", "mobile": "+8613912345678"},
    {"record_key": "regional:P103", "truth": "P_ZHANGWEI_XM", "name": "张伟", "gender": "M",
     "id_number": ID_ZHANGWEI, "birth_date": "1985-03-12", "mobile": "+8613912345678", **XM,
     "district": "思明区", "address_detail": "莲前西路2号"},
    # another 张伟, in Fuzhou
    {"record_key": "regional:P201", "truth": "P_ZHANGWEI_FZ", "name": "张伟", "gender": "M",
     "birth_date": "1990-07-01", "mobile": "+8613705919876", **FZ, "district": "鼓楼区"},
    # 李娜
    {"record_key": "dealers:P104", "truth": "P_LINA", "name": "李娜", "gender": "F",
     "id_number": ID_LINA, "birth_date": "1978-11-02", "mobile": "+8615005912222", **FZ,
     "district": "鼓楼区"},
    {"record_key": "key_accounts:P105", "truth": "P_LINA", "name": "李娜", "gender": "F",
     "id_number": ID_LINA, "email": "lina78@qq.com", **FZ, "district": "鼓楼区"},
    # singles
    {"record_key": "dealers:P106", "truth": "P_WANGFANG", "name": "王芳", "gender": "F",
     "birth_date": "1992-05-20", "mobile": "+8613606061111", **XM, "district": "湖里区"},
    {"record_key": "dealers:P107", "truth": "P_LIUQIANG", "name": "刘强", "gender": "M",
     "birth_date": "1969-09-09", "mobile": "+8618650502222", **GZ, "district": "天河区"},
    {"record_key": "regional:P108", "truth": "P_CHENJING", "name": "陈静", "gender": "F",
     "birth_date": "1988-01-15", "mobile": "+8613859593333", **XM, "district": "集美区"},
    {"record_key": "regional:P109", "truth": "P_ZHAOLEI", "name": "赵磊", "gender": "M",
     "birth_date": "1975-12-30", "mobile": "+8615960604444", **HZ, "district": "西湖区"},
    # the contact of 洪来文印店: shares the shop's mobile, but is a person
    {"record_key": "key_accounts:K017:contact", "truth": "P_CHENHONGLAI", "name": "陈洪来",
     "mobile": "+8613800138000", "derived_from_record_key": "key_accounts:K017"},
    {"record_key": "regional:P110", "truth": "P_CHENHONGLAI", "name": "陈洪来", "gender": "M",
     "mobile": "+8613800138000", **XM, "district": "思明区"},
]  # fmt: skip


def staged_frame(companies: list[dict], persons: list[dict]) -> pd.DataFrame:
    """Rows as ``staging.customers`` has them: every staged column, names split as staging does."""
    rows = [{**r, "entity_type": "company"} for r in companies] + [
        {**r, "entity_type": "person"} for r in persons
    ]
    frame = pd.DataFrame(rows)
    for column in STAGED_COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    frame = frame.astype(object).where(frame.notna(), None)
    company = frame["entity_type"] == "company"
    split = split_company_names(normalise_text(frame.loc[company, "name"]))
    frame.loc[company, ["name", "name_core", "legal_form", "name_region"]] = split.to_numpy()
    frame.loc[~company, "name_core"] = frame.loc[~company, "name"]
    frame["name_pinyin"] = to_pinyin(frame["name_core"])
    frame["source"] = frame["record_key"].str.split(":").str[0]
    return frame


@pytest.fixture(scope="session")
def staged() -> pd.DataFrame:
    """Companies and persons of the module docstring, with a ``truth`` column."""
    return staged_frame(COMPANIES, PERSONS)


@pytest.fixture(scope="session")
def hotline() -> str:
    """The manufacturer's service number a dealer typed into four unrelated customers."""
    return HOTLINE


@pytest.fixture(scope="session")
def params() -> TrainingParams:
    """The parameters a sync trains with (``steps.ensure_models``), hotline limit below its
    four records: so ``company_model`` and ``person_model`` are the models a sync trains on
    these records, and a test of the sync's training compares with them instead of training
    its own. The tables are tiny: the u sample is every pair whatever its size."""
    return TrainingParams(junk=JunkRules(max_records_per_value=3))


@pytest.fixture(scope="session")
def company_model(staged: pd.DataFrame, params: TrainingParams, build_once) -> dict:
    """Trained once per test run, whichever pytest-xdist worker asks first."""
    return build_once("company_model", lambda _: train_model(staged, "company", params))[1]


@pytest.fixture(scope="session")
def person_model(staged: pd.DataFrame, params: TrainingParams, build_once) -> dict:
    """Trained once per test run, whichever pytest-xdist worker asks first."""
    return build_once("person_model", lambda _: train_model(staged, "person", params))[1]


@pytest.fixture(scope="session")
def make_staged():
    """Builds a staged table from company and person rows, the way ``staged`` is built."""
    return staged_frame


@pytest.fixture(scope="session")
def first_check_files(staged: pd.DataFrame, company_model, person_model, build_once) -> Path:
    """The check files a first sync writes for ``staged`` (``write_warehouse_check_files``
    on ``test_check_update.warehouse``, each record's customer its ``truth``): the index the
    carried-over and delta tests start from. Written once per test run, whichever worker
    asks first, instead of once per test: the files are the same bytes every time. Read
    it, never write it: ``first_files`` copies it."""
    from matching.check_store import write_warehouse_check_files
    from tests.matching.test_check_update import JUNK, warehouse

    def build(folder: Path) -> None:
        models = {"company": company_model, "person": person_model}
        (folder / "first").mkdir()
        write_warehouse_check_files(warehouse(staged, models, folder), folder / "first", JUNK)

    return build_once("first_check_files", build)[0] / "first"


@pytest.fixture
def first_files(first_check_files: Path, tmp_path: Path) -> Path:
    """A copy of ``first_check_files`` in the test's ``tmp_path`` (``tmp_path / "first"``),
    which the test may change."""
    return Path(shutil.copytree(first_check_files, tmp_path / "first"))

"""The demo's geography: cities the business sells in, their districts, streets and phone areas.

Real administrative names and codes (so that addresses parse, area codes resolve and ID
numbers carry a real region), a small set of streets per city, and the province each
regional office covers. Some district names exist in two cities (鼓楼区 in 福州 and
南京): an address without its city is ambiguous, as in real exports.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class City:
    """A city with its province, long-distance area code and landline length."""

    name: str  # 厦门市
    province: str  # 福建省
    area_code: str  # 592
    local_digits: int  # digits of a local landline number (7 in Xiamen, else 8)
    adcode: str  # 350200
    districts: tuple[tuple[str, str], ...]  # (name, adcode)
    streets: tuple[str, ...]
    weight: int  # share of the business's customers
    #: districts that were counties or county-level cities, and the name old records use
    old_names: tuple[tuple[str, str], ...] = ()

    def old_name(self, district: str) -> str | None:
        """萧山区 → 萧山市 (the county-level city it was until 2001), else None."""
        return dict(self.old_names).get(district)

    @property
    def short(self) -> str:
        """The name people write in company names: 厦门, 北京."""
        return self.name.removesuffix("市")

    @property
    def province_short(self) -> str:
        return self.province.removesuffix("省").removesuffix("市")


CITIES: tuple[City, ...] = (
    City(
        "厦门市",
        "福建省",
        "592",
        7,
        "350200",
        (
            ("思明区", "350203"),
            ("湖里区", "350206"),
            ("集美区", "350211"),
            ("海沧区", "350205"),
            ("同安区", "350212"),
        ),
        (
            "湖滨南路",
            "莲前西路",
            "嘉禾路",
            "厦禾路",
            "仙岳路",
            "湖里大道",
            "软件园二期观日路",
            "集美大道",
        ),
        14,
        (("同安区", "同安县"),),
    ),
    City(
        "福州市",
        "福建省",
        "591",
        8,
        "350100",
        (("鼓楼区", "350102"), ("台江区", "350103"), ("仓山区", "350104"), ("长乐区", "350112")),
        ("五四路", "八一七北路", "工业路", "六一中路", "华林路"),
        8,
        (("长乐区", "长乐市"),),
    ),
    City(
        "泉州市",
        "福建省",
        "595",
        8,
        "350500",
        (("鲤城区", "350502"), ("丰泽区", "350503")),
        ("温陵路", "田安路", "泉秀路", "刺桐路"),
        6,
    ),
    City(
        "广州市",
        "广东省",
        "20",
        8,
        "440100",
        (
            ("天河区", "440106"),
            ("越秀区", "440104"),
            ("海珠区", "440105"),
            ("白云区", "440111"),
            ("番禺区", "440113"),
        ),
        ("天河路", "体育西路", "环市东路", "中山五路", "江南大道中", "广园西路"),
        10,
        (("番禺区", "番禺市"),),
    ),
    City(
        "深圳市",
        "广东省",
        "755",
        8,
        "440300",
        (("福田区", "440304"), ("南山区", "440305"), ("罗湖区", "440303"), ("宝安区", "440306")),
        ("深南大道", "华强北路", "科技园中区科苑路", "宝安大道", "东门中路"),
        10,
    ),
    City(
        "杭州市",
        "浙江省",
        "571",
        8,
        "330100",
        (
            ("西湖区", "330106"),
            ("上城区", "330102"),
            ("拱墅区", "330105"),
            ("萧山区", "330109"),
            ("余杭区", "330110"),
        ),
        ("文三路", "延安路", "莫干山路", "解放路"),
        8,
        (("萧山区", "萧山市"), ("余杭区", "余杭市")),
    ),
    City(
        "上海市",
        "上海市",
        "21",
        8,
        "310100",
        (("浦东新区", "310115"), ("徐汇区", "310104"), ("静安区", "310106")),
        ("张江路", "漕溪北路", "南京西路", "世纪大道", "淮海中路"),
        10,
    ),
    City(
        "北京市",
        "北京市",
        "10",
        8,
        "110100",
        (("朝阳区", "110105"), ("海淀区", "110108"), ("东城区", "110101")),
        ("建国路", "中关村大街", "东直门内大街", "望京街", "学院路"),
        10,
    ),
    City(
        "成都市",
        "四川省",
        "28",
        8,
        "510100",
        (("武侯区", "510107"), ("锦江区", "510104"), ("青羊区", "510105")),
        ("人民南路", "红星路", "蜀都大道", "科华北路"),
        8,
    ),
    City(
        "武汉市",
        "湖北省",
        "27",
        8,
        "420100",
        (("江汉区", "420103"), ("武昌区", "420106"), ("洪山区", "420111")),
        ("解放大道", "中南路", "珞喻路", "武珞路"),
        7,
    ),
    City(
        "南京市",
        "江苏省",
        "25",
        8,
        "320100",
        (("玄武区", "320102"), ("鼓楼区", "320106"), ("秦淮区", "320104"), ("江宁区", "320115")),
        ("中山路", "汉中路", "中央路", "太平南路"),
        9,
        (("江宁区", "江宁县"),),
    ),
)

#: Regional office file stem per province (one CSV per office).
PROVINCE_OFFICES = {
    "福建省": "fujian",
    "广东省": "guangdong",
    "浙江省": "zhejiang",
    "上海市": "shanghai",
    "北京市": "beijing",
    "四川省": "sichuan",
    "湖北省": "hubei",
    "江苏省": "jiangsu",
}

#: Two-letter prefix of the regional offices' record numbers.
PROVINCE_PREFIX = {
    "fujian": "FJ",
    "guangdong": "GD",
    "zhejiang": "ZJ",
    "shanghai": "SH",
    "beijing": "BJ",
    "sichuan": "SC",
    "hubei": "HB",
    "jiangsu": "JS",
}

#: Dealer code prefix per city.
CITY_CODE = {
    "厦门市": "XM",
    "福州市": "FZ",
    "泉州市": "QZ",
    "广州市": "GZ",
    "深圳市": "SZ",
    "杭州市": "HZ",
    "上海市": "SH",
    "北京市": "BJ",
    "成都市": "CD",
    "武汉市": "WH",
    "南京市": "NJ",
}

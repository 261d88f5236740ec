"""Words the demo's customers are made of: brands, trades, surnames, given names, products.

Everything is simplified script as mainland systems write it (the key-account team's
Hong Kong and Taiwan units convert to traditional themselves). ``HOMOPHONES`` holds the
characters people confuse when they type a name they heard on the phone: same sound,
different character (张/章, 鑫/新).
"""

from __future__ import annotations

BRAND_CHARS = (
    "洪来快心鑫达华南金帆宏图瑞丰汇通博雅盛世恒信天成永兴顺联创嘉禾新元安泰德隆佳美"
    "长城东方明辉远航卓越中和万家富源昌广业正大红星光伟诚合众凯旋平益康捷飞腾海蓝"
)

#: Trades: (word in the name, industry, is a small shop that has no legal form).
TRADES = (
    ("文印店", "图文快印", True),
    ("图文", "图文快印", True),
    ("打字复印部", "图文快印", True),
    ("数码耗材经营部", "办公耗材", True),
    ("电脑", "IT服务", False),
    ("科技", "IT服务", False),
    ("信息技术", "IT服务", False),
    ("网络工程", "IT服务", False),
    ("贸易", "批发零售", False),
    ("商贸", "批发零售", False),
    ("办公设备", "办公设备", False),
    ("印务", "印刷", False),
    ("彩印", "印刷", False),
    ("广告", "广告传媒", False),
    ("文化传媒", "广告传媒", False),
    ("教育咨询", "教育", False),
    ("装饰工程", "建筑装饰", False),
    ("电子", "电子制造", False),
)

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺"
)
#: Surname weights: the first ten surnames cover about 40% of people.
SURNAME_WEIGHTS = tuple(12 if i < 10 else 4 if i < 30 else 1 for i in range(len(SURNAMES)))

GIVEN_CHARS = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂兰建华文辉玲红玉梅飞鹏斌宇浩凯志坤健俊峰雪琳晨欣怡涵轩航远豪婷东燕春国庆龙"
#: Characters outside GBK (CJK extension A) that some people's names carry: legacy dealer
#: systems cannot store them.
RARE_GIVEN_CHARS = "䶮㛃"

#: Very common full names: different people in different cities share them (hard negatives).
COMMON_NAMES = ("张伟", "王芳", "李娜", "刘洋", "王静", "李强", "张敏", "王磊")

HOMOPHONES = {
    "张": "章",
    "章": "张",
    "王": "汪",
    "汪": "王",
    "林": "霖",
    "鑫": "新",
    "新": "鑫",
    "达": "大",
    "华": "化",
    "盛": "胜",
    "瑞": "锐",
    "汇": "惠",
    "佳": "嘉",
    "嘉": "佳",
    "伟": "玮",
    "芳": "方",
    "娜": "纳",
    "洋": "阳",
    "来": "莱",
    "心": "新",
    "丰": "峰",
    "通": "同",
    "明": "铭",
    "辉": "晖",
    "军": "君",
    "勇": "永",
    "静": "晶",
    "丽": "莉",
    "金": "今",
    "恒": "衡",
    "杰": "洁",
    "航": "杭",
    "飞": "菲",
}

EMAIL_DOMAINS = ("163.com", "126.com", "qq.com", "sina.com", "139.com", "outlook.com")

CONTACT_TITLES = ("采购经理", "行政主管", "总经理", "办公室主任", "财务", "采购")

#: Consumables bought again and again (the ink-cartridge pattern): name, unit price.
CONSUMABLES = (
    ("墨盒 HP 803 黑色", 89.0),
    ("墨盒 Canon PG-845", 119.0),
    ("硒鼓 HP CF228A", 468.0),
    ("硒鼓 Brother TN-2325", 299.0),
)
#: One-off and occasional purchases: name, unit price, service interval in days (or 0).
EQUIPMENT = (
    ("彩色激光打印机 HP M255dw", 2899.0, 180),
    ("黑白激光打印机 Brother HL-2260D", 1099.0, 365),
    ("数码复印机 Canon iR2625", 15800.0, 90),
    ("多功能一体机 Epson L6279", 2399.0, 180),
    ("A4复印纸 70g 5包", 115.0, 0),
    ("上门维修服务", 200.0, 0),
)

INTERACTION_TYPES = ("call", "visit", "complaint", "survey")
COMPLAINT_NOTES = ("打印机卡纸", "送货延迟", "发票开错", "墨盒漏墨", "维修人员未按时上门")
CALL_NOTES = ("询价", "回访", "催款", "确认订单", "介绍新品")

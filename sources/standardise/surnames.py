"""Chinese surnames: which characters start a person's name, and how they are read as surnames.

Two standardisers need them: the Latin-script form of a person's name puts the surname
first however the export ordered it ('Xiaoming WANG' is 王晓明), and a shop named after
its owner ('张伟文印店') is told by a surname at its start. Several characters are read
differently as a surname than in everyday words, and pinyin typed by people follows the
surname reading: 曾 is 'zeng' (not 'ceng'), 单 'shan', 解 'xie', 仇 'qiu', 朴 'piao'.
"""

from __future__ import annotations

#: About 300 single-character surnames that cover nearly all of China's population.
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺"
    "顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿"
    "关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华"
    "喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗"
    "瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈匡"
    "鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权强帅屠豆朴盖练"
    "廉禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊阿乌母裘亓"
    "修邰赫杭况那宿鲜印逯隆茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利於呼居揭干但尉冶斯元束檀衣信展"
    "阴昝智幸奉植衡富尧闭由"
)
#: Two-character surnames (they come first when a name starts with one).
COMPOUND_SURNAMES = frozenset(
    {
        "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙",
        "宇文", "司徒", "夏侯", "令狐", "端木", "申屠", "澹台", "独孤", "南宫", "闻人",
        "钟离", "轩辕", "呼延", "百里", "东郭", "西门", "万俟", "司空", "太史", "拓跋",
    }
)  # fmt: skip
#: Surname readings that differ from pypinyin's most common reading of the character.
SURNAME_READINGS = {
    "曾": "zeng",
    "单": "shan",
    "解": "xie",
    "仇": "qiu",
    "朴": "piao",
    "区": "ou",
    "查": "zha",
    "乐": "yue",
    "覃": "qin",
    "缪": "miao",
    "翟": "zhai",
    "盖": "ge",
    "召": "shao",
    "种": "chong",
    "尉迟": "yuchi",
    "万俟": "moqi",
    "长孙": "zhangsun",
    "秘": "bi",
    "员": "yun",
    "折": "she",
    "宿": "su",
    "那": "na",
    "句": "gou",
    "隗": "wei",
    "阚": "kan",
    "冼": "xian",
    "逄": "pang",
    "郇": "huan",
    "谌": "chen",
    "莘": "shen",
    "繁": "po",
    "沈": "shen",
    "薄": "bo",
    "柏": "bai",
    "殷": "yin",
    "任": "ren",
    "华": "hua",
    "燕": "yan",
    "葛": "ge",
    "蕃": "pi",
}


def surname_of(name: str) -> str | None:
    """The surname a Chinese name starts with ('欧阳' for '欧阳娜娜'), None when none.

    A compound surname counts only when a given name follows it (at least one character).
    """
    if len(name) >= 3 and name[:2] in COMPOUND_SURNAMES:
        return name[:2]
    if name[:1] in SURNAMES:
        return name[:1]
    return None

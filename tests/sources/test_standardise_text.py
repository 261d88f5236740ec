"""normalise_text and to_pinyin: one spelling for the same text, one sound for homophones."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from sources.standardise import normalise_text, to_pinyin
from sources.standardise.text import PLACE_READINGS_PATH, derive_place_readings


def test_traditional_becomes_simplified():
    out = normalise_text(pd.Series(["廈門", "張偉", "快心電腦有限公司"]))
    assert out.tolist() == ["厦门", "张伟", "快心电脑有限公司"]


def test_full_width_becomes_half_width_including_chinese_parentheses():
    out = normalise_text(
        pd.Series(["快心电脑（厦门）有限公司", "ＡＢＣ－１２３", "Ｑ＆Ａ，ｏｋ", "￥１２"])
    )
    assert out.tolist() == ["快心电脑(厦门)有限公司", "ABC-123", "Q&A,ok", "¥12"]


def test_whitespace_collapsed_and_stripped_latin_case_kept():
    out = normalise_text(pd.Series(["  Acme\t\tTrading\u3000Co. ", "a\nb", "厦门\u200b 思明"]))
    assert out.tolist() == ["Acme Trading Co.", "a b", "厦门 思明"]


def test_empty_values_become_none_and_numbers_become_text():
    out = normalise_text(pd.Series([None, np.nan, "", "   ", 12345.0, 7]))
    assert out.tolist() == [None, None, None, None, "12345", "7"]


def test_result_is_aligned_to_the_input_index():
    s = pd.Series(["廈門", None, "廈門"], index=[10, 20, 30])
    out = normalise_text(s)
    assert out.index.tolist() == [10, 20, 30]
    assert out.tolist() == ["厦门", None, "厦门"]


def test_pinyin_lets_homophones_agree():
    out = to_pinyin(pd.Series(["张伟", "章伟", "張偉"]))
    assert out.tolist() == ["zhang wei"] * 3


def test_pinyin_keeps_latin_and_digits_lower_case():
    out = to_pinyin(pd.Series(["快心电脑ABC 2号", "ACME  Trading", "吕布"]))
    assert out.tolist() == ["kuai xin dian nao abc 2 hao", "acme trading", "lv bu"]


def test_pinyin_reads_place_names_as_phrases():
    assert to_pinyin(pd.Series(["厦门", "重庆"])).tolist() == ["xia men", "chong qing"]


def test_shipped_place_readings_are_those_pypinyin_gives():
    shipped = pd.read_csv(PLACE_READINGS_PATH, dtype=str, keep_default_na=False)
    derived = derive_place_readings()  # read once: 0.3 s of CPU a call
    assert dict(zip(shipped["name"], shipped["reading"], strict=True)) == derived
    assert derived["厦门"] == "xia men"


def test_pinyin_of_nothing_is_none():
    assert to_pinyin(pd.Series([None, "", "()"])).tolist() == [None, None, None]


def test_characters_read_alike_without_pypinyins_phrases_which_load_when_places_need_them():
    # a fresh interpreter: the per-character table imports pypinyin without its phrases;
    # every character pypinyin knows reads the same once the phrases are loaded, and place
    # names still read as phrases (and as shipped)
    script = """
import json, sys
import pandas as pd
from sources.standardise import text
assert "pypinyin" not in sys.modules
assert text.to_pinyin(pd.Series(["厦门快心"])).tolist() == ["xia men kuai xin"]
from pypinyin import constants, lazy_pinyin
from pypinyin.pinyin_dict import pinyin_dict
without = len(constants.PHRASES_DICT)
chars = [chr(k) for k in sorted(pinyin_dict)]
alone = [lazy_pinyin(c) for c in chars]
places = text.derive_place_readings()
from pypinyin.phrases_dict import phrases_dict
print(json.dumps({"without": without, "with": len(constants.PHRASES_DICT) == len(phrases_dict),
                  "same": alone == [lazy_pinyin(c) for c in chars], "chars": len(chars),
                  "places": places}))
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["without"] == 0 and out["with"]
    assert out["same"] and out["chars"] > 40_000
    shipped = pd.read_csv(PLACE_READINGS_PATH, dtype=str, keep_default_na=False)
    assert out["places"] == dict(zip(shipped["name"], shipped["reading"], strict=True))

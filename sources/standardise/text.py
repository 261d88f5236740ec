"""Free text in one spelling: half-width, simplified Chinese, single spaces; and its pinyin.

Dealers type names on phones with full-width input methods, Hong Kong and Taiwan
offices write traditional characters, and spreadsheets carry stray spaces. Two
spellings of the same name must become the same string before anything is matched,
and ``to_pinyin`` lets homophones ('张伟' / '章伟') agree for blocking.
"""

from __future__ import annotations

import csv
import logging
import os
import re
import sys
import threading
from pathlib import Path

import pandas as pd

from sources.standardise._common import WIDTH_TABLE, blank_to_none, map_unique
from sources.standardise._places import spellings, trie_pattern

logger = logging.getLogger(__name__)

_WHITESPACE = re.compile(r"\s+")
_WIDE = re.compile("[\uff01-\uff5e\uffe5\u200b-\u200d\ufeff\u2060]+")
_RUNS = re.compile(r"\s\s+|[^\S ]")  # whitespace that is not already a single space
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_PINYIN_JUNK = re.compile(r"[^0-9a-z\u3400-\u9fff]+")

_lock = threading.Lock()
_converter = None
_pinyin_table: dict[int, str] = {}
_phrases: tuple[re.Pattern[str], dict[str, str]] | None = None


def _opencc():
    """The one traditional → simplified converter of the process, built on first use."""
    global _converter
    with _lock:
        if _converter is None:
            import opencc

            _converter = opencc.OpenCC("t2s")
        return _converter


def _simplify(text: str) -> str:
    return text if text.isascii() else _opencc().convert(text)


def _fold_run(m: re.Match[str]) -> str:
    return m.group().translate(WIDTH_TABLE)


def _normalise_batch(texts: list[str]) -> list[str]:
    """Normalise many texts as one string: each step then runs once, in C.

    The texts are joined with NUL, whitespace (line breaks included) collapsed, and NUL
    turned into line breaks, which then separate the texts for OpenCC (measured about
    three times faster than one OpenCC call per string) and for the final split.
    """
    if not texts:
        return []
    big = "\0".join(texts)
    if big.count("\0") != len(texts) - 1:  # a text carries NUL itself: drop those
        big = "\0".join(t.replace("\0", "") for t in texts)
    big = _WIDE.sub(_fold_run, big)
    big = _RUNS.sub(" ", big).replace("\0", "\n").replace(" \n", "\n").replace("\n ", "\n")
    return _simplify(big.strip(" ")).split("\n")


def _normalise_unique(values: pd.Series) -> pd.Series:
    present = values.notna().to_numpy()
    texts = values[present].tolist()
    out = _normalise_batch(texts)
    if len(out) != len(texts):  # cannot happen unless OpenCC changes line breaks
        logger.warning("normalise_text: batch split mismatch; converting one by one")
        out = [_normalise_batch([t])[0] for t in texts]
    result = values.copy()
    result[present] = out
    return blank_to_none(result)


def normalise_one(text: str | None) -> str | None:
    """``normalise_text`` of one value (the duplicate check's form field), without pandas."""
    if text is None:
        return None
    return _normalise_batch([text])[0] or None


def normalise_text(s: pd.Series) -> pd.Series:
    """The same text as everyone else writes it: half-width, simplified, single-spaced.

    Full-width letters, digits, punctuation (including the Chinese parentheses （）)
    and the ideographic space become ASCII; traditional characters become simplified
    (OpenCC 't2s'); runs of whitespace become one space; ends are stripped. Latin text
    keeps its case. Empty cells and blank text come back as None.

    Examples:
        >>> normalise_text(pd.Series(["  廈門 快心電腦（廈門）有限公司 ", "ＡＢＣ１２３", None])).tolist()
        ['厦门 快心电脑(厦门)有限公司', 'ABC123', None]
    """
    return map_unique(s, _normalise_unique)


def _pinyin_for(chars: set[str]) -> None:
    """Add toneless pinyin of new Chinese characters to the per-character table."""
    new = [c for c in chars if ord(c) not in _pinyin_table and _CJK.match(c)]
    if not new:
        return
    lazy_pinyin = _lazy_pinyin(phrases=False)
    for char in new:
        syllable = "".join(lazy_pinyin(char)).lower()
        _pinyin_table[ord(char)] = f" {syllable} "
    logger.debug("pinyin table: +%d characters, %d total", len(new), len(_pinyin_table))


def _lazy_pinyin(phrases: bool):
    """pypinyin's ``lazy_pinyin``; ``phrases``: with its phrase dictionary loaded.

    A character read alone gets the same reading with and without the phrase dictionary
    (all 41,923 characters of pypinyin 0.55 compared; ``tests/sources/test_standardise_text.py``
    keeps comparing them), and loading it took 0.46 s of the 0.57 s pypinyin's import costs
    every process that stages a record: the per-character table is filled without it
    (pypinyin's documented ``PYPINYIN_NO_PHRASES``, set only for the import). Reading place
    names as phrases (:func:`derive_place_readings`) loads it into the same pypinyin.
    """
    if "pypinyin" not in sys.modules and not phrases:
        before = os.environ.get("PYPINYIN_NO_PHRASES")
        os.environ["PYPINYIN_NO_PHRASES"] = "1"
        try:
            import pypinyin  # noqa: F401 - imported here, without phrases
        finally:
            if before is None:
                del os.environ["PYPINYIN_NO_PHRASES"]
            else:
                os.environ["PYPINYIN_NO_PHRASES"] = before
    from pypinyin import constants, lazy_pinyin, load_phrases_dict

    if phrases and not constants.PHRASES_DICT:
        from pypinyin.phrases_dict import phrases_dict

        load_phrases_dict(phrases_dict)
    return lazy_pinyin


def _readings(lazy_pinyin, texts: list[str]) -> list[str]:
    """Pinyin of many Chinese texts in one pypinyin call: it reads each run of Chinese
    characters as a phrase and passes the '|' between them through as an item of its own.
    """
    out: list[str] = []
    current: list[str] = []
    for item in [*lazy_pinyin("|".join(texts)), "|"]:
        if item == "|":
            out.append(" ".join(current).lower())
            current = []
        else:
            current.append(item)
    return out


#: The place names read otherwise as a phrase than character by character, and their
#: reading, shipped with the package: deriving them from pypinyin (:func:`derive_place_readings`)
#: cost every process that staged a record 0.32 s of CPU, a day's sync included. Regenerate
#: after a pypinyin or division-table upgrade with ``python -m sources.standardise.text``.
PLACE_READINGS_PATH = Path(__file__).with_name("data") / "cn_place_readings.csv"


def derive_place_readings() -> dict[str, str]:
    """Place names whose reading as a phrase differs from their characters' usual one, and
    that reading ('厦门' → 'xia men', where 厦 alone reads 'sha')."""
    lazy_pinyin = _lazy_pinyin(phrases=True)
    from pypinyin.pinyin_dict import pinyin_dict

    def readings(c: str) -> int:
        return pinyin_dict.get(ord(c), "").count(",") + 1 if _CJK.match(c) else 0

    # only a name with a character of several readings can be read otherwise as a phrase
    names = [
        n
        for n in spellings()
        if n.isalnum() and all(readings(c) for c in n) and any(readings(c) > 1 for c in n)
    ]
    chars = sorted({c for n in names for c in n})
    single = dict(zip(chars, _readings(lazy_pinyin, chars), strict=True))
    return {
        name: phrase
        for name, phrase in zip(names, _readings(lazy_pinyin, names), strict=True)
        if phrase != " ".join(single[c] for c in name)
    }


def write_place_readings(path: Path = PLACE_READINGS_PATH) -> None:
    """Write :func:`derive_place_readings` as CSV (name, reading), sorted by name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["name", "reading"])
        writer.writerows(sorted(derive_place_readings().items()))


def _place_phrases() -> tuple[re.Pattern[str], dict[str, str]]:
    """Place names whose reading differs from their characters' usual one ('厦门' → 'xia men'),
    as :data:`PLACE_READINGS_PATH` ships them."""
    global _phrases
    if _phrases is None:
        with PLACE_READINGS_PATH.open(encoding="utf-8") as f:
            overrides = {row["name"]: f" {row['reading']} " for row in csv.DictReader(f)}
        _phrases = re.compile(trie_pattern(sorted(overrides))), overrides
    return _phrases


def _pinyin_tables(chars: set[str]) -> tuple[dict[int, str], re.Pattern[str], dict[str, str]]:
    """The per-character table (holding ``chars`` from now on: entries are only ever added,
    so it is read without a copy) and the place-name phrases."""
    with _lock:
        _pinyin_for(chars)
        return _pinyin_table, *_place_phrases()


def _read(text: str, table: dict[int, str], phrase_rx: re.Pattern[str], phrases: dict) -> str:
    """One width-folded text's pinyin ('' when nothing is left)."""
    text = phrase_rx.sub(lambda m: phrases[m.group()], text)
    return _PINYIN_JUNK.sub(" ", text.translate(table).lower()).strip()


def _pinyin_unique(values: pd.Series) -> pd.Series:
    texts = [t.translate(WIDTH_TABLE) if isinstance(t, str) else "" for t in values]
    table, phrase_rx, phrases = _pinyin_tables(set("".join(texts)))
    return pd.Series([_read(t, table, phrase_rx, phrases) or None for t in texts], dtype=object)


def pinyin_one(text: str | None) -> str | None:
    """``to_pinyin`` of one value (the duplicate check's form field), without pandas."""
    if text is None:
        return None
    text = text.translate(WIDTH_TABLE)
    return _read(text, *_pinyin_tables(set(text))) or None


def to_pinyin(s: pd.Series) -> pd.Series:
    """Toneless lower-case pinyin, one space between syllables, for matching by sound.

    Each Chinese character is looked up once in a per-character table filled from
    pypinyin, so homophones agree ('张伟' and '章伟' are both 'zhang wei'). Latin letters
    and digits are kept, lower-cased; punctuation separates words. Place names are read
    as phrases ('厦门' → 'xia men', '重庆' → 'chong qing'); other characters get their
    most common reading (polyphonic surnames 曾, 单, 解 included), which is consistent
    and good enough for blocking.

    Examples:
        >>> to_pinyin(pd.Series(["张伟", "章伟", "快心电脑ABC 2"])).tolist()
        ['zhang wei', 'zhang wei', 'kuai xin dian nao abc 2']
    """
    return map_unique(s, _pinyin_unique)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    write_place_readings()

"""What the model compares for each entity type, level by level.

Each comparison sorts a pair of records into levels from "disagree" to "the same", and
training learns how much each level says. What the levels encode about this data:

- a company is named by its *core* ('快心电脑'), which survives region and legal-form
  changes between exports; homophone characters (快心/快芯) agree in pinyin;
- Chinese text is compared by overlap of character bigrams, not by DuckDB's
  Jaro-Winkler/Levenshtein, which work on UTF-8 bytes and make any two Chinese strings
  look alike (洪来文印店 / 洪来建材店 score 0.86 on bytes, 0.79 on characters);
  Jaro-Winkler runs on pinyin, which is ASCII;
- a name typed in another script ('Xiamen Kuaixin Computer Co., Ltd.', 'Zhang Wei')
  meets its Chinese spelling in its Latin form (``name_latin``: 'kuaixindiannao',
  'zhang wei'), a person's in either order ('WANG Xiaoming' / 'Xiaoming Wang');
- a branch ('…福州分公司', '…分店', '…办事处') and a company that is not one are two
  customers, whatever else they share: a level fixed at a match weight of about -10;
- a region in the company name that differs ('厦门' vs '福州') marks another branch, and
  so does another legal form: a chain's parent is a 股份有限公司 and its branches
  are 有限公司 (a legal form left out says nothing);
- a landline stored with another area code still ends in the same digits;
- a number one record lists second in its cell ('138…/139…') that is another record's
  phone or mobile is the same number (``phone_numbers``), and so is a mobile written
  in one record's phone column;
- a 400/800 service number is a brand's hotline, typed for every branch of a chain: two
  records sharing one are no more alike than their names already say (a level fixed
  at match weight 0, so the same brand in another city stays another customer);
- a part of the address missing on one side (no district, a city the address parser
  could not read) is no disagreement: the street address then decides; a person's
  street and number typed with the flat on one side only ('中山路311号' /
  '中山路311号翠苑小区30栋1820室', whose bigrams overlap 0.37) is a level of its own,
  weaker than the same address (companies do not get it: a tower at one number holds
  many);
- a USCC, personal ID, birth date or mobile one keystroke off (a digit mistyped, two
  neighbours swapped: 13812345678 / 13812345768) is most likely the same value;
- a shared district is common in a big district and telling in a small one (term
  frequencies), and a common person name (张伟) says less than a rare one;
- a name with a look-alike character (形近字: 阵春涛 for 陈春涛, copied off a handwritten
  form) has the same look-alike-folded shape (``name_shape``): a level of its own,
  weaker than the same name, so that a shared mobile or ID decides;
- a person name that neither reads nor sounds the same is another name: people
  mistype a name by ear (章伟 for 张伟: the same pinyin), and a name that merely
  sounds *close* (任明俊 / 任明国, 唐敏 / 唐敏杰) is most often a relative, who also
  shares the household's landline and address; only a character a legacy encoding
  could not store (䶮 written '?') is let through as the same name;
- a name written in Latin letters on both records (an English name, or one a clerk
  typed in pinyin) is another matter: its variants are typing slips, not relatives'
  names, so such names one slip apart (Jaro-Winkler of their Latin forms, in either
  order: 'jack stubbhw' / 'jack stubbs' 0.948, 'stubbs jaxck' / 'jack stubbs' 0.978)
  have a level of their own, and so do names that share a given or family name while
  the other is different or missing ('Madison' / 'Madison Dixon', a woman's married
  name). Chinese characters never reach these levels (张伟 / 张文 stay two names);
- a postcode (a district's in China, a suburb's in Australia) is compared as typed, a
  keying error (2803 / 2830) counting as likely the same, term-frequency adjusted.

Every level reads the prepared columns of ``matching.linkage.features``.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink.internals.comparison_level_creator import ComparisonLevelCreator


@dataclass(frozen=True)
class ComparisonThresholds:
    """Similarity cut-offs of the comparison levels, and how EM iterates.

    Attributes:
        name_grams_high: share of character bigrams two company name cores must have in
            common to count as 'nearly the same name' (e.g. 洪来文印 / 洪来文印店: 0.75).
        name_grams_low: share for 'similar name' (an added or changed word).
        name_pinyin_jaro_winkler: Jaro-Winkler on pinyin that counts as 'sounds nearly
            the same' for company names.
        person_pinyin_jaro_winkler: no longer read: person names have no 'sounds
            nearly the same' level (relatives sound alike; see the module docstring).
            Kept so that existing configurations still load.
        latin_person_jaro_winkler: Jaro-Winkler of the Latin forms of two person names,
            both written in Latin letters, that counts as 'the same name but for a typing
            slip' ('jack stubbhw' / 'jack stubbs': 0.948).
        address_grams: share of bigrams of the street address for 'same address'.
        identifier_max_edits: Damerau-Levenshtein distance of a USCC, ID number or birth
            date still taken as a keying error of the same value.
        em_convergence: EM stops when no parameter moves more than this.
        max_iterations: EM iterations per training session at most.
    """

    name_grams_high: float = 0.6
    name_grams_low: float = 0.34
    name_pinyin_jaro_winkler: float = 0.92
    person_pinyin_jaro_winkler: float = 0.9
    latin_person_jaro_winkler: float = 0.92
    address_grams: float = 0.5
    identifier_max_edits: int = 1
    em_convergence: float = 1e-4
    max_iterations: int = 25


#: m and u of a level fixed to say nothing (Bayes factor 1, match weight 0).
NEUTRAL_PROBABILITY = 0.01
#: m and u of the level 'one is a branch, the other is not': 1 in 10,000 true pairs is
#: typed with the branch marker on one side only, 8% of random pairs differ so
#: (match weight log2(0.0001 / 0.08) ≈ -9.6, beyond the other comparisons' agreement on
#: a shared name core and city).
BRANCH_MISMATCH_M, BRANCH_MISMATCH_U = 0.0001, 0.08


def comparisons_for(
    entity_type: str, thresholds: ComparisonThresholds
) -> list[cl.CustomComparison]:
    """The comparisons of the company or the person model."""
    if entity_type == "company":
        return _company_comparisons(thresholds)
    if entity_type == "person":
        return _person_comparisons(thresholds)
    raise ValueError(f"no comparisons for entity type {entity_type!r}")


def _grams_at_least(column: str, share: float) -> str:
    """SQL: the two bigram lists share at least ``share`` of their union (Jaccard).

    The lists hold distinct bigrams (``matching.linkage.features``), so the union has
    len(l) + len(r) - common elements: one list intersection per pair instead of an
    intersection plus a concatenated, de-duplicated union (the costliest expression at
    u estimation and prediction).
    """
    common = f"len(list_intersect({column}_l, {column}_r))"
    union = f"(len({column}_l) + len({column}_r) - {common})"
    return f"{common} >= {share} * {union}"


def _grams_at_least_once(column: str, share: float | str) -> str:
    """SQL: :func:`_grams_at_least` with the intersection counted once per pair.

    DuckDB evaluates ``len(list_intersect(...))`` at each of its two places in the test
    (and the test sits in two name levels): on 165,600 random company pairs at 1M records
    the name comparison took 2.3 s, one intersection alone 0.5 s. A lambda over a one-item
    list binds the count to ``k`` and tests ``k >= share * (len(l) + len(r) - k)``: the
    same numbers in the same arithmetic, so the same answer for every pair, with one
    intersection instead of two.
    """
    common = f"len(list_intersect({column}_l, {column}_r))"
    union = f"(len({column}_l) + len({column}_r) - k)"
    return f"list_transform([{common}], lambda k: k >= {share} * {union})[1]"


#: A test :func:`_grams_at_least` wrote, as it reads in a condition or a saved model.
_GRAMS_TEST = re.compile(
    r"len\(list_intersect\((?P<c>\w+)_l, (?P=c)_r\)\) >= (?P<share>[0-9.]+) \* "
    r"\(len\((?P=c)_l\) \+ len\((?P=c)_r\) - len\(list_intersect\((?P=c)_l, (?P=c)_r\)\)\)"
)


def one_intersection_per_test(sql: str) -> str:
    """``sql`` (a DuckDB condition) with each bigram-share test counting its list
    intersection once per pair (:func:`_grams_at_least_once`); other SQL as it is.

    Training evaluates the comparisons on about eleven million pairs per entity type (u
    sampling, EM), so it runs on this form; the saved model keeps the plain one, which
    the Spark translation (``matching.linkage.spark_sql``) and readers know.
    """
    return _GRAMS_TEST.sub(lambda m: _grams_at_least_once(m["c"], m["share"]), sql)


def duckdb_form(settings: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``settings`` (a model or untrained settings, Splink JSON) as DuckDB runs
    them fastest: each bigram-share test counts its intersection once per pair
    (:func:`one_intersection_per_test`), the same answers for about a third less time.
    Training and prediction on DuckDB run this form; a saved model keeps the plain one."""
    form = copy.deepcopy(settings)
    for comparison in form["comparisons"]:
        for level in comparison["comparison_levels"]:
            level["sql_condition"] = one_intersection_per_test(level["sql_condition"])
    return form


def record_values_read(settings: dict[str, Any]) -> list[RecordValue]:
    """The :data:`RECORD_VALUES` the levels of ``settings`` (Splink JSON) compute per pair."""
    conditions = " ".join(
        level["sql_condition"]
        for comparison in settings["comparisons"]
        for level in comparison["comparison_levels"]
    )
    return [v for v in RECORD_VALUES if v.on("l") in conditions or v.on("r") in conditions]


def training_form(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` in :func:`duckdb_form`, each :class:`RecordValue` read from its own
    column (``column_l`` / ``column_r``) instead of computed again for every pair.

    Training compares about eleven million pairs per entity type, most of them among the
    ~4,500 records of the u sample: a person's name levels took a regular expression per
    side, and built the swapped name and split the words, for each of those pairs. Computed
    once per record (``matching.linkage.training``, before the records are registered),
    the values are the same, so every pair gets the same level and the same model is
    trained. Prediction keeps :func:`duckdb_form` (its records lack these columns), and a
    saved model the plain SQL.
    """
    form = duckdb_form(settings)
    for comparison in form["comparisons"]:
        for level in comparison["comparison_levels"]:
            sql = level["sql_condition"]
            for value in RECORD_VALUES:
                for side in "lr":
                    sql = sql.replace(value.on(side), f"{value.column}_{side}")
            level["sql_condition"] = sql
    return form


def _within_edits(column: str, max_edits: int) -> str:
    """SQL: Damerau-Levenshtein distance at most ``max_edits``.

    With one edit, the characters before it agree and so do those after it, so two
    values one edit apart share their first or their last k = min length // 2 - 1
    characters. That test is exact (it never drops a pair within one edit) and far
    cheaper than the distance, which random pairs (u estimation) then rarely reach.
    """
    left, right = f"{column}_l", f"{column}_r"
    distance = f"damerau_levenshtein({left}, {right}) <= {max_edits}"
    if max_edits != 1:
        return distance
    k = f"greatest(least(length({left}), length({right})) // 2 - 1, 0)"
    return (
        f"(left({left}, {k}) = left({right}, {k}) or right({left}, {k}) = right({right}, {k}))"
        f" and {distance}"
    )


def _exact(column: str, label: str, tf: bool = False) -> cll.ExactMatchLevel:
    level = cll.ExactMatchLevel(column, term_frequency_adjustments=tf)
    level.configure(label_for_charts=label)
    return level


def _comparison(name: str, description: str, levels: list[Any]) -> cl.CustomComparison:
    return cl.CustomComparison(levels, output_column_name=name, comparison_description=description)


def _company_name(t: ComparisonThresholds) -> cl.CustomComparison:
    near = (
        f"({_grams_at_least('name_grams', t.name_grams_high)}"
        f" or jaro_winkler_similarity(name_pinyin_l, name_pinyin_r) >= {t.name_pinyin_jaro_winkler})"
    )
    return _comparison(
        "name",
        "Company name core (without region and legal form)",
        [
            cll.NullLevel("name_key"),
            _exact("name_key", "same name core"),
            _exact("name_pinyin", "same pinyin (homophone characters)"),
            _exact("name_latin", "same name in Latin script (pinyin, English trade words)"),
            _exact("name_shape", "same name but for look-alike characters (形近字)"),
            cll.CustomLevel(near, label_for_charts="nearly the same name or sound"),
            cll.CustomLevel(
                _grams_at_least("name_grams", t.name_grams_low), label_for_charts="similar name"
            ),
            cll.ElseLevel(),
        ],
    )


def _unreadable_characters_agree(column: str) -> str:
    """SQL: same length, and equal once a '?' on either side (a character an export's
    encoding could not store, 䶮 → ?) is read as any one character."""
    left, right = f"{column}_l", f"{column}_r"
    return (
        f"length({left}) = length({right})"
        f" and (contains({left}, '?') or contains({right}, '?'))"
        f" and ({right} like replace({left}, '?', '_') or {left} like replace({right}, '?', '_'))"
    )


@dataclass(frozen=True)
class RecordValue:
    """A value a comparison level computes from one record alone, on both sides of each
    pair (is the name written in Latin letters? the name's parts swapped).

    Attributes:
        column: the name of the value as a column of its own (training's form).
        sql: SQL over the record's prepared columns, each written ``column{s}``: ``{s}``
            is ``_l`` / ``_r`` in a level's condition and empty over the record itself.
    """

    column: str
    sql: str

    def on(self, side: str) -> str:
        """SQL of the value of the left ('l') or right ('r') record of a pair."""
        return self.sql.format(s=f"_{side}")

    def of_record(self) -> str:
        """SQL of the value over one record's columns (a select list item)."""
        return self.sql.format(s="")


#: A person name written without a Chinese character.
LATIN_WRITTEN = RecordValue(
    "name_written_latin", "not regexp_matches(name_key{s}, '[\u3400-\u9fff]')"
)
#: A two-part Latin name with its parts the other way round ('wei zhang').
LATIN_SWAPPED = RecordValue(
    "name_latin_swapped",
    "split_part(name_latin{s}, ' ', 2) || ' ' || split_part(name_latin{s}, ' ', 1)",
)
#: The first and second word of a Latin name.
LATIN_FIRST = RecordValue("name_latin_first", "split_part(name_latin{s}, ' ', 1)")
LATIN_SECOND = RecordValue("name_latin_second", "split_part(name_latin{s}, ' ', 2)")

#: Every :class:`RecordValue` a level reads; the swapped name before the words it
#: contains, so that a rewrite replaces the whole expression first.
RECORD_VALUES = (LATIN_WRITTEN, LATIN_SWAPPED, LATIN_FIRST, LATIN_SECOND)


def _latin_person_levels(t: ComparisonThresholds) -> list[cll.CustomLevel]:
    """Levels of names written in Latin letters on both records: a typing slip, or one
    name (given or family) shared while the other differs or is missing."""
    both = f"{LATIN_WRITTEN.on('l')} and {LATIN_WRITTEN.on('r')}"
    near = t.latin_person_jaro_winkler
    slip = (
        f"{both} and (jaro_winkler_similarity(name_latin_l, name_latin_r) >= {near}"
        f" or jaro_winkler_similarity(name_latin_l, {LATIN_SWAPPED.on('r')}) >= {near})"
    )
    words = [word.on(side) for side in "lr" for word in (LATIN_FIRST, LATIN_SECOND)]
    l1, l2, r1, r2 = words
    shared = (
        f"{both} and ({l1} = {r1} or {l1} = {r2} or ({l2} <> '' and ({l2} = {r1} or {l2} = {r2})))"
    )
    return [
        cll.CustomLevel(slip, label_for_charts="Latin names one typing slip apart, either order"),
        cll.CustomLevel(shared, label_for_charts="Latin names sharing a given or family name"),
    ]


def _person_name(t: ComparisonThresholds) -> cl.CustomComparison:
    return _comparison(
        "name",
        "Person name (term-frequency adjusted: 张伟 says less than a rare name)",
        [
            cll.NullLevel("name_key"),
            _exact("name_key", "same name", tf=True),
            cll.CustomLevel(
                "name_pinyin_l = name_pinyin_r and length(name_key_l) = length(name_key_r)",
                label_for_charts="same pinyin (homophone characters)",
            ),
            cll.CustomLevel(
                _unreadable_characters_agree("name_key"),
                label_for_charts="same name but for a character the export could not store (?)",
            ),
            cll.CustomLevel(
                "name_shape_l = name_shape_r",
                label_for_charts="same name but for look-alike characters (形近字: 阵/陈)",
            ),
            cll.CustomLevel(
                f"name_latin_l = name_latin_r or name_latin_l = {LATIN_SWAPPED.on('r')}",
                label_for_charts="same name in Latin script, either order (Zhang Wei / 张伟)",
            ),
            *_latin_person_levels(t),
            cll.ElseLevel(),
        ],
    )


def _identifier(
    name: str, column: str, description: str, t: ComparisonThresholds
) -> cl.CustomComparison:
    return _comparison(
        name,
        description,
        [
            cll.NullLevel(column),
            _exact(column, "same"),
            _keying_error(column, t),
            cll.ElseLevel(),
        ],
    )


def _keying_error(column: str, t: ComparisonThresholds) -> cll.CustomLevel:
    """The identifiers differ by a slip of the keyboard (two digits swapped, one mistyped)."""
    return cll.CustomLevel(
        _within_edits(column, t.identifier_max_edits),
        label_for_charts=f"keying error (<= {t.identifier_max_edits} edit)",
    )


def _exact_or_not(name: str, column: str, description: str) -> cl.CustomComparison:
    return _comparison(
        name, description, [cll.NullLevel(column), _exact(column, "same"), cll.ElseLevel()]
    )


def _among_numbers(column: str) -> cll.CustomLevel:
    """The number is one of the other record's numbers (its second number, or its mobile
    written in the phone column)."""
    return cll.CustomLevel(
        f"list_contains(phone_numbers_r, {column}_l) or list_contains(phone_numbers_l, {column}_r)",
        label_for_charts="one of the other record's numbers",
    )


def _fixed_level(sql: str, label: str, m: float, u: float) -> ComparisonLevelCreator:
    """A level whose m and u are set here and never estimated (training leaves them)."""
    return cll.CustomLevel(sql, label_for_charts=label).configure(
        m_probability=m, u_probability=u, fix_m_probability=True, fix_u_probability=True
    )


def _phone() -> cl.CustomComparison:
    service = "(phone_block_l like '+86400%' or phone_block_l like '+86800%')"
    shared_service_number = _fixed_level(
        "phone_block_l = phone_block_r",
        "same service number (400/800)",
        NEUTRAL_PROBABILITY,
        NEUTRAL_PROBABILITY,
    )
    return _comparison(
        "phone",
        "Landline / service number (E.164); same local number under another area code;"
        " a shared 400/800 number is the brand's and says nothing",
        [
            cll.NullLevel("phone_block"),
            cll.CustomLevel(
                f"phone_block_l = phone_block_r and not {service}", label_for_charts="same number"
            ),
            shared_service_number,
            _exact("phone_tail", "same local number, other area code"),
            _among_numbers("phone_block"),
            cll.ElseLevel(),
        ],
    )


def _address(t: ComparisonThresholds, street_number: bool = False) -> cl.CustomComparison:
    """The address comparison; with ``street_number``, a level for the same street and
    number where one side names no building or room (a person's home typed with and
    without its flat: '中山路311号' / '中山路311号翠苑小区30栋1820室')."""
    street = (
        "(address_detail_l = address_detail_r"
        f" or {_grams_at_least('address_grams', t.address_grams)})"
    )
    # a part missing on one side (an export without district, a city the parser could
    # not read) is no disagreement: the street address then decides
    city_fits = "(city_key_l = city_key_r or city_key_l is null or city_key_r is null)"
    district_fits = (
        "(district_key_l = district_key_r or district_key_l is null or district_key_r is null)"
    )
    return _comparison(
        "address",
        "Address: district (term-frequency adjusted) and street address similarity",
        [
            cll.CustomLevel(
                "(city_key_l is null or city_key_r is null)"
                " and (address_detail_l is null or address_detail_r is null)",
                label_for_charts="nothing to compare",
            ).configure(is_null_level=True),
            cll.CustomLevel(
                f"district_key_l = district_key_r and {street}",
                label_for_charts="same district, same street address",
            ),
            cll.CustomLevel(
                f"{city_fits} and {district_fits} and {street}",
                label_for_charts="same street address, district or city unknown on one side",
            ),
            *([_same_street_and_number(city_fits, district_fits)] if street_number else []),
            _exact("district_key", "same district", tf=True),
            _exact("city_key", "same city"),
            cll.CustomLevel(
                "city_key_l is null or city_key_r is null",
                label_for_charts="other street address, city unknown on one side",
            ),
            cll.ElseLevel(),
        ],
    )


def _same_street_and_number(city_fits: str, district_fits: str) -> cll.CustomLevel:
    """Same street and number, the building and room typed on one side only."""
    one_side_bare = "(address_detail_l = address_street_l or address_detail_r = address_street_r)"
    return cll.CustomLevel(
        f"{city_fits} and {district_fits} and address_street_l = address_street_r"
        f" and {one_side_bare}",
        label_for_charts="same street and number, building and room on one side only",
    )


def _legal_form() -> cl.CustomComparison:
    branch_mismatch = _fixed_level(
        "branch_l <> branch_r",
        "one is a branch, the other is not",
        BRANCH_MISMATCH_M,
        BRANCH_MISMATCH_U,
    )
    return _comparison(
        "legal_form",
        "Legal form (a group's 股份有限公司 is not its 有限公司 branch); a branch is never"
        " its head office",
        [
            branch_mismatch,
            cll.NullLevel("legal_form"),
            _exact("legal_form", "same"),
            cll.ElseLevel(),
        ],
    )


def _contact_comparisons(t: ComparisonThresholds) -> list[cl.CustomComparison]:
    return [
        _phone(),
        _comparison(
            "mobile",
            "Mobile number (E.164), also among the other record's numbers; a keying error is"
            " two digits swapped or one mistyped",
            [
                cll.NullLevel("mobile_block"),
                _exact("mobile_block", "same"),
                _among_numbers("mobile_block"),
                _keying_error("mobile_block", t),
                cll.ElseLevel(),
            ],
        ),
        _exact_or_not("email", "email_block", "E-mail address"),
    ]


def _company_comparisons(t: ComparisonThresholds) -> list[cl.CustomComparison]:
    return [
        _company_name(t),
        _exact_or_not("name_region", "name_region", "Place named in the company name (branch)"),
        _legal_form(),
        _identifier("uscc", "uscc_block", "Unified social credit code", t),
        *_contact_comparisons(t),
        _address(t),
    ]


def _postcode(t: ComparisonThresholds) -> cl.CustomComparison:
    return _comparison(
        "postcode",
        "Postcode (term-frequency adjusted); a keying error is two digits swapped or one mistyped",
        [
            cll.NullLevel("postcode"),
            _exact("postcode", "same", tf=True),
            _keying_error("postcode", t),
            cll.ElseLevel(),
        ],
    )


def _person_comparisons(t: ComparisonThresholds) -> list[cl.CustomComparison]:
    return [
        _person_name(t),
        _identifier("id_number", "id_number_block", "Personal ID number", t),
        _identifier("birth_date", "birth_date", "Date of birth (yyyy-mm-dd)", t),
        _exact_or_not("gender", "gender", "Gender"),
        *_contact_comparisons(t),
        _address(t, street_number=True),
        _postcode(t),
    ]

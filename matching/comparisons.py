"""What the model compares for each entity type, level by level.

Each comparison sorts a pair of records into levels from "disagree" to "the same", and
training learns how much each level says. What the levels encode about this data:

- a company is named by its *core* ('快心电脑'), which survives region and legal-form
  changes between exports; homophone characters (快心/快芯) agree in pinyin;
- Chinese text is compared by overlap of character bigrams, not by DuckDB's
  Jaro-Winkler/Levenshtein, which work on UTF-8 bytes and make any two Chinese strings
  look alike (洪来文印店 / 洪来建材店 score 0.86 on bytes, 0.79 on characters);
  Jaro-Winkler runs on pinyin, which is ASCII;
- a region in the company name that differs ('厦门' vs '福州') marks another branch;
- a landline stored with another area code still ends in the same digits;
- a USCC, personal ID or birth date one keystroke off is most likely the same value;
- a shared district is common in a big district and telling in a small one (term
  frequencies), and a common person name (张伟) says less than a rare one.

Every level reads the prepared columns of ``matching.prepare``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl


@dataclass(frozen=True)
class ComparisonThresholds:
    """Similarity cut-offs of the comparison levels, and how EM iterates.

    Attributes:
        name_grams_high: share of character bigrams two company name cores must have in
            common to count as 'nearly the same name' (e.g. 洪来文印 / 洪来文印店: 0.75).
        name_grams_low: share for 'similar name' (an added or changed word).
        name_pinyin_jaro_winkler: Jaro-Winkler on pinyin that counts as 'sounds nearly
            the same' for company names.
        person_pinyin_jaro_winkler: the same for person names (short: set it higher).
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
    address_grams: float = 0.5
    identifier_max_edits: int = 1
    em_convergence: float = 1e-4
    max_iterations: int = 25


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
    """SQL: the two bigram lists share at least ``share`` of their union (Jaccard)."""
    common = f"len(list_intersect({column}_l, {column}_r))"
    union = f"len(list_distinct(list_concat({column}_l, {column}_r)))"
    return f"{common} >= {share} * {union}"


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
            cll.CustomLevel(near, label_for_charts="nearly the same name or sound"),
            cll.CustomLevel(
                _grams_at_least("name_grams", t.name_grams_low), label_for_charts="similar name"
            ),
            cll.ElseLevel(),
        ],
    )


def _person_name(t: ComparisonThresholds) -> cl.CustomComparison:
    return _comparison(
        "name",
        "Person name (term-frequency adjusted: 张伟 says less than a rare name)",
        [
            cll.NullLevel("name_key"),
            _exact("name_key", "same name", tf=True),
            _exact("name_pinyin", "same pinyin (homophone characters)"),
            cll.JaroWinklerLevel("name_pinyin", t.person_pinyin_jaro_winkler).configure(
                label_for_charts="pinyin nearly the same"
            ),
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
            cll.DamerauLevenshteinLevel(column, t.identifier_max_edits).configure(
                label_for_charts=f"keying error (<= {t.identifier_max_edits} edit)"
            ),
            cll.ElseLevel(),
        ],
    )


def _exact_or_not(name: str, column: str, description: str) -> cl.CustomComparison:
    return _comparison(
        name, description, [cll.NullLevel(column), _exact(column, "same"), cll.ElseLevel()]
    )


def _phone() -> cl.CustomComparison:
    return _comparison(
        "phone",
        "Landline / service number (E.164); same local number under another area code",
        [
            cll.NullLevel("phone_block"),
            _exact("phone_block", "same number"),
            _exact("phone_tail", "same local number, other area code"),
            cll.ElseLevel(),
        ],
    )


def _address(t: ComparisonThresholds) -> cl.CustomComparison:
    same_street = (
        "district_key_l = district_key_r and (address_detail_l = address_detail_r"
        f" or {_grams_at_least('address_grams', t.address_grams)})"
    )
    return _comparison(
        "address",
        "Address: district (term-frequency adjusted) and street address similarity",
        [
            cll.NullLevel("city_key"),
            cll.CustomLevel(same_street, label_for_charts="same district, same street address"),
            _exact("district_key", "same district", tf=True),
            _exact("city_key", "same city"),
            cll.ElseLevel(),
        ],
    )


def _contact_comparisons() -> list[cl.CustomComparison]:
    return [
        _phone(),
        _exact_or_not("mobile", "mobile_block", "Mobile number (E.164)"),
        _exact_or_not("email", "email_block", "E-mail address"),
    ]


def _company_comparisons(t: ComparisonThresholds) -> list[cl.CustomComparison]:
    return [
        _company_name(t),
        _exact_or_not("name_region", "name_region", "Place named in the company name (branch)"),
        _identifier("uscc", "uscc_block", "Unified social credit code", t),
        *_contact_comparisons(),
        _address(t),
    ]


def _person_comparisons(t: ComparisonThresholds) -> list[cl.CustomComparison]:
    return [
        _person_name(t),
        _identifier("id_number", "id_number_block", "Personal ID number", t),
        _identifier("birth_date", "birth_date", "Date of birth (yyyy-mm-dd)", t),
        _exact_or_not("gender", "gender", "Gender"),
        *_contact_comparisons(),
        _address(t),
    ]

"""Blocking: which pairs of records the model looks at, per entity type.

Companies and persons get separate models (a company never merges with a person). The
comparisons are in ``matching.linkage.comparisons``, the settings that put both together
in ``matching.linkage.model_settings``.

Blocking rules are equalities on prepared keys whose junk and oversized values were
nulled (``matching.linkage.junk``), so each rule generates at most ``max_block_size²/2`` pairs
per key value and no hotline or placeholder ever creates a block. Every rule is pinned
to its entity type, so even a mixed input cannot produce a company–person pair, and the
saved model says which entity type it is for (``model_entity_type``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sources.schema import ENTITY_TYPES

__all__ = [
    "deterministic_rules",
    "model_entity_type",
    "prediction_blocking_rules",
    "training_blocking_rules",
]

#: Blocking keys that generate prediction candidates, per entity type.
PREDICTION_BLOCKING_KEYS: dict[str, tuple[tuple[str, ...], ...]] = {
    "company": (
        ("uscc_block",),
        ("phone_block",),
        ("mobile_block",),
        ("email_block",),
        ("name_block",),
        ("name_city_block",),
        ("pinyin_city_block",),
        ("name_street_block",),
    ),
    "person": (
        ("id_number_block",),
        ("mobile_block",),
        ("phone_block",),
        ("email_block",),
        ("name_birth_block",),
        ("pinyin_birth_block",),
        # a name and an ID that both carry a typo: same birth date, or same name
        ("birth_block",),
        ("name_block",),
        ("name_city_block",),
        ("pinyin_city_block",),
        ("name_street_block",),
        # the postcode with the Latin name in any order, or with one word of it
        ("latin_postcode_block",),
        ("first_word_postcode_block",),
        ("last_word_postcode_block",),
    ),
}

#: Blocking keys for EM training sessions: each leaves the other comparisons free to learn.
#: A capped blocking-only key (name_block) is paired with the compared columns it is made
#: of (name_key): Splink skips estimating the comparisons whose columns a training rule
#: names, and would otherwise "learn" that duplicates always agree on the name.
TRAINING_BLOCKING_KEYS: dict[str, tuple[tuple[str, ...], ...]] = {
    "company": (("name_block", "name_key"), ("phone_block",), ("mobile_block",)),
    "person": (
        ("name_birth_block", "name_key", "birth_date"),
        ("mobile_block",),
        ("id_number_block",),
    ),
}

#: Near-certain rules for estimating how often two random records are the same customer.
DETERMINISTIC_KEYS: dict[str, tuple[tuple[str, ...], ...]] = {
    "company": (("uscc_block",), ("name_key", "phone_block"), ("name_key", "mobile_block")),
    "person": (("id_number_block",), ("name_key", "mobile_block"), ("name_key", "email_block")),
}

_PIN = re.compile(r"l\.entity_type = '(\w+)' and r\.entity_type = '\1'", re.IGNORECASE)


def prediction_blocking_rules(entity_type: str) -> list[str]:
    """SQL blocking rules that generate the candidate pairs scored at prediction."""
    return [
        _rule(entity_type, keys)
        for keys in PREDICTION_BLOCKING_KEYS[check_entity_type(entity_type)]
    ]


def training_blocking_rules(entity_type: str) -> list[str]:
    """SQL blocking rules of the EM training sessions, one session per rule."""
    return [
        _rule(entity_type, keys) for keys in TRAINING_BLOCKING_KEYS[check_entity_type(entity_type)]
    ]


def deterministic_rules(entity_type: str) -> list[str]:
    """Rules that (almost) only pair true duplicates, for the match prior."""
    return [_rule(entity_type, keys) for keys in DETERMINISTIC_KEYS[check_entity_type(entity_type)]]


def model_entity_type(model: Mapping[str, Any]) -> str:
    """The entity type a trained model (settings JSON) deduplicates, read from its pinned rules.

    Raises:
        ValueError: the model's blocking rules are not pinned to exactly one entity type.
    """
    found: set[str] = set()
    for rule in model.get("blocking_rules_to_generate_predictions", []):
        text = rule["blocking_rule"] if isinstance(rule, Mapping) else str(rule)
        found.update(m.group(1) for m in _PIN.finditer(text))
    if len(found) != 1 or not found <= set(ENTITY_TYPES):
        raise ValueError(
            "cannot tell the model's entity type from its blocking rules "
            f"(found {sorted(found) or 'none'}); pass entity_type explicitly"
        )
    return found.pop()


def check_entity_type(entity_type: str) -> str:
    """``entity_type`` if it is one the models know; ValueError otherwise."""
    if entity_type not in ENTITY_TYPES:
        raise ValueError(f"entity_type must be one of {ENTITY_TYPES}, got {entity_type!r}")
    return entity_type


def _rule(entity_type: str, keys: tuple[str, ...]) -> str:
    equalities = " and ".join(f"l.{k} = r.{k}" for k in keys)
    return f"l.entity_type = '{entity_type}' and r.entity_type = '{entity_type}' and {equalities}"

"""What every section of the config shares: strict models and the error users see.

Every model forbids unknown keys and is frozen, so a typo (``encodnig``) is an error that
names the key, and nothing downstream can change a setting during a run.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

ColumnRef = Annotated[
    str | list[str], Field(description="a source column, or columns joined with a space")
]


class ConfigError(ValueError):
    """The configuration file is not usable; the message names file and key."""


class Strict(BaseModel):
    """Base of every config section: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def check_keys_and_values(
    mapping: Mapping[str, Collection],
    known: Collection[str],
    *,
    prefix: str,
    noun: str,
    empty: str,
    empty_noun: str | None = None,
) -> None:
    """Refuse a mapping with keys outside ``known`` or with an empty value: the message
    names the unknown keys (and the known ones), or the keys that hold nothing."""
    unknown = sorted(set(mapping) - set(known))
    if unknown:
        raise ValueError(
            f"{prefix}unknown {noun}(s) {', '.join(unknown)}; known: {', '.join(known)}"
        )
    hollow = sorted(key for key, values in mapping.items() if not values)
    if hollow:
        raise ValueError(f"{prefix}{empty_noun or noun}(s) {', '.join(hollow)} {empty}")

"""What every section of the config shares: strict models and the error users see.

Every model forbids unknown keys and is frozen, so a typo (``encodnig``) is an error that
names the key, and nothing downstream can change a setting during a run.
"""

from __future__ import annotations

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

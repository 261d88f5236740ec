"""The ``access:`` section: which department (role) may see which customers, and how.

```yaml
access:
  tokens_file: access_tokens.yaml     # relative to the config; token id → role, SHA-256 of the token
  roles:
    - name: fujian_office
      rows: {province: [福建省]}       # golden column of master.customers → allowed values
      pii: masked                     # full | masked
    - name: key_accounts
      rows: {source: [key_accounts]}  # customers with at least one record from these sources
      pii: full
    - name: analysts                  # no rows: every customer
      pii: masked
```

A customer is in a role's scope when, for every key of ``rows``, its golden record or one
of its current source records holds one of the listed values (``source``: one of its
records comes from a listed source). Keys are ANDed, values ORed. The rules themselves
live in ``warehouse.access``; this module only checks that the section can be applied.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from sources.config.base import Strict, check_keys_and_values
from sources.schema import GOLDEN_ATTRIBUTE_GROUPS

#: Keys a role's ``rows`` may use: every golden column that a staged record also has
#: (so "its golden record or one of its records matches" means the same thing for both),
#: plus ``source``. Dates and amounts are left out: a list of allowed values of a credit
#: limit or a birth date is not a department.
SCOPE_COLUMNS: tuple[str, ...] = (
    "entity_type",
    *(
        column
        for columns in GOLDEN_ATTRIBUTE_GROUPS.values()
        for column in columns
        if column not in ("credit_limit", "birth_date")
    ),
    "source",
)

_ROLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class RoleConfig(Strict):
    """One department: the customers it sees and whether personal data is shown in clear."""

    name: str = Field(
        description="role name; also the folder of its exports (exports/roles/<name>/)"
    )
    rows: dict[str, list[str]] | None = Field(
        default=None,
        description="golden column (or source) → allowed values; absent: every customer",
    )
    pii: Literal["full", "masked"] = Field(
        default="masked",
        description="full: personal data in clear; masked: 138****5678, 3502**********1234, "
        "z***@qq.com, birth year, address down to the district",
    )

    @field_validator("name")
    @classmethod
    def _folder_name(cls, name: str) -> str:
        if not _ROLE_NAME.match(name):
            raise ValueError(
                f"role name {name!r}: lower-case letters, digits and _, starting with a letter"
            )
        return name

    @field_validator("rows")
    @classmethod
    def _known_columns(cls, rows: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        if rows is None:
            return None
        if not rows:
            raise ValueError("rows: give at least one column, or leave rows out for every customer")
        check_keys_and_values(
            rows, SCOPE_COLUMNS, prefix="rows: ", noun="column", empty="allow no value"
        )
        return {column: [str(v) for v in values] for column, values in rows.items()}


class AccessConfig(Strict):
    """Roles, the file of their tokens, and the service's audit log."""

    tokens_file: str = Field(
        description="file of token id → role and the token's SHA-256, relative to the config; "
        "`custmaster token issue` writes it"
    )
    roles: list[RoleConfig] = Field(min_length=1)
    audit_dir: str = Field(
        default="audit",
        description="folder of the service's audit log (access.log, one file per UTC day), "
        "relative to output_dir",
    )

    @model_validator(mode="after")
    def _unique_names(self) -> AccessConfig:
        names = [role.name for role in self.roles]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"role names must be unique; repeated: {', '.join(repeated)}")
        return self

    def role(self, name: str) -> RoleConfig | None:
        return next((role for role in self.roles if role.name == name), None)

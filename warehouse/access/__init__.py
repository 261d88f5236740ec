"""Who may see which customer: the domain rules behind ``access:`` (no Dagster, no web).

- ``scope``: which customers a role sees, and how any table is cut down to them;
- ``masking``: personal data masked for ``pii: masked`` (one function per kind of value,
  run in DuckDB for the exports and in Python by the service);
- ``role_exports``: each role's Parquet set, manifest and read-only DuckDB file;
- ``tokens``: the tokens file (token id → role and the token's SHA-256), read with errors
  naming the line, written by ``custmaster token issue``;
- ``audit``: the service's append-only, daily-rotated audit log.
"""

from warehouse.access.audit import AuditLog, read_audit
from warehouse.access.masking import mask_row, mask_value
from warehouse.access.role_exports import ROLE_SCOPE_TABLES, publish_role_sets
from warehouse.access.scope import role_query, scope_query
from warehouse.access.tokens import (
    TokenEntry,
    TokenFileError,
    hash_token,
    issue_token,
    read_tokens,
    revoke_token,
)

__all__ = [
    "AuditLog",
    "TokenEntry",
    "TokenFileError",
    "hash_token",
    "issue_token",
    "mask_row",
    "mask_value",
    "ROLE_SCOPE_TABLES",
    "publish_role_sets",
    "read_audit",
    "read_tokens",
    "revoke_token",
    "role_query",
    "scope_query",
]

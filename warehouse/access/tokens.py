"""The access tokens file: which token stands for which role, with only the token's hash kept.

```yaml
# written by `custmaster token issue`; one entry per token id
fujian-crm:
  role: fujian_office
  sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
  issued_at: '2026-12-02T05:10:00+00:00'
```

A token is 32 random bytes (``secrets.token_urlsafe``, 256 bits) shown once, when it is
issued; the file keeps its SHA-256 only, so whoever reads the file (a backup, a colleague)
cannot call the service with it. A plain SHA-256 is enough for a secret of 256 random
bits: a slow password hash (bcrypt, scrypt) protects guessable passwords, and nothing
about a random token can be guessed. The token id is what the audit log records.

A file with a bad entry is refused whole, naming the line: an unknown role, a hash that
is not 64 hex digits, a missing or unknown key, an id given twice, the same hash twice.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from warehouse.files import write_atomically

TOKEN_PREFIX = "cm_"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_HEX = re.compile(r"^[0-9a-f]{64}$")
_KEYS = {"role", "sha256", "issued_at", "note"}
HEADER = (
    "# Customer Master access tokens: token id -> role and the SHA-256 of the token.\n"
    "# Written by `custmaster token issue`; the tokens themselves are kept nowhere.\n"
)


class TokenFileError(ValueError):
    """The tokens file cannot be used; the message names the file and the line."""


@dataclass(frozen=True)
class TokenEntry:
    """One issued token: its id (for the audit log), its role and its hash."""

    token_id: str
    role: str
    sha256: str
    line: int


def hash_token(token: str) -> str:
    """The SHA-256 of a token, as the file keeps it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def read_tokens(path: Path, roles: set[str]) -> dict[str, TokenEntry]:
    """The tokens of ``path`` by their hash; a missing file holds none.

    Raises:
        TokenFileError: naming the file and line of the first bad entry.
    """
    if not path.exists():
        return {}
    text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        raise TokenFileError(f"{path}{line}: not valid YAML: {exc}") from None
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        raise TokenFileError(
            f"{path}, line {root.start_mark.line + 1}: expected token id → {{role, sha256}}"
        )
    by_hash: dict[str, TokenEntry] = {}
    seen: dict[str, int] = {}
    for key_node, value_node in root.value:
        line = key_node.start_mark.line + 1
        where = f"{path}, line {line}"
        token_id = str(key_node.value)
        if not isinstance(key_node, yaml.ScalarNode) or not _ID.match(token_id):
            raise TokenFileError(
                f"{where}: token id {token_id!r}: letters, digits and _ . @ -, at most 64"
            )
        if token_id in seen:
            raise TokenFileError(
                f"{where}: token id {token_id} already given on line {seen[token_id]}"
            )
        seen[token_id] = line
        entry = _entry(where, token_id, value_node, roles, line)
        if entry.sha256 in by_hash:
            first = by_hash[entry.sha256]
            raise TokenFileError(
                f"{where}: token {token_id} has the hash of {first.token_id} (line {first.line})"
            )
        by_hash[entry.sha256] = entry
    return by_hash


def _entry(where: str, token_id: str, node: yaml.Node, roles: set[str], line: int) -> TokenEntry:
    if not isinstance(node, yaml.MappingNode):
        raise TokenFileError(f"{where}: token {token_id}: expected role and sha256 under it")
    fields: dict[str, str] = {}
    for key, value in node.value:
        if not isinstance(value, yaml.ScalarNode):
            raise TokenFileError(f"{where}: token {token_id}: {key.value} must be one value")
        fields[str(key.value)] = str(value.value)
    unknown = sorted(set(fields) - _KEYS)
    if unknown:
        raise TokenFileError(f"{where}: token {token_id}: unknown key(s) {', '.join(unknown)}")
    for needed in ("role", "sha256"):
        if not fields.get(needed):
            raise TokenFileError(f"{where}: token {token_id}: {needed} is missing")
    if fields["role"] not in roles:
        raise TokenFileError(
            f"{where}: token {token_id}: role {fields['role']!r} is not a role of the config "
            f"({', '.join(sorted(roles))})"
        )
    digest = fields["sha256"].lower()
    if not _HEX.match(digest):
        raise TokenFileError(
            f"{where}: token {token_id}: sha256 must be 64 hex digits (the hash, never the token)"
        )
    return TokenEntry(token_id, fields["role"], digest, line)


def issue_token(path: Path, token_id: str, role: str, roles: set[str]) -> str:
    """A new token for ``role`` under ``token_id``: its hash is added to ``path`` (created
    when missing, written whole under a temporary name), the token is returned, once.

    Raises:
        TokenFileError: the file is already broken, the id is taken, or the role unknown.
    """
    if role not in roles:
        raise TokenFileError(
            f"{path}: role {role!r} is not a role of the config ({', '.join(sorted(roles))})"
        )
    if not _ID.match(token_id):
        raise TokenFileError(
            f"{path}: token id {token_id!r}: letters, digits and _ . @ -, at most 64"
        )
    existing = read_tokens(path, roles)
    if any(entry.token_id == token_id for entry in existing.values()):
        raise TokenFileError(f"{path}: token id {token_id} is already issued; revoke it first")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    issued_at = datetime.now(UTC).isoformat(timespec="seconds")
    entry = yaml.safe_dump(
        {token_id: {"role": role, "sha256": hash_token(token), "issued_at": issued_at}},
        allow_unicode=True,
        sort_keys=False,
    )
    before = path.read_text(encoding="utf-8") if path.exists() else HEADER
    if before and not before.endswith("\n"):
        before += "\n"
    text = before + entry
    write_atomically(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))
    path.chmod(0o600)
    return token


def revoke_token(path: Path, token_id: str, roles: set[str]) -> None:
    """Remove ``token_id``'s entry (its lines) from ``path``; the service refuses the token
    from its next request on.

    Raises:
        TokenFileError: the file is broken, or no token has that id.
    """
    entries = sorted(read_tokens(path, roles).values(), key=lambda e: e.line)
    found = next((e for e in entries if e.token_id == token_id), None)
    if found is None:
        raise TokenFileError(f"{path}: no token has the id {token_id}")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    after = next((e.line for e in entries if e.line > found.line), None)
    end = after - 1 if after else len(lines)
    kept = lines[: found.line - 1] + lines[end:]
    text = "".join(kept)
    write_atomically(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))
    path.chmod(0o600)

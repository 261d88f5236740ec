"""Who is asking: bearer tokens, their role, and the audit line of every request.

With ``access:`` in the config every request (API, pages, review, docs, health) needs
``Authorization: Bearer <token>``. The token's SHA-256 is looked up in the tokens file
(``warehouse.access.tokens``); no header, another scheme or an unknown token is a 401
with ``WWW-Authenticate: Bearer``, and nothing else is said. The file is read at start
(a bad entry stops the start, naming the line) and again whenever it changes, so a token
issued or revoked counts from the next request; a file broken while the service runs
lets no token in until it is mended (fail closed), and the log says which line.

The request's principal (token id, role, what it was given) rides on
``request.state.principal`` for the scoped views (``service.scoped``); when the answer is
sent, one audit line records role, token id, route, status and the customer IDs returned
(``warehouse.access.audit``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from sources.config import AccessConfig, RoleConfig
from warehouse.access import AuditLog, TokenEntry, TokenFileError, hash_token, read_tokens

log = logging.getLogger(__name__)


@dataclass
class Principal:
    """The caller of one request: its token id and role, and what the answer gave it."""

    token_id: str
    role: RoleConfig
    customer_ids: list[str] = field(default_factory=list)
    decisions: list[dict[str, str]] = field(default_factory=list)

    @property
    def masked(self) -> bool:
        return self.role.pii == "masked"


class AccessControl:
    """The roles, the tokens file (re-read when it changes) and the audit log."""

    def __init__(self, access: AccessConfig, tokens_path: Path, audit_dir: Path) -> None:
        self.roles = {role.name: role for role in access.roles}
        self.tokens_path = tokens_path
        self.audit = AuditLog(audit_dir)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._tokens: dict[str, TokenEntry] = read_tokens(tokens_path, set(self.roles))
        self._stamp = self._file_stamp()
        log.info(
            "access: %d role(s), %d token(s) from %s; audit log in %s",
            len(self.roles),
            len(self._tokens),
            tokens_path,
            audit_dir,
        )

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.tokens_path.stat()
        except FileNotFoundError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def _current(self) -> dict[str, TokenEntry]:
        """The tokens, read again when the file changed since last read."""
        stamp = self._file_stamp()
        with self._lock:
            if stamp != self._stamp:
                self._stamp = stamp
                try:
                    self._tokens = read_tokens(self.tokens_path, set(self.roles))
                    log.info("access tokens re-read: %d token(s)", len(self._tokens))
                except TokenFileError as exc:
                    self._tokens = {}
                    log.error("access tokens refused, no token is accepted until fixed: %s", exc)
            return self._tokens

    def authenticate(self, header: str | None) -> Principal | None:
        """The principal of an ``Authorization`` header; None when it names no valid token."""
        scheme, _, token = (header or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        entry = self._current().get(hash_token(token))
        if entry is None:
            return None
        return Principal(entry.token_id, self.roles[entry.role])


def require_tokens(app: FastAPI, access: AccessControl) -> None:
    """Every request to ``app`` needs a valid bearer token; every answer is audited."""

    @app.middleware("http")
    async def guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        principal = access.authenticate(request.headers.get("authorization"))
        if principal is None:
            access.audit.write(
                role=None,
                token_id=None,
                method=request.method,
                endpoint=request.url.path,
                status=401,
                customer_ids=[],
            )
            return JSONResponse(
                {"detail": "a valid bearer token is required (Authorization: Bearer <token>)"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        request.state.principal = principal
        response = await call_next(request)
        route = request.scope.get("route")
        access.audit.write(
            role=principal.role.name,
            token_id=principal.token_id,
            method=request.method,
            endpoint=getattr(route, "path", request.url.path),
            status=response.status_code,
            customer_ids=principal.customer_ids,
            decisions=principal.decisions,
        )
        return response


def principal_of(request: Request) -> Principal | None:
    """The caller of ``request``; None when the service runs without ``access:``."""
    return getattr(request.state, "principal", None)

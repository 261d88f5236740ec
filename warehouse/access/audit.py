"""The audit trail: who looked up or decided what, as one JSON line per request.

``<output_dir>/audit/access.log`` (config ``access.audit_dir``) gets a line for every
request the service answers with ``access:`` configured::

    {"at": "2026-12-02T05:31:07.114+00:00", "role": "fujian_office", "token_id": "fujian-crm",
     "method": "GET", "endpoint": "/v1/customers/{customer_id}", "status": 200,
     "customer_ids": ["CM00000236"]}

A decision on the review page adds ``"decisions": [{"record_key_l", "record_key_r",
"decision"}]``; a refused request (no or unknown token) has ``role`` and ``token_id``
null. The line never holds personal data in clear: not the search text (it may be a
phone number), not the fields of a duplicate check, not the request's path (it may carry
the search); only the route, the IDs returned and the decisions.

Append-only and rotated: the file is opened for appending only, and at the first line of
a new UTC day it is renamed ``access.log.YYYY-MM-DD`` (the day it holds) and a new one
begun. Rotated files are never deleted or rewritten by the service; archiving them is the
administrators' job.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

AUDIT_FILE = "access.log"


class AuditLog:
    """Appends audit lines to ``folder/access.log``, one file per UTC day."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / AUDIT_FILE
        folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._day: str | None = None  # UTC day of the current file's lines

    def write(
        self,
        *,
        role: str | None,
        token_id: str | None,
        method: str,
        endpoint: str,
        status: int,
        customer_ids: list[str],
        decisions: list[dict[str, str]] | None = None,
        at: datetime | None = None,
    ) -> None:
        """Append one line (``at``: now, UTC)."""
        at = at or datetime.now(UTC)
        line: dict[str, Any] = {
            "at": at.isoformat(timespec="milliseconds"),
            "role": role,
            "token_id": token_id,
            "method": method,
            "endpoint": endpoint,
            "status": status,
            "customer_ids": list(dict.fromkeys(customer_ids)),
        }
        if decisions:
            line["decisions"] = decisions
        text = json.dumps(line, ensure_ascii=False) + "\n"
        with self._lock:
            self._rotate(at)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(text)

    def _rotate(self, at: datetime) -> None:
        """Rename the current file to its day when ``at`` is on a later UTC day."""
        today = at.astimezone(UTC).date().isoformat()
        if self._day is None:
            self._day = self._first_day() or today
        if self._day >= today:
            return
        if self.path.exists():
            target = self.folder / f"{AUDIT_FILE}.{self._day}"
            suffix = 1
            while target.exists():  # a second file for the same day: never overwrite one
                target = self.folder / f"{AUDIT_FILE}.{self._day}.{suffix}"
                suffix += 1
            self.path.rename(target)
            log.info("audit log of %s rotated to %s", self._day, target.name)
        self._day = today

    def _first_day(self) -> str | None:
        """The UTC day of the current file's first line; None when it has none."""
        try:
            with self.path.open(encoding="utf-8") as handle:
                first = handle.readline()
        except FileNotFoundError:
            return None
        return str(json.loads(first)["at"])[:10] if first.strip() else None


def read_audit(folder: Path) -> list[dict[str, Any]]:
    """Every audit line under ``folder``, rotated files first (oldest day first)."""
    files = sorted(folder.glob(f"{AUDIT_FILE}.*")) + [folder / AUDIT_FILE]
    return [
        json.loads(line)
        for path in files
        if path.exists()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]

"""One published serving index, loaded: the duplicate checker and the customer tables.

A request takes the snapshot current when it starts and answers from it alone
(``SnapshotHolder.use``),
so an answer never mixes two syncs. A snapshot replaced by a newer one is closed when its
last request is done (``retire``), never under a request.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from matching.check_store import load_check_files
from matching.duplicate_check import Candidate, DuplicateChecker
from service.customers import CustomerStore
from warehouse.serving import ServingPointer

log = logging.getLogger(__name__)


@dataclass
class Snapshot:
    """The answers of one sync."""

    run_id: str
    published_at: str
    folder: str
    checker: DuplicateChecker
    customers: CustomerStore
    load_seconds: float
    _check_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _users: int = 0
    _retired: bool = False
    _state: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def check(
        self,
        entity_type: str | None,
        limit: int,
        fields: dict[str, Any],
        within: frozenset[str] | None = None,
    ) -> list[Candidate]:
        """The duplicate check (among the records ``within``, when given); one at a time
        (the checker's DuckDB statement is shared)."""
        with self._check_lock:
            return self.checker.check(entity_type=entity_type, limit=limit, within=within, **fields)

    def enter(self) -> None:
        """A request starts on this snapshot (``SnapshotHolder.use`` calls it)."""
        with self._state:
            self._users += 1

    def leave(self) -> None:
        """A request is done; the last one out of a retired snapshot closes it."""
        with self._state:
            self._users -= 1
            close = self._retired and self._users == 0
        if close:
            self._close()

    def retire(self) -> None:
        """No new request will take this snapshot: close it once the last one is done."""
        with self._state:
            self._retired = True
            close = self._users == 0
        if close:
            self._close()

    def _close(self) -> None:
        self.checker.close()
        self.customers.close()
        log.info("closed the index of run %s", self.run_id)

    def describe(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "published_at": self.published_at,
            "folder": self.folder,
            "load_seconds": round(self.load_seconds, 2),
            "rows": self.customers.rows,
        }


def load_snapshot(pointer: ServingPointer) -> Snapshot:
    """Load the serving index ``pointer`` names (seconds; nothing is prepared again)."""
    started = time.perf_counter()
    checker = load_check_files(pointer.folder)
    try:
        customers = CustomerStore(pointer.folder)
    except BaseException:
        checker.close()
        raise
    snapshot = Snapshot(
        run_id=pointer.run_id,
        published_at=pointer.published_at,
        folder=pointer.folder.name,
        checker=checker,
        customers=customers,
        load_seconds=time.perf_counter() - started,
    )
    log.info("loaded the index of run %s in %.1f s", pointer.run_id, snapshot.load_seconds)
    return snapshot

"""Live reload: the service follows ``CURRENT.json`` and swaps to each new sync whole.

A watcher thread reads the pointer every ``serve.reload_seconds``. When it names another
index, the new snapshot is loaded beside the one serving (requests go on meanwhile), then
one assignment makes it current: a request started before answers from the old snapshot,
one started after from the new, none from both. The old snapshot is closed when its last
request is done. A new index that fails to load is logged and the current one stays.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from service.snapshot import Snapshot, load_snapshot
from warehouse.serving import read_pointer

log = logging.getLogger(__name__)


class NoServingIndex(RuntimeError):
    """Nothing published yet: the pipeline has not run to the end on this deployment."""


class SnapshotHolder:
    """The snapshot requests are answered from, and the thread that keeps it current."""

    def __init__(self, serving_dir: Path, reload_seconds: float = 5.0) -> None:
        self.serving_dir = serving_dir
        self.reload_seconds = reload_seconds
        pointer = read_pointer(serving_dir)
        if pointer is None:
            raise NoServingIndex(
                f"{serving_dir}: no serving index published yet; run `custmaster run` first"
            )
        self._current: Snapshot = load_snapshot(pointer)
        self._swap = threading.Lock()  # one reload at a time
        self._pick = threading.Lock()  # a request takes the current snapshot, or a swap happens
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def current(self) -> Snapshot:
        """The snapshot serving now (for reading what it is; requests go through ``use``)."""
        return self._current

    @contextmanager
    def use(self) -> Iterator[Snapshot]:
        """``with holder.use() as snapshot:`` the snapshot current when the request started,
        kept open until the request is done, whatever swaps meanwhile."""
        with self._pick:
            snapshot = self._current
            snapshot.enter()
        try:
            yield snapshot
        finally:
            snapshot.leave()

    def refresh(self) -> bool:
        """Swap to the index ``CURRENT.json`` names when it is another one; True if swapped."""
        with self._swap:
            pointer = read_pointer(self.serving_dir)
            if pointer is None or pointer.folder.name == self._current.folder:
                return False
            try:
                fresh = load_snapshot(pointer)
            except Exception:
                log.exception("could not load the serving index of run %s", pointer.run_id)
                return False
            with self._pick:
                old, self._current = self._current, fresh
            log.info("now serving run %s (was %s)", fresh.run_id, old.run_id)
            old.retire()
            return True

    def start(self) -> None:
        """Watch for new syncs in a background thread."""
        self._thread = threading.Thread(target=self._watch, name="serving-reload", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(self.reload_seconds):
            try:
                self.refresh()
            except Exception:  # a pointer being rewritten, a folder being pruned: next turn
                log.exception("reload check failed")

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._swap:
            self._current.retire()

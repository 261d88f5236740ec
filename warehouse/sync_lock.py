"""One sync per warehouse: the sync lock, ``<warehouse>.sync.lock``, held from a sync's first
step to its publish.

Why an OS lock (``fcntl.flock``) and not a marker file: the kernel drops a flock when the
process that holds it ends, however it ends (SIGKILL, the OOM killer, a closed terminal), so
a lock left by a killed sync never blocks the next one; a marker file would outlive its
process and someone would have to decide that it is stale. The holder writes who it is (run
id, pid, host, since when) into the file after taking the lock, so a second sync can name
it; that text is only a label, the flock is the lock. The file is never deleted: a sync
that deleted it on the way out could let a third one lock a new file of the same name while
a second still waits on the old one.

- The lock is per open file, so two syncs in one process exclude each other as two processes
  do; only a nested hold in the same thread (``custmaster run`` holds it around its job, the
  job's warehouse resource asks again) passes through, as with a re-entrant lock.
- Readers (``custmaster check``, ``custmaster evaluate``, analysts, the exports) never take
  it: DuckDB's own file lock already keeps them from a writer's half-open file, and the
  exports are replaced whole.
- Waiting polls every half second rather than blocking in ``flock``: a blocking call cannot
  time out without signals, which only the main thread may use, and half a second is
  nothing beside a sync that takes minutes.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5


@dataclass(frozen=True)
class SyncHolder:
    """Who holds a warehouse: the Dagster run, its process and machine, and since when."""

    run_id: str
    pid: int
    host: str
    since: str  # ISO 8601, UTC

    def describe(self) -> str:
        return f"run {self.run_id} (pid {self.pid} on {self.host}, holding it since {self.since})"


class SyncInProgress(RuntimeError):
    """Another sync holds the warehouse; the message names it and how long this one waited."""

    def __init__(self, warehouse: Path, holder: SyncHolder | None, waited: float) -> None:
        self.warehouse = warehouse
        self.holder = holder
        who = holder.describe() if holder else "another sync (it has not written its name yet)"
        waited_text = (
            "not waiting (sync.wait_seconds is 0)"
            if waited <= 0
            else f"gave up after waiting {waited:.0f} s (sync.wait_seconds)"
        )
        super().__init__(
            f"the warehouse {warehouse} is held by {who}; {waited_text}. "
            "Run again when that sync has finished, or raise sync.wait_seconds to wait for it."
        )


#: lock file → (thread that holds it, holder), for the nested hold of the same sync
_held: dict[Path, tuple[int, SyncHolder]] = {}
_held_guard = threading.Lock()


def lock_path(warehouse: Path) -> Path:
    """The lock file beside the warehouse: ``warehouse.duckdb`` → ``warehouse.duckdb.sync.lock``."""
    return warehouse.with_name(f"{warehouse.name}.sync.lock")


def read_holder(warehouse: Path) -> SyncHolder | None:
    """The name the last holder wrote: the current one while the lock is held; ``None`` when
    the file is missing, empty or being written."""
    try:
        return SyncHolder(**json.loads(lock_path(warehouse).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


@contextmanager
def hold_warehouse(
    warehouse: Path,
    run_id: str,
    wait_seconds: float,
    say: Callable[[str], None] = log.warning,
) -> Iterator[SyncHolder]:
    """Hold ``warehouse`` for one sync until the block ends.

    Args:
        warehouse: the DuckDB file (it need not exist yet).
        run_id: the Dagster run of this sync, written into the lock file for others to see.
        wait_seconds: how long to wait for another sync to finish; 0 stops at once.
        say: where the line saying that this sync waits, and for whom, goes.

    Returns:
        This sync as the holder.

    Raises:
        SyncInProgress: another sync still holds the warehouse after ``wait_seconds``.

    Examples:
        >>> with hold_warehouse(Path("out/warehouse.duckdb"), run_id, wait_seconds=900):
        ...     run_every_step_then_publish()
    """
    path = lock_path(warehouse).resolve()
    with _held_guard:
        nested = _held.get(path)
    if nested is not None and nested[0] == threading.get_ident():
        yield nested[1]
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by child processes
    try:
        _acquire(fd, warehouse, wait_seconds, say)
        holder = SyncHolder(
            run_id=run_id,
            pid=os.getpid(),
            host=socket.gethostname(),
            since=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(asdict(holder)).encode("utf-8"), 0)
        with _held_guard:
            _held[path] = (threading.get_ident(), holder)
        try:
            yield holder
        finally:
            with _held_guard:
                del _held[path]
            os.ftruncate(fd, 0)  # an empty file: nobody holds it
    finally:
        os.close(fd)  # closing the file releases the lock


def _acquire(fd: int, warehouse: Path, wait_seconds: float, say: Callable[[str], None]) -> None:
    started = time.monotonic()
    announced: SyncHolder | None = None
    first = True
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        holder = read_holder(warehouse)
        waited = time.monotonic() - started
        if waited >= wait_seconds:
            raise SyncInProgress(warehouse, holder, wait_seconds)
        if first or (holder is not None and holder != announced):
            who = holder.describe() if holder else "another sync"
            say(f"waiting up to {wait_seconds:.0f} s for {who} to finish with {warehouse}")
            announced, first = holder, False
        time.sleep(min(POLL_SECONDS, wait_seconds - waited))

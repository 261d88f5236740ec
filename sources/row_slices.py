"""Python-bound work over a large table on every core: consecutive row slices, each in a
worker process, the answers back in slice order.

Standardising names, phones, addresses and pinyin is Python per distinct value, so one
process keeps one core busy and leaves the others idle (at 1M records the full sync's
staging ran 44.0 s wall for 47.4 s of CPU on two cores). Work that is a function of each
row alone gives the same answer on any split of the rows, so the table is cut into
consecutive slices, each slice handled in a worker, and the answers put back together in
slice order: the result is the same, byte for byte, whatever the number of workers.

``workers`` processes work at once: the asking process itself and ``workers - 1`` helpers.
The helpers are *spawned*, never forked: a forked child would inherit the DuckDB threads
and locks of the process that asks. A spawned helper starts a fresh interpreter and
imports what it runs, and the standardisers build their tables again in it: about 1.6 s
of CPU before its first useful row, measured on the staging modules. So small tables (a
day's delta, the tests) are handled in the asking process alone: helpers are used from
:data:`PARALLEL_FROM_ROWS` rows.

How many workers: ``$CUSTMASTER_WORKERS`` if set, else the config's ``sync.workers``, else
the cores this process may run on. 1 turns the helpers off.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import TypeVar

import pyarrow as pa

log = logging.getLogger(__name__)

#: Environment variable that sets the number of worker processes (over the config).
WORKERS_ENV = "CUSTMASTER_WORKERS"

#: Fewest rows worth a helper's start-up. Staging standardises about 27k source rows a
#: second per core here (3.75 s of CPU for the 100k demo's 101k rows); a spawned helper
#: takes about 1.3 s to import and warm up before its first row, so below about 35k rows
#: the asking process alone finishes first; from 50k the helper saves a second or more.
PARALLEL_FROM_ROWS = 50_000

#: Fewest slices per worker: more than one, so the process that drew cheap rows (a source
#: without addresses, say) takes another slice while the other finishes.
SLICES_PER_WORKER = 2

#: Rows of a slice (about 2 s of work) beyond the fewest slices. Each slice costs about
#: 0.15 s of CPU of its own (the staging of the 100k demo's 101k rows took 3.6 s of CPU
#: in one slice, 4.2 s in 4, 6.0 s in 16: set-up per column, values repeated across
#: slices standardised once per slice), and the processes finish within about one slice
#: of each other: a million rows go in 17 slices.
SLICE_ROWS = 60_000

R = TypeVar("R")


def worker_count(configured: int | None = None) -> int:
    """Worker processes to use: ``$CUSTMASTER_WORKERS``, else ``configured``, else the cores
    this process may run on."""
    value = os.environ.get(WORKERS_ENV, "").strip()
    if value:
        try:
            count = int(value)
        except ValueError:
            raise ValueError(f"${WORKERS_ENV} must be a whole number, not {value!r}") from None
        if count < 1:
            raise ValueError(f"${WORKERS_ENV} must be 1 or more, not {count}")
        return count
    if configured is not None:
        return configured
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def slice_bounds(rows: int, slices: int) -> list[tuple[int, int]]:
    """``slices`` consecutive (offset, length) ranges covering ``rows`` rows, sizes within one."""
    slices = max(1, min(slices, rows))
    base, extra = divmod(rows, slices)
    bounds, offset = [], 0
    for i in range(slices):
        length = base + (1 if i < extra else 0)
        bounds.append((offset, length))
        offset += length
    return bounds


def map_row_slices(work: Callable[..., R], table: pa.Table, *args: object, workers: int) -> list[R]:
    """``work(slice, *args)`` for consecutive row slices of ``table``, in slice order.

    ``work`` must be a module-level function (the helpers import it by name) whose answer
    for a row depends on that row alone. ``workers`` processes work at once: this one and
    ``workers - 1`` spawned helpers. The helpers take slices from the front, one at a time
    each, while this process, which needs no start-up, takes them from the back, so all
    finish within about one slice of each other however long the helpers took to start.
    With one worker, or fewer than :data:`PARALLEL_FROM_ROWS` rows, ``work`` runs once
    here on the whole table.
    """
    if workers <= 1 or table.num_rows < PARALLEL_FROM_ROWS:
        return [work(table, *args)]
    slices = max(workers * SLICES_PER_WORKER, -(-table.num_rows // SLICE_ROWS))
    bounds = slice_bounds(table.num_rows, slices)
    log.info(
        "%s: %d rows in %d slices, this process and %d spawned",
        getattr(work, "__name__", "work"),
        table.num_rows,
        len(bounds),
        workers - 1,
    )
    claims = _Claims(len(bounds))
    results: dict[int, R] = {}
    sent: dict[int, Future] = {}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers - 1, mp_context=context) as pool:

        def send(i: int) -> Future:
            offset, length = bounds[i]
            sent[i] = pool.submit(_run, work, _to_ipc(table.slice(offset, length)), args)
            return sent[i]

        feeder = threading.Thread(target=_feed, args=(send, workers - 1, claims), daemon=True)
        feeder.start()
        try:
            while (i := claims.back()) is not None:
                offset, length = bounds[i]
                results[i] = work(table.slice(offset, length), *args)
        except BaseException:
            claims.close()  # no slice is started after a failure
            raise
        finally:
            feeder.join()
        return [results.pop(i) if i in results else sent[i].result() for i in range(len(bounds))]


class _Claims:
    """The slices nobody has started: helpers claim from the front, this process from the back."""

    def __init__(self, count: int) -> None:
        self._front, self._back = 0, count
        self._lock = threading.Lock()

    def front(self) -> int | None:
        with self._lock:
            if self._front >= self._back:
                return None
            self._front += 1
            return self._front - 1

    def back(self) -> int | None:
        with self._lock:
            if self._front >= self._back:
                return None
            self._back -= 1
            return self._back

    def close(self) -> None:
        """Nobody starts another slice."""
        with self._lock:
            self._back = self._front


def _feed(send: Callable[[int], Future], helpers: int, claims: _Claims) -> None:
    """Keep each helper on one slice at a time until no slice is left (a thread of the asking
    process; the pool would queue slices ahead, which this process could then not take)."""
    running: set[Future] = set()
    while True:
        while len(running) < helpers and (i := claims.front()) is not None:
            running.add(send(i))
        if not running:
            return
        done, running = wait(running, return_when=FIRST_COMPLETED)
        if any(f.exception() is not None for f in done):
            claims.close()  # the failure is raised where its result is asked for


def _to_ipc(rows: pa.Table) -> pa.Buffer:
    """A slice as Arrow IPC bytes: its rows only (pickling a slice sends the whole table's
    buffers: 32 MB for a 1,000-row slice of a 1M-row table)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, rows.schema) as writer:
        writer.write_table(rows)
    return sink.getvalue()


def _run(work: Callable[..., R], payload: pa.Buffer, args: tuple) -> R:
    """In a worker: ``work`` on the slice sent as IPC bytes."""
    return work(pa.ipc.open_stream(payload).read_all(), *args)

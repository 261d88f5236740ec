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
imports what it runs, and the standardisers build their tables again in it: about 2.3 s
of CPU before its first useful row, measured on the staging modules. So small tables (a
day's delta, the tests) are handled in the asking process alone: helpers are used from
:data:`PARALLEL_FROM_ROWS` rows, and each helper starts on a few rows of its own (a
warm-up) before it takes a slice, so the asking process never waits for a helper that is
still starting.

How many workers: ``$CUSTMASTER_WORKERS`` if set, else the config's ``sync.workers``, else
the cores this process may run on. 1 turns the helpers off.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from multiprocessing import get_context
from typing import TypeVar

import pyarrow as pa

log = logging.getLogger(__name__)

#: Environment variable that sets the number of worker processes (over the config).
WORKERS_ENV = "CUSTMASTER_WORKERS"

#: Fewest rows worth a helper's start-up. Staging standardises about 28k source rows a
#: second per core here (3.6 s of CPU for the 100k demo's 101k rows, in one process); a
#: spawned helper spends about 2.3 s of CPU (imports, tables, its first small slice)
#: before it takes a slice, so below about 65k rows the asking process alone finishes
#: first, and under load (other work on the cores) the helper's start-up is paid twice.
PARALLEL_FROM_ROWS = 100_000

#: Fewest slices per worker: more than one, so the process that drew cheap rows (a source
#: without addresses, say) takes another slice while the other finishes.
SLICES_PER_WORKER = 2

#: Rows of a slice (about 2 s of work) beyond the fewest slices. Each slice costs about
#: 0.15 s of CPU of its own (the staging of the 100k demo's 101k rows took 3.6 s of CPU
#: in one slice, 4.2 s in 4, 6.0 s in 16: set-up per column, values repeated across
#: slices standardised once per slice), and the processes finish within about one slice
#: of each other: a million rows go in 17 slices.
SLICE_ROWS = 60_000

#: Rows a helper stages first, to import the modules and build the standardisers' tables.
WARM_UP_ROWS = 200

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
    pool = ProcessPoolExecutor(max_workers=workers - 1, mp_context=get_context("spawn"))

    def send(i: int | None) -> Future:
        if i is None:  # a warm-up: the helper's imports and tables, on a few rows
            return pool.submit(_run, work, _to_ipc(table.slice(0, WARM_UP_ROWS)), args)
        offset, length = bounds[i]
        sent[i] = pool.submit(_run, work, _to_ipc(table.slice(offset, length)), args)
        return sent[i]

    feeder = threading.Thread(target=_feed, args=(send, workers - 1, claims), daemon=True)
    feeder.start()
    started = time.perf_counter()
    try:
        while (i := claims.back()) is not None:
            offset, length = bounds[i]
            results[i] = work(table.slice(offset, length), *args)
        waited = time.perf_counter()
        feeder.join()  # every slice a helper took is done
        log.debug(
            "slices %s here in %.1f s, %d by helpers; then waited %.1f s for them",
            sorted(results),
            waited - started,
            len(sent),
            time.perf_counter() - waited,
        )
        return [results.pop(i) if i in results else sent[i].result() for i in range(len(bounds))]
    finally:
        claims.close()  # after a failure, no slice is started
        feeder.join()
        # a helper still warming up when the work is done is not waited for: it stops then
        pool.shutdown(wait=False, cancel_futures=True)


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

    def empty(self) -> bool:
        with self._lock:
            return self._front >= self._back

    def close(self) -> None:
        """Nobody starts another slice."""
        with self._lock:
            self._back = self._front


def _feed(send: Callable[[int | None], Future], helpers: int, claims: _Claims) -> None:
    """Keep each helper on one slice at a time until no slice is left (a thread of the asking
    process; the pool would queue slices ahead, which this process could then not take).

    A helper is first sent a warm-up and given a slice only once it has started: a slice
    claimed earlier would wait for the helper's start-up while this process, out of
    slices, waited for it."""
    warming = {send(None) for _ in range(helpers)}
    running = set(warming)
    while True:
        while len(running) < helpers and (i := claims.front()) is not None:
            running.add(send(i))
        if claims.empty() and not running - warming:
            return  # every slice is taken and no helper is on one
        done, running = wait(running, timeout=0.05, return_when=FIRST_COMPLETED)
        if any(f.exception() is not None for f in done - warming):
            claims.close()  # the failure is raised where its result is asked for
        warming -= done


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

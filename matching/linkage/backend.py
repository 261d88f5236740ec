"""Where Splink runs: a private in-memory DuckDB per run (Spark is the later path).

Splink leaves ``__splink__`` working tables behind and holds its connection for the
whole run, so it never runs on the warehouse file: each training or prediction run gets
its own in-memory database, closed when the run ends.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
from splink import DuckDBAPI

logger = logging.getLogger(__name__)

SUPPORTED_BACKENDS = ("duckdb",)


def check_backend(backend: str) -> str:
    """``backend`` if this build can run it.

    Raises:
        ValueError: for any backend but 'duckdb' (Spark is planned, not built).
    """
    if backend not in SUPPORTED_BACKENDS:
        raise ValueError(
            f"matching backend {backend!r} is not supported; supported: "
            f"{', '.join(SUPPORTED_BACKENDS)} (Spark is planned for data past one machine)"
        )
    return backend


@contextmanager
def splink_database(backend: str = "duckdb", threads: int | None = None) -> Iterator[DuckDBAPI]:
    """A Splink database API on a fresh in-memory DuckDB, closed on exit.

    Args:
        backend: only 'duckdb' for now.
        threads: DuckDB worker threads; None leaves DuckDB's default (all cores).
    """
    check_backend(backend)
    con = duckdb.connect(":memory:")
    if threads is not None:
        con.execute(f"SET threads = {int(threads)}")
    logger.debug("opened in-memory DuckDB for Splink")
    try:
        yield DuckDBAPI(connection=con)
    finally:
        con.close()
        logger.debug("closed Splink's in-memory DuckDB")

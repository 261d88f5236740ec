"""Writing one serving index's files: the customer tables and the duplicate check's files.

The two halves read the same warehouse state and write different files of the folder
(``serving.TABLES``; ``check.json``, ``check_*``, ``model_*``, ``scoring_*``), so they are
written at once, each on its own connection to the warehouse. The tables are DuckDB
statements, the check files mostly Arrow and NumPy kernels on one core (reading the
prepared records, term frequencies, the blocking keys' hashes): one after the other, a
1M-record sync's serving step used 1.46 cores of 2 on a full sync (28.4 s wall, 41.6 s of
CPU) and 1.33 on a 1% delta (18.4 s, 24.4 s); at once, the wall time can fall towards the
CPU time over two cores. Measured at 100k records on a copy of the benchmark's warehouse
after a 1% day, alternately with the halves one after the other: with most of one core
free (load average 0.6-3), a delta's index took 2.4-3.7 s wall against 3.1-4.3 s (the
same CPU time), a whole one 4.4-6.7 s against 4.7-6.8 s (no gain shown: in a timed run
the tables took 4.15 s of the 4.15, the check files 3.1 s beside them); with both cores
busy (load average 6-10), the same within the noise. Both at once hold both halves' memory at the same time: a whole
index peaked at 0.68-0.71 GiB instead of 0.56-0.59 GiB, a delta's the same.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb

from matching.check_store import write_warehouse_check_files
from matching.linkage.junk import JunkRules
from warehouse.serving import write_tables


@dataclass(frozen=True)
class ServingFiles:
    """What one serving index holds: rows per customer table, records per check index."""

    tables: dict[str, int]
    check_records: dict[str, int]


def write_serving_files(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    junk: JunkRules,
    previous: Path | None = None,
    current: Path | None = None,
    rewritten: Literal["ignore", "use"] = "ignore",
) -> ServingFiles:
    """The customer tables (``serving.write_tables``) and the duplicate check's files
    (``check_store.write_warehouse_check_files``) of the warehouse on ``con`` into
    ``folder``, both at once. An error in either is raised once both have stopped.

    Args:
        previous: the folder of the index an incremental sync replaces: its tables are
            updated rather than written whole, its check indexes carried over and updated
            for the records that changed (``matching.check_update``).
        current: the folder of the index any sync replaces (``previous`` when not given):
            its scoring statements are taken for the models and columns they were made for.
            Capturing them builds a Splink linker per model: at 100k records 0.3-0.6 s of
            CPU of the 4.3-4.6 s of a whole index once Splink is loaded (as in a sync), 3 s
            in a fresh process, the same at any size.
        rewritten: what the check files do with the log of rewritten prepared records
            (``check_store.write_warehouse_check_files``).
    """
    statements = previous if current is None else current
    with ThreadPoolExecutor(1, thread_name_prefix="serving-check-files") as pool:
        check_con = con.cursor()  # DuckDB: one connection per thread
        try:
            checks = pool.submit(
                write_warehouse_check_files,
                check_con,
                folder,
                junk,
                statements,
                carried=previous,
                rewritten=rewritten,
            )
            try:
                tables = write_tables(con, folder, previous)
            finally:
                check_records = checks.result()
        finally:
            check_con.close()
    return ServingFiles(tables, check_records)

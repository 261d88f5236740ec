"""Reading a demo's warehouse in the pipeline tests."""

from pathlib import Path

import duckdb
import pandas as pd


def query(demo: Path, sql: str) -> pd.DataFrame:
    """``sql`` on the demo's warehouse, opened read-only and closed again."""
    con = duckdb.connect(str(demo / "out" / "warehouse.duckdb"), read_only=True)
    try:
        return con.sql(sql).df()
    finally:
        con.close()

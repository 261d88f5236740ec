"""The staged records' own invariant: one record per record_key."""

import duckdb
import pytest

from quality.staging_checks import check_record_key_unique


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA staging")
    con.execute("CREATE TABLE staging.customers (record_key VARCHAR, name VARCHAR)")
    yield con
    con.close()


def test_unique_record_keys_pass(con):
    con.execute("INSERT INTO staging.customers VALUES ('dealers:1', '甲'), ('dealers:2', '乙')")
    outcome = check_record_key_unique(con)
    assert (outcome.passed, outcome.description, outcome.metadata) == (
        True,
        "record_key is unique",
        {"duplicated_keys": 0, "examples": []},
    )


def test_repeated_record_keys_block_with_the_most_repeated_first(con):
    rows = [("dealers:1", "甲"), ("dealers:2", "乙"), ("dealers:3", "丙")]
    rows += [("dealers:3", "丙")] * 2 + [("dealers:2", "乙")]
    rows += [(f"regional:{i:02d}", "丁") for i in range(12) for _ in range(2)]
    con.executemany("INSERT INTO staging.customers VALUES (?, ?)", rows)
    outcome = check_record_key_unique(con)
    assert (outcome.passed, outcome.severity) == (False, "error")
    assert outcome.description == "14 record_key values are repeated"
    assert outcome.metadata["duplicated_keys"] == 14
    # the ten most repeated keys, ties in key order
    assert outcome.metadata["examples"] == [
        "dealers:3 ×3",
        "dealers:2 ×2",
        *(f"regional:{i:02d} ×2" for i in range(8)),
    ]

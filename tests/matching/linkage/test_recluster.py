"""An incremental clustering solves only what a day touched, and ends where a full one does."""

from __future__ import annotations

import duckdb
import pandas as pd

from matching.linkage.cluster_step import cluster_records, update_clusters
from matching.linkage.contacts import prepared_contacts
from matching.linkage.decisions import Decisions, empty_decisions
from matching.linkage.features import prepare_uncapped
from matching.linkage.recluster import (
    REWRITTEN,
    can_recluster,
    cluster_counts,
    recluster,
    remember_cluster_inputs,
)
from sources.config import MatchingConfig
from sources.schema import STAGED_COLUMNS
from sources.standardise import to_pinyin
from warehouse.store import replace_table, table_exists

SETTINGS = MatchingConfig(upper_threshold=0.9, lower_threshold=0.5, max_cluster_size=3)
UNCAPPED = "matching.prepared_uncapped"
TABLES = {
    "clusters": "SELECT * FROM matching.clusters",
    "cut links": "SELECT * FROM matching.cut_links",
    "conflicts": "SELECT * FROM matching.decision_conflicts",
    "rule links": "SELECT * FROM matching.rule_links",
}


def record(key: str, entity_type: str = "person", name: str | None = None, **values) -> dict:
    row = dict.fromkeys(STAGED_COLUMNS)
    row.update(record_key=key, entity_type=entity_type, source=key.split(":")[0])
    row.update(name=name or key, name_core=name or key, **values)
    return row


def contact(company: str, name: str) -> dict:
    return record(f"{company}:contact", name=name, derived_from_record_key=company)


def staged(*rows: dict) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows))
    frame["name_pinyin"] = to_pinyin(frame["name_core"])
    return frame


def pairs(entity_type: str, *links: tuple[str, str, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [(entity_type, left, right, p, 5.0) for left, right, p in links],
        columns=[
            "entity_type",
            "record_key_l",
            "record_key_r",
            "match_probability",
            "match_weight",
        ],
    )


def decided(*rows: tuple[str, str, str]) -> Decisions:
    if not rows:
        return empty_decisions()
    frame = pd.DataFrame(rows, columns=["record_key_l", "record_key_r", "decision"])
    return Decisions(frame.assign(decided_by="steward", decided_at="2026-11-20", note=""))


def load(con: duckdb.DuckDBPyConnection, records: pd.DataFrame, scored: pd.DataFrame) -> None:
    """The tables clustering reads: staged records, their prepared persons, the pairs."""
    for schema in ("staging", "matching"):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    replace_table(con, "staging", "customers", records)
    persons = records[records["entity_type"] == "person"].reset_index(drop=True)
    replace_table(con, "matching", "prepared_uncapped", prepare_uncapped(persons, "person"))
    replace_table(con, "matching", "pairs", scored)


def cluster_all(con: duckdb.DuckDBPyConnection, records: pd.DataFrame, decisions: Decisions):
    """What the clustering step does on a full sync."""
    scored = con.sql("FROM matching.pairs").df()
    links = scored[scored["match_probability"] >= SETTINGS.upper_threshold]
    result = cluster_records(
        records,
        links,
        decisions,
        [],
        SETTINGS,
        prepared_contacts=prepared_contacts(con, UNCAPPED, "staging.customers"),
        review_pairs=lambda _: scored,
    )
    replace_table(con, "matching", "clusters", result.resolution.clusters)
    replace_table(con, "matching", "cut_links", result.resolution.cut_links)
    replace_table(con, "matching", "decision_conflicts", result.resolution.conflicts)
    replace_table(con, "matching", "rule_links", result.rule_links)
    remember_cluster_inputs(con, decisions, SETTINGS, result.resolution.split_components, UNCAPPED)
    return result


def no_models(con: duckdb.DuckDBPyConnection) -> None:
    """``matching.models`` as the training step writes it, with no model (no level labels)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS matching")
    con.execute(
        """CREATE TABLE matching.models (entity_type VARCHAR, version BIGINT, model VARCHAR,
                                         path VARCHAR, trained BOOLEAN, records BIGINT)"""
    )


def rows(con: duckdb.DuckDBPyConnection, query: str) -> list[tuple]:
    return sorted(con.execute(query).fetchall(), key=repr)


DAY_ONE = staged(
    *(record(f"dealers:C{i}", "company") for i in range(1, 9)),
    contact("dealers:C1", "陈洪来"),
    contact("dealers:C2", "陈洪来"),
    contact("dealers:C4", "李娜"),
    contact("dealers:C6", "李娜"),
    *(record(f"regional:P{i}") for i in (1, 2, 3, 4, 5, 6, 7, 9)),
    *(record(f"regional:P1{i}") for i in range(4)),
)
PAIRS_ONE = pd.concat(
    [
        pairs(
            "company",
            ("dealers:C1", "dealers:C2", 0.95),
            ("dealers:C2", "dealers:C3", 0.97),
            ("dealers:C4", "dealers:C5", 0.99),
            ("dealers:C7", "dealers:C8", 0.92),
            ("dealers:C5", "dealers:C8", 0.7),  # for review
        ),
        pairs(
            "person",
            ("regional:P1", "regional:P2", 0.96),
            ("regional:P3", "regional:P4", 0.95),
            ("regional:P4", "regional:P5", 0.93),
            ("regional:P3", "regional:P5", 0.91),
            # four in a chain: past the size limit of 3, one link cut
            ("regional:P10", "regional:P11", 0.99),
            ("regional:P11", "regional:P12", 0.98),
            ("regional:P12", "regional:P13", 0.97),
        ),
    ],
    ignore_index=True,
)
DECISIONS_ONE = decided(
    ("regional:P3", "regional:P5", "no_match"), ("regional:P6", "regional:P7", "match")
)

# the next day: new records, removed ones, an edited contact, moved scores, new decisions
DAY_TWO = staged(
    *(record(f"dealers:C{i}", "company") for i in (1, 2, 4, 5, 6, 7, 8, 9)),  # C3 removed
    contact("dealers:C1", "王芳"),  # the contact's name edited: no longer C2's namesake
    contact("dealers:C2", "陈洪来"),
    contact("dealers:C4", "李娜"),
    contact("dealers:C6", "李娜"),  # C6 joins C4's customer: the two contacts are one person
    *(record(f"regional:P{i}") for i in (1, 2, 3, 4, 5, 6, 7, 8, 9)),  # P8 new
    *(record(f"regional:P1{i}") for i in range(3)),  # P13 removed: the chain fits again
)
PAIRS_TWO = pd.concat(
    [
        pairs(
            "company",
            ("dealers:C1", "dealers:C2", 0.95),
            ("dealers:C4", "dealers:C5", 0.99),
            ("dealers:C4", "dealers:C6", 0.93),  # a merge
            ("dealers:C8", "dealers:C9", 0.95),  # a new record joins
            ("dealers:C7", "dealers:C8", 0.6),  # a split: the link fell below the threshold
            ("dealers:C5", "dealers:C8", 0.7),
        ),
        pairs(
            "person",
            ("regional:P1", "regional:P2", 0.96),
            ("regional:P1", "regional:P8", 0.98),
            ("regional:P3", "regional:P4", 0.95),
            ("regional:P4", "regional:P5", 0.93),
            ("regional:P3", "regional:P5", 0.91),
            ("regional:P10", "regional:P11", 0.99),
            ("regional:P11", "regional:P12", 0.98),
        ),
    ],
    ignore_index=True,
)
DECISIONS_TWO = decided(
    ("regional:P3", "regional:P5", "no_match"),
    ("regional:P6", "regional:P7", "match"),
    ("regional:P1", "regional:P8", "no_match"),  # a steward keeps the new record apart
    ("regional:P7", "regional:P9", "match"),
)


def test_a_day_reclustered_equals_clustering_every_record():
    with duckdb.connect() as day, duckdb.connect() as whole:
        load(day, DAY_ONE, PAIRS_ONE)
        cluster_all(day, DAY_ONE, DECISIONS_ONE)
        assert can_recluster(day)
        load(day, DAY_TWO, PAIRS_TWO)
        solved = recluster(day, DECISIONS_TWO, SETTINGS, UNCAPPED)
        load(whole, DAY_TWO, PAIRS_TWO)
        cluster_all(whole, DAY_TWO, DECISIONS_TWO)
        for query in TABLES.values():
            assert rows(day, query) == rows(whole, query), query
        assert cluster_counts(day) == cluster_counts(whole)
        # the snapshots are those a full clustering keeps, for the next day
        for table in ("cluster_links", "cluster_decisions", "cluster_contacts", "split_components"):
            query = f"FROM matching.{table}"
            assert rows(day, query) == rows(whole, query), table
        # what nothing touched keeps its rows (P3, P4, P5: split by a steward the day before)
        again = set(solved.resolution.clusters["record_key"])
        assert {"regional:P3", "regional:P4", "regional:P5"}.isdisjoint(again)
        assert {"dealers:C1:contact", "dealers:C2:contact", "regional:P8"} <= again
        assert solved.records_solved < len(DAY_TWO)
        clusters = dict(rows(whole, "SELECT record_key, cluster_id FROM matching.clusters"))
    assert clusters["dealers:C6"] == clusters["dealers:C5"] == "dealers:C4"  # merged
    assert clusters["dealers:C9"] == clusters["dealers:C8"] == "dealers:C8"  # split from C7
    assert clusters["regional:P8"] == "regional:P8"  # kept apart by a steward
    assert clusters["regional:P9"] == "regional:P6"  # joined by a steward
    assert clusters["dealers:C6:contact"] == "dealers:C4:contact"  # the rule at C4's customer
    assert clusters["dealers:C1:contact"] == "dealers:C1:contact"  # renamed: rule link gone


def test_cluster_counts_are_those_of_the_clustering_written_whole_and_after_a_day():
    """The counts read from the tables (clusters counted as the records that are their
    cluster's ID) are the clustering's own, after a whole clustering and after a day."""
    with duckdb.connect() as day, duckdb.connect() as whole:
        load(day, DAY_ONE, PAIRS_ONE)
        first = cluster_all(day, DAY_ONE, DECISIONS_ONE)
        assert cluster_counts(day) == first.resolution.counts()
        load(day, DAY_TWO, PAIRS_TWO)
        recluster(day, DECISIONS_TWO, SETTINGS, UNCAPPED)
        load(whole, DAY_TWO, PAIRS_TWO)
        expected = cluster_all(whole, DAY_TWO, DECISIONS_TWO).resolution.counts()
        assert expected["clusters"] < expected["records"]  # some clusters hold several records
        assert cluster_counts(day) == expected
        # a cluster ID that is none of its records' keys would not be counted: the clusters
        # are counted right only while every cluster's ID is one of its records
        ids = rows(day, "SELECT DISTINCT cluster_id FROM matching.clusters")
        keys = {key for (key,) in rows(day, "SELECT record_key FROM matching.clusters")}
        assert {cluster for (cluster,) in ids} <= keys


def test_an_unchanged_day_solves_nothing_again():
    with duckdb.connect() as con:
        load(con, DAY_ONE, PAIRS_ONE)
        cluster_all(con, DAY_ONE, DECISIONS_ONE)
        before = {name: rows(con, query) for name, query in TABLES.items()}
        solved = recluster(con, DECISIONS_ONE, SETTINGS, UNCAPPED)
        assert solved.records_solved == 0
        assert {name: rows(con, query) for name, query in TABLES.items()} == before


def test_a_decision_on_records_of_an_untouched_cluster_solves_that_cluster_again():
    with duckdb.connect() as day, duckdb.connect() as whole:
        load(day, DAY_ONE, PAIRS_ONE)
        cluster_all(day, DAY_ONE, DECISIONS_ONE)
        decisions = decided(
            ("regional:P3", "regional:P5", "no_match"),
            ("regional:P6", "regional:P7", "match"),
            ("regional:P10", "regional:P12", "no_match"),
        )
        solved = recluster(day, decisions, SETTINGS, UNCAPPED)
        load(whole, DAY_ONE, PAIRS_ONE)
        cluster_all(whole, DAY_ONE, decisions)
        for query in TABLES.values():
            assert rows(day, query) == rows(whole, query), query
        assert set(solved.resolution.clusters["record_key"]) == {
            f"regional:P1{i}" for i in range(4)
        }


def test_the_clustering_step_of_a_day_writes_what_it_writes_over_every_record(tmp_path):
    with duckdb.connect() as day, duckdb.connect() as whole:
        no_models(day)
        no_models(whole)
        load(day, DAY_ONE, PAIRS_ONE)
        first = update_clusters(day, DECISIONS_ONE, SETTINGS, tmp_path / "one", incremental=True)
        assert first.records_solved_again is None  # nothing to compare with: every record
        load(day, DAY_TWO, PAIRS_TWO)
        again = update_clusters(day, DECISIONS_TWO, SETTINGS, tmp_path / "day", incremental=True)
        load(whole, DAY_TWO, PAIRS_TWO)
        full = update_clusters(
            whole, DECISIONS_TWO, SETTINGS, tmp_path / "whole", incremental=False
        )
        for query in (*TABLES.values(), "FROM matching.review_queue"):
            assert rows(day, query) == rows(whole, query), query
    assert 0 < again.records_solved_again < len(DAY_TWO)
    assert full.records_solved_again is None
    assert again.counts == full.counts
    assert len(full.review_queue) > 0
    for name in ("review_queue.csv", "review_queue.parquet"):
        assert (tmp_path / "day" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()


def test_a_day_reclustered_logs_every_record_whose_cluster_row_it_rewrote(tmp_path):
    """The customer-ID step settles only the clusters of the records logged: a record whose
    row of matching.clusters changed, appeared or went must be among them."""
    row = "SELECT record_key, entity_type, cluster_id, cluster_size, needs_review"
    with duckdb.connect() as con:
        no_models(con)
        load(con, DAY_ONE, PAIRS_ONE)
        update_clusters(con, DECISIONS_ONE, SETTINGS, tmp_path / "one", incremental=True)
        assert not table_exists(con, *REWRITTEN.split("."))  # every row written: no log
        con.execute(f"CREATE TABLE {REWRITTEN} (record_key VARCHAR)")  # as the ID step leaves it
        before = set(rows(con, f"{row} FROM matching.clusters"))
        load(con, DAY_TWO, PAIRS_TWO)
        update_clusters(con, DECISIONS_TWO, SETTINGS, tmp_path / "two", incremental=True)
        changed = {r[0] for r in before ^ set(rows(con, f"{row} FROM matching.clusters"))}
        logged = {key for (key,) in rows(con, f"SELECT record_key FROM {REWRITTEN}")}
        assert "dealers:C3" in changed and "regional:P8" in changed  # removed, new
        assert changed <= logged
        # what nothing touched is not logged (P3, P4, P5: split by a steward the day before)
        assert {"regional:P3", "regional:P4", "regional:P5"}.isdisjoint(logged)
        update_clusters(con, DECISIONS_TWO, SETTINGS, tmp_path / "three", incremental=False)
        assert not table_exists(con, *REWRITTEN.split("."))  # a whole clustering drops it

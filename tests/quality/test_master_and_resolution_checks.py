"""Master suites and entity-resolution checks on small warehouses built inline."""

from datetime import datetime

import duckdb
import pandas as pd
import pytest

from quality import master_suite as ms
from quality import resolution_checks as rc
from quality.gx import validate
from quality.history import previous_row_count, record_row_count
from quality.kept_verdicts import validate_in_warehouse

T1, T2 = datetime(2026, 11, 1), datetime(2026, 11, 2)


def table(con, name: str, rows: list[dict]) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {name.split('.')[0]}")
    con.register("incoming", pd.DataFrame(rows))
    con.execute(f"CREATE OR REPLACE TABLE {name} AS FROM incoming")
    con.unregister("incoming")


def xref_row(
    record_key, customer_id, entity_type="company", valid_from=T1, valid_to=None, run="r1"
):
    return {
        "record_key": record_key,
        "customer_id": customer_id,
        "entity_type": entity_type,
        "source": "dealers",
        "match_probability": None,
        "valid_from": valid_from,
        "valid_to": valid_to,
        "run_id": run,
    }


@pytest.fixture
def master():
    """Two companies (CM1: a, b; CM2: c), a person CM3 (d); CM4 merged into CM1."""
    con = duckdb.connect()
    table(con, "staging.customers", [{"record_key": k} for k in "abcd"])
    table(
        con,
        "master.customer_xref",
        [
            xref_row("a", "CM1"),
            xref_row("b", "CM4", valid_to=T2),
            xref_row("b", "CM1", valid_from=T2, run="r2"),
            xref_row("c", "CM2"),
            xref_row("d", "CM3", "person"),
        ],
    )
    table(
        con,
        "master.customer_ids",
        [
            {
                "customer_id": "CM1",
                "entity_type": "company",
                "status": "active",
                "merged_into": None,
            },
            {
                "customer_id": "CM2",
                "entity_type": "company",
                "status": "active",
                "merged_into": None,
            },
            {
                "customer_id": "CM3",
                "entity_type": "person",
                "status": "active",
                "merged_into": None,
            },
            {
                "customer_id": "CM4",
                "entity_type": "company",
                "status": "merged",
                "merged_into": "CM1",
            },
        ],
    )
    table(
        con,
        "master.customers",
        [
            {"customer_id": c, "name": n, "phone": p, "birth_date": None}
            for c, n, p in [
                ("CM1", "甲", "+865925551234"),
                ("CM2", "乙", None),
                ("CM3", "张伟", None),
            ]
        ],
    )
    con.execute("ALTER TABLE master.customers ALTER birth_date TYPE DATE")
    table(
        con,
        "master.attribute_lineage",
        [
            {"customer_id": "CM1", "attribute": "name", "value": "甲", "record_key": "a"},
            {
                "customer_id": "CM1",
                "attribute": "phone",
                "value": "+865925551234",
                "record_key": "b",
            },
            {"customer_id": "CM2", "attribute": "name", "value": "乙", "record_key": "c"},
            {"customer_id": "CM3", "attribute": "name", "value": "张伟", "record_key": "d"},
        ],
    )
    table(
        con,
        "master.relationships",
        [{"from_customer_id": "CM1", "to_customer_id": "CM3", "relationship_type": "employment"}],
    )
    yield con
    con.close()


def run(suite, frame) -> dict[str, bool]:
    return {o.name: o.passed for o in validate(suite, frame)}


def test_a_consistent_master_passes_every_suite(master):
    assert run(ms.xref_suite(), ms.xref_frame(master)) == {
        "one_current_xref_row_per_record": True,
        "customer_id_one_entity_type": True,
    }
    assert run(ms.customers_suite(), ms.customers_frame(master)) == {"customer_id_unique": True}
    assert run(ms.lineage_suite(), ms.lineage_frame(master)) == {"lineage_complete": True}
    assert run(ms.relationships_suite(), ms.relationships_frame(master)) == {
        "relationships_point_to_live_ids": True
    }


def test_a_staged_record_without_a_current_xref_row_fails(master):
    master.execute("INSERT INTO staging.customers VALUES ('e')")
    (xref, _) = validate(ms.xref_suite(), ms.xref_frame(master))
    assert not xref.passed
    examples = xref.metadata["failing_expectations"][0]["examples"]
    assert examples == [{"current_rows": 0, "record_key": "e", "customer_id": None}]


def test_an_id_given_to_a_person_and_a_company_fails(master):
    master.execute("UPDATE master.customer_xref SET customer_id = 'CM2' WHERE record_key = 'd'")
    verdicts = run(ms.xref_suite(), ms.xref_frame(master))
    assert verdicts == {
        "one_current_xref_row_per_record": True,
        "customer_id_one_entity_type": False,
    }


def test_a_merged_id_coming_back_as_a_golden_record_fails(master):
    master.execute("INSERT INTO master.customers (customer_id, name) VALUES ('CM4', '丙')")
    (outcome,) = validate(ms.customers_suite(), ms.customers_frame(master))
    assert not outcome.passed and outcome.severity == "error"
    says = [f["found"] for f in outcome.metadata["failing_expectations"]]
    assert any("merged, retired or unknown" in s for s in says)


def test_a_duplicated_golden_record_fails(master):
    master.execute("INSERT INTO master.customers (customer_id, name) VALUES ('CM2', '乙')")
    assert run(ms.customers_suite(), ms.customers_frame(master)) == {"customer_id_unique": False}


def test_golden_values_without_lineage_or_with_foreign_lineage_fail(master):
    master.execute(
        "UPDATE master.customers SET birth_date = DATE '1980-01-02' WHERE customer_id = 'CM3'"
    )
    (missing,) = validate(ms.lineage_suite(), ms.lineage_frame(master))
    assert not missing.passed
    assert missing.metadata["failing_expectations"][0]["examples"][0]["attribute"] == "birth_date"
    master.execute(
        "INSERT INTO master.attribute_lineage VALUES ('CM3', 'birth_date', '1980-01-02 00:00:00', 'a')"
    )
    (foreign,) = validate(ms.lineage_suite(), ms.lineage_frame(master))
    assert [f["found"] for f in foreign.metadata["failing_expectations"]] == [
        "1 of 5 lineage rows naming a record that is not the customer's (20.0%)"
    ]


def test_a_relationship_to_a_merged_id_fails(master):
    master.execute("INSERT INTO master.relationships VALUES ('CM4', 'CM3', 'employment')")
    assert run(ms.relationships_suite(), ms.relationships_frame(master)) == {
        "relationships_point_to_live_ids": False
    }


def test_master_suites_in_the_warehouse_report_what_a_whole_validation_reports(master):
    """Sync after sync (verdicts kept from the last): a bad row arriving fails the check a
    whole validation fails, a bad row left in place is still reported, a fix clears it."""
    suites = [
        (ms.xref_suite(), ms.XREF_FRAME, ms.xref_frame),
        (ms.customers_suite(), ms.customers_frame_sql(), ms.customers_frame),
        (ms.lineage_suite(), ms.lineage_frame_sql(master), ms.lineage_frame),
    ]
    days = [
        "SELECT 1",  # consistent
        "INSERT INTO staging.customers VALUES ('e')",  # a record with no current xref row
        "INSERT INTO master.customers (customer_id, name) VALUES ('CM4', '丙')",  # merged ID back
        "UPDATE master.customer_xref SET customer_id = 'CM2' WHERE record_key = 'd'",
        "UPDATE master.customer_xref SET customer_id = 'CM3' WHERE record_key = 'd'",  # fixed
    ]
    failed = []
    for change in days:
        master.execute(change)
        outcomes = []
        for suite, sql, frame in suites:
            kept = [o.as_record() for o in validate_in_warehouse(master, suite, sql)]
            assert kept == [o.as_record() for o in validate(suite, frame(master))]
            outcomes += kept
        failed.append({o["check"] for o in outcomes if not o["passed"]})
    assert failed == [
        set(),
        {"one_current_xref_row_per_record"},
        {"one_current_xref_row_per_record", "customer_id_unique", "lineage_complete"},
        {
            "one_current_xref_row_per_record",
            "customer_id_one_entity_type",
            "customer_id_unique",
            "lineage_complete",
        },
        {"one_current_xref_row_per_record", "customer_id_unique", "lineage_complete"},
    ]


def clusters(con, sizes: dict[str, int]) -> None:
    rows = [
        {"record_key": f"{cid}-{i}", "entity_type": "company", "cluster_id": cid}
        for cid, n in sizes.items()
        for i in range(n)
    ]
    table(con, "matching.clusters", rows)
    table(con, "staging.customers", [{"record_key": r["record_key"], "name": "甲"} for r in rows])


def test_a_giant_cluster_blocks_and_the_distribution_is_shown():
    con = duckdb.connect()
    clusters(con, {"k1": 1, "k2": 1, "k3": 2, "k4": 12})
    outcome = rc.check_giant_clusters(con, giant_size=10)
    assert (outcome.name, outcome.passed, outcome.severity) == ("no_giant_clusters", False, "error")
    assert outcome.metadata["largest_clusters"][0]["size"] == 12
    assert outcome.metadata["size_distribution"] == [
        {"size": "1", "clusters": 2, "records": 2},
        {"size": "2", "clusters": 1, "records": 2},
        {"size": "11-20", "clusters": 1, "records": 12},
    ]
    assert rc.check_giant_clusters(con, giant_size=12).passed


def test_share_left_unlinked_warns_above_its_bound():
    con = duckdb.connect()
    clusters(con, {"k1": 1, "k2": 1, "k3": 1, "k4": 2})  # 3 of 5 alone
    outcome = rc.check_unlinked_share(con, max_share=0.5)
    assert (outcome.passed, outcome.severity, outcome.metadata["unlinked_share"]) == (
        False,
        "warn",
        0.6,
    )
    assert rc.check_unlinked_share(con, max_share=0.6).passed


def test_review_queue_size_warns_above_its_bound():
    con = duckdb.connect()
    table(con, "matching.review_queue", [{"reason": "between thresholds"}] * 3)
    assert not rc.check_review_queue(con, max_pairs=2).passed
    assert rc.check_review_queue(con, max_pairs=3).passed


def test_id_churn_is_the_share_of_known_records_whose_id_changed_in_this_run(master):
    churn = rc.check_id_churn(master, "r2", max_share=0.2)
    # before r2: a, b, c, d current; after: b moved CM4 → CM1
    assert (
        churn.passed,
        churn.metadata["records_changed"],
        churn.metadata["records_compared"],
    ) == (
        False,
        1,
        4,
    )
    assert churn.metadata["examples"] == [{"record_key": "b", "before": "CM4", "after": "CM1"}]
    assert rc.check_id_churn(master, "r2", max_share=0.25).passed
    first = rc.check_id_churn(master, "r1", max_share=0.0)  # the first run: nothing before it
    assert first.passed and first.metadata["records_compared"] == 0


def test_row_count_history_compares_with_the_last_accepted_run():
    con = duckdb.connect()
    assert previous_row_count(con, "dealers", "r1") is None
    record_row_count(con, "dealers", "r1", 100, True, T1)
    record_row_count(con, "dealers", "r2", 40, False, T2)  # rejected: not a baseline
    assert previous_row_count(con, "dealers", "r3") == 100
    record_row_count(con, "dealers", "r2", 90, True, T2)  # the same run again replaces its row
    assert previous_row_count(con, "dealers", "r3") == 90
    assert previous_row_count(con, "dealers", "r2") == 100  # a run never compares with itself


def test_the_cluster_checks_counted_once_report_what_each_check_reports_alone():
    con = duckdb.connect()
    clusters(con, {"k1": 1, "k2": 1, "k3": 2, "k4": 12, "k5": 1})
    for giant, share in [(10, 0.5), (12, 0.2)]:
        together = rc.check_clusters(con, giant, share)
        alone = [rc.check_giant_clusters(con, giant), rc.check_unlinked_share(con, share)]
        assert [o.as_record() for o in together] == [o.as_record() for o in alone]
    assert [o.name for o in together] == [c.name for c in rc.CLUSTER_CHECKS]
    assert together[1].metadata["records"] == 17 and together[1].metadata["unlinked"] == 3
    # the sizes are the run's: nothing is left in the connection
    assert not con.sql("FROM duckdb_tables() WHERE table_name = '__cluster_sizes'").fetchall()


def test_the_cluster_checks_on_no_clusters_pass():
    con = duckdb.connect()
    table(
        con, "matching.clusters", [{"record_key": "a", "entity_type": "company", "cluster_id": "k"}]
    )
    con.execute("DELETE FROM matching.clusters")
    table(con, "staging.customers", [{"record_key": "a", "name": "甲"}])
    giant, unlinked = rc.check_clusters(con, 10, 0.5)
    assert giant.passed and giant.metadata["largest_cluster"] == 0
    assert unlinked.passed and unlinked.metadata["records"] == 0

"""The master layer in the pipeline: persistent IDs across runs, golden records with lineage."""

import csv
from pathlib import Path

import pandas as pd
import pytest
from demo_warehouse import query

from pipelines.runner import run_pipeline


@pytest.fixture
def demo(demo_run, demo_for) -> Path:
    """The shared demo after one run (``demo_run``); a copy for a test that reruns it."""
    return demo_for(demo_run.folder)


def current_ids(demo: Path) -> pd.Series:
    return query(
        demo, "SELECT record_key, customer_id FROM master.customer_xref WHERE valid_to IS NULL"
    ).set_index("record_key")["customer_id"]


def test_every_staged_record_has_exactly_one_current_customer(demo):
    check = query(
        demo,
        """SELECT (SELECT count(*) FROM staging.customers) AS staged,
                  (SELECT count(*) FROM master.customer_xref WHERE valid_to IS NULL) AS current_rows,
                  (SELECT count(DISTINCT record_key) FROM master.customer_xref WHERE valid_to IS NULL) AS records,
                  (SELECT count(*) FROM master.customers) AS golden,
                  (SELECT count(DISTINCT customer_id) FROM master.customer_xref WHERE valid_to IS NULL) AS ids""",
    ).iloc[0]
    assert check.staged == check.current_rows == check.records
    assert check.golden == check.ids
    mixed = query(
        demo,
        "SELECT customer_id FROM master.customer_xref GROUP BY 1 HAVING count(DISTINCT entity_type) > 1",
    )
    assert mixed.empty


def test_golden_attributes_have_lineage_to_a_record_of_the_customer(demo):
    orphan = query(
        demo,
        """SELECT l.* FROM master.attribute_lineage l
           LEFT JOIN master.customer_xref x ON x.record_key = l.record_key AND x.customer_id = l.customer_id
                                            AND x.valid_to IS NULL
           WHERE x.record_key IS NULL""",
    )
    assert orphan.empty
    missing = query(
        demo,
        """SELECT c.customer_id FROM master.customers c
           LEFT JOIN master.attribute_lineage l ON l.customer_id = c.customer_id AND l.attribute = 'name'
           WHERE c.name IS NOT NULL AND l.record_key IS NULL""",
    )
    assert missing.empty


def test_relationships_point_to_live_customers(demo):
    dangling = query(
        demo,
        """SELECT r.* FROM master.relationships r
           LEFT JOIN master.customers a ON a.customer_id = r.from_customer_id
           LEFT JOIN master.customers b ON b.customer_id = r.to_customer_id
           WHERE a.customer_id IS NULL OR b.customer_id IS NULL""",
    )
    assert dangling.empty
    kinds = set(
        query(demo, "SELECT DISTINCT relationship_type FROM master.relationships").relationship_type
    )
    assert {"employment", "served_by_dealer", "holding"} <= kinds
    holding = query(
        demo,
        """SELECT r.confidence, p.entity_type AS parent, c.entity_type AS child, p.name AS parent_name
           FROM master.relationships r
           JOIN master.customers p ON p.customer_id = r.from_customer_id
           JOIN master.customers c ON c.customer_id = r.to_customer_id
           WHERE r.relationship_type = 'holding'""",
    )
    # parent names written by hand, resolved by the company model
    assert (holding["parent"] == "company").all() and (holding["child"] == "company").all()
    assert holding["confidence"].between(0.5, 1.0).all()
    assert (
        holding["parent_name"].str.endswith("股份有限公司").all()
    )  # the demo's parents are holdings


def test_customers_hold_several_roles(demo):
    roles = query(demo, "SELECT customer_id, role FROM master.customer_roles")
    assert {"customer", "prospect", "key_account", "dealer", "contact"} <= set(roles["role"])
    assert roles.groupby("customer_id").size().max() >= 2
    exclusive = roles[roles["role"].isin(["customer", "prospect", "contact"])]
    assert not exclusive["customer_id"].duplicated().any()  # ordered or not: never both


def test_rerun_keeps_every_id_and_records_no_event(demo_run, demo_rerun):
    first, second = demo_run.folder, demo_rerun.folder
    before, events = current_ids(first), len(query(first, "FROM master.customer_id_events"))
    assert demo_rerun.outcome.succeeded
    pd.testing.assert_series_equal(before.sort_index(), current_ids(second).sort_index())
    assert len(query(second, "FROM master.customer_id_events")) == events


@pytest.mark.writes_demo
def test_a_steward_merge_keeps_the_survivor_id_and_the_old_id_resolves(demo):
    ids = current_ids(demo)
    singles = query(
        demo,
        """SELECT x.record_key, x.customer_id FROM master.customer_xref x
           JOIN master.customers c USING (customer_id)
           WHERE x.valid_to IS NULL AND c.entity_type = 'company' AND c.record_count = 1
           ORDER BY x.customer_id LIMIT 2""",
    )
    (key_a, id_a), (key_b, id_b) = singles.itertuples(index=False)
    with (demo / "steward_decisions.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            ["record_key_l", "record_key_r", "decision", "decided_by", "decided_at", "note"]
        )
        writer.writerow(
            [key_a, key_b, "match", "林小燕", "2026-11-20", "same company, new licence"]
        )
    assert run_pipeline(demo / "customer_master.yaml").succeeded
    after = current_ids(demo)
    assert after[key_a] == after[key_b] == id_a  # equal sizes: the older ID survives
    events = query(
        demo,
        f"SELECT event, related_customer_id FROM master.customer_id_events WHERE customer_id = '{id_b}' ORDER BY event_at",
    )
    assert events.values.tolist() == [["created", None], ["merged", id_a]]
    registry = query(
        demo, f"SELECT status, merged_into FROM master.customer_ids WHERE customer_id = '{id_b}'"
    )
    assert registry.values.tolist() == [["merged", id_a]]
    history = query(
        demo,
        f"SELECT customer_id, valid_to IS NULL AS open FROM master.customer_xref WHERE record_key = '{key_b}' ORDER BY valid_from",
    )
    assert history.values.tolist() == [[id_b, False], [id_a, True]]
    others = ids.drop([key_a, key_b])
    assert (after[others.index] == others).all()  # nobody else moved
    retired = query(
        demo,
        f"SELECT count(*) AS n FROM master.relationships WHERE '{id_b}' IN (from_customer_id, to_customer_id)",
    )
    assert retired.n[0] == 0  # relationships follow the merge


def test_check_command_finds_an_existing_customer_as_json(demo, capsys):
    import json

    from pipelines.cli import main

    known = query(
        demo,
        """SELECT c.customer_id, s.name_raw, s.phone FROM master.customers c
           JOIN master.customer_xref x ON x.customer_id = c.customer_id AND x.valid_to IS NULL
           JOIN staging.customers s ON s.record_key = x.record_key
           WHERE c.entity_type = 'company' AND s.phone IS NOT NULL ORDER BY c.customer_id LIMIT 1""",
    ).iloc[0]
    local = "0" + known.phone.removeprefix("+86")  # as a clerk types it: 0592xxxxxxx
    args = [
        "check",
        "--config",
        str(demo / "customer_master.yaml"),
        "--name",
        known.name_raw,
        "--phone",
        local,
        "--json",
    ]
    assert main(args) == 0
    candidates = json.loads(capsys.readouterr().out)
    assert candidates[0]["customer_id"] == known.customer_id
    assert candidates[0]["probability"] > 0.9 and candidates[0]["reasons"]
    assert [c["probability"] for c in candidates] == sorted(
        (c["probability"] for c in candidates), reverse=True
    )

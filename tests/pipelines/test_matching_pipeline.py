"""The matching layer in the pipeline: saved models, clusters, review queue, steward decisions."""

import csv
import re
from pathlib import Path

import pandas as pd
import pytest
from demo_warehouse import query

from pipelines.cli import main
from pipelines.runner import run_pipeline


@pytest.fixture
def demo(demo_run, demo_for) -> Path:
    """The shared demo after its first run; a copy for a test that runs the pipeline again."""
    return demo_for(demo_run.folder)


def test_every_staged_record_is_in_exactly_one_cluster_of_its_own_entity_type(demo, demo_run):
    outcome = demo_run.outcome
    assert outcome.succeeded, outcome.render()
    check = query(
        demo,
        """SELECT count(*) AS staged, count(c.record_key) AS clustered,
                  count(*) FILTER (WHERE c.entity_type <> s.entity_type) AS wrong_type
           FROM staging.customers s LEFT JOIN matching.clusters c USING (record_key)""",
    ).iloc[0]
    assert check.staged == check.clustered and check.wrong_type == 0
    assert (
        query(demo, "SELECT count(*) - count(DISTINCT record_key) AS n FROM matching.clusters").n[0]
        == 0
    )
    mixed = query(
        demo,
        "SELECT cluster_id FROM matching.clusters GROUP BY cluster_id HAVING count(DISTINCT entity_type) > 1",
    )
    assert mixed.empty  # a company never joins a person
    linked = query(demo, "SELECT count(*) AS n FROM matching.clusters WHERE cluster_size > 1").n[0]
    assert linked > 0
    assert (demo / "out" / "models" / "company" / "v0001.json").is_file()
    assert (demo / "out" / "models" / "person" / "v0001.summary.json").is_file()
    queue = pd.read_csv(demo / "out" / "review" / "review_queue.csv", encoding="utf-8-sig")
    assert len(queue) == query(demo, "SELECT count(*) AS n FROM matching.review_queue").n[0]
    assert queue.empty or queue["match_probability"].between(0.5, 0.9, inclusive="left").all()
    assert (demo / "out" / "review" / "review_queue.parquet").is_file()
    assert "review queue" in outcome.render()
    for name in ("match_weights", "comparison_viewer", "cluster_studio"):
        for entity_type in ("company", "person"):
            html = (demo / "out" / "reports" / f"{name}_{entity_type}.html").read_text(
                encoding="utf-8"
            )
            assert "<script" in html and not re.search(
                r"<(script|link)[^>]+(src|href)=\"https?://", html
            )


def test_a_second_run_reuses_the_saved_models_and_gives_the_same_clusters(demo_run, demo_rerun):
    first, second = demo_run.folder, demo_rerun.folder
    before = query(
        first, "SELECT record_key, cluster_id FROM matching.clusters ORDER BY record_key"
    )
    assert demo_rerun.outcome.succeeded
    models = query(second, "SELECT model FROM matching.models ORDER BY model")
    assert models["model"].tolist() == ["company/v0001", "person/v0001"]
    # nothing was trained again: the model step found its inputs unchanged, and no second
    # version was saved
    assert demo_rerun.outcome.work["matching/models"].startswith("skip:")
    saved = sorted(
        p.relative_to(second / "out" / "models").as_posix()
        for p in (second / "out" / "models").rglob("v*.json")
    )
    assert [p for p in saved if not p.endswith(".summary.json")] == [
        "company/v0001.json",
        "person/v0001.json",
    ]
    after = query(
        second, "SELECT record_key, cluster_id FROM matching.clusters ORDER BY record_key"
    )
    pd.testing.assert_frame_equal(before, after)


def test_a_second_run_on_unchanged_feeds_keeps_the_staged_activity(demo_run, demo_rerun):
    for table in ("orders", "interactions", "receivables"):
        assert demo_rerun.outcome.work[f"staging/{table}"].startswith("skip:"), table
        sql = f"SELECT * FROM staging.{table} ORDER BY ALL"
        pd.testing.assert_frame_equal(query(demo_run.folder, sql), query(demo_rerun.folder, sql))


@pytest.mark.writes_demo
def test_steward_decisions_are_honoured_and_leave_the_queue(demo):
    linked = query(
        demo,
        """SELECT record_key_l, record_key_r FROM matching.pairs p
           WHERE match_probability >= 0.9 AND entity_type = 'company'
             AND (SELECT count(*) FROM matching.clusters c
                  WHERE c.cluster_id = (SELECT cluster_id FROM matching.clusters WHERE record_key = p.record_key_l)) = 2
           ORDER BY 1 LIMIT 1""",
    ).iloc[0]
    queued = query(
        demo, "SELECT record_key_l, record_key_r FROM matching.review_queue ORDER BY 1 LIMIT 1"
    )
    with (demo / "steward_decisions.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            ["record_key_l", "record_key_r", "decision", "decided_by", "decided_at", "note"]
        )
        writer.writerow(
            [
                linked.record_key_r,
                linked.record_key_l,
                "no_match",
                "林小燕",
                "2026-11-20",
                "two shops",
            ]
        )
        for row in queued.itertuples(index=False):
            writer.writerow(
                [row.record_key_l, row.record_key_r, "match", "林小燕", "2026-11-20", "same"]
            )
    assert run_pipeline(demo / "customer_master.yaml").succeeded
    clusters = query(demo, "SELECT record_key, cluster_id FROM matching.clusters").set_index(
        "record_key"
    )["cluster_id"]
    assert clusters[linked.record_key_l] != clusters[linked.record_key_r]
    for row in queued.itertuples(index=False):
        assert clusters[row.record_key_l] == clusters[row.record_key_r]
    still_queued = query(demo, "SELECT record_key_l, record_key_r FROM matching.review_queue")
    decided = {tuple(sorted(p)) for p in queued.itertuples(index=False)}
    assert not decided & {tuple(sorted(p)) for p in still_queued.itertuples(index=False)}


@pytest.mark.writes_demo
def test_retrain_writes_a_new_model_version(demo):
    assert run_pipeline(demo / "customer_master.yaml", retrain=True).succeeded
    models = query(demo, "SELECT model, trained FROM matching.models ORDER BY model")
    assert models.values.tolist() == [["company/v0002", True], ["person/v0002", True]]
    assert (demo / "out" / "models" / "company" / "v0001.json").is_file()  # old versions are kept


def test_evaluate_prints_scores_against_the_truth(demo, capsys):
    config = str(demo / "customer_master.yaml")
    assert (
        main(["evaluate", "--config", config, "--truth", str(demo / "truth" / "records.csv")]) == 0
    )
    printed = capsys.readouterr().out
    assert "pairwise" in printed and "company" in printed and "person" in printed
    overall = [line for line in printed.splitlines() if line.startswith("all")][0].split()
    f1 = float(overall[5])
    assert 0.5 < f1 <= 1.0
    # the planted cases and the relationships beside the truth file are scored too
    cases = {line.split()[0]: line.split() for line in printed.splitlines() if line.strip()}
    assert "recall per planted case" in printed
    assert 0.0 <= float(cases["renamed"][-1]) <= 1.0 and int(cases["renamed"][1]) > 0
    assert 0.0 <= float(cases["employment"][3]) <= 1.0  # precision of employment
    assert int(cases["branch"][1]) >= 0 and "must never be merged" in printed
    assert main(["evaluate", "--config", config, "--truth", str(demo / "missing.csv")]) == 2

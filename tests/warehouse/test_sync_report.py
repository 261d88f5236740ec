"""The sync report: every sync writes it; after a delta it names the customers merged and split,
with their evidence; ``custmaster explain`` answers for them; the page opens in real Chromium
with no network and no console error, its charts drawn."""

from __future__ import annotations

import json
import shutil
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
from page_render import chromium_path, coloured_share, render
from report_delta import Delta, apply_delta

from matching.linkage import empty_decisions, read_decisions
from matching.master.explain import explain_customer
from matching.master.link_evidence import connecting_links, spanning_links
from pipelines.cli import main
from sources.config import load_config
from warehouse.report import LATEST, build, charts, report_folder, write_sync_report
from warehouse.report.changes import golden_value_changes
from warehouse.report.check_results import read_check_results
from warehouse.report.history import (
    customer_hashes,
    golden_values_fingerprint,
    keep_golden_values,
    kept_golden_fingerprint,
    kept_values,
    live_hashes,
    previous_golden_values,
)
from warehouse.report.kept_figures import KEPT_FIGURES
from warehouse.report.markup import table
from warehouse.step_inputs import table_fingerprint

# --- small cases, built inline -----------------------------------------------------------


def links(*rows: tuple[str, str, str, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "record_key_l": a,
                "record_key_r": b,
                "kind": k,
                "match_probability": p,
                "evidence": "",
            }
            for a, b, k, p in rows
        ]
    )


def test_a_merge_is_explained_by_the_links_that_bridge_the_two_customers():
    held = links(
        ("a1", "a2", "model", 0.99),  # inside the merged customer
        ("a2", "new", "model", 0.95),  # a new record bridges the two
        ("new", "s1", "model", 0.97),
        ("s1", "s2", "model", 0.99),  # inside the survivor
    )
    path = connecting_links(held, {"a1", "a2"}, {"s1", "s2"})
    assert list(zip(path["record_key_l"], path["record_key_r"], strict=True)) == [
        ("a2", "new"),
        ("new", "s1"),
    ]
    assert connecting_links(held.iloc[:1], {"a1"}, {"s1"}).empty


def test_the_links_holding_a_customer_are_steward_matches_then_the_strongest():
    held = links(
        ("a", "b", "model", 0.91),
        ("a", "c", "model", 0.99),
        ("b", "c", "model", 0.97),
        ("c", "d", "steward", 1.0),
    )
    kept = spanning_links(held)
    assert list(kept["kind"]) == ["steward", "model", "model"]
    assert list(kept["match_probability"]) == [1.0, 0.99, 0.97]


def test_golden_values_that_changed_name_the_winning_source_and_rule(tmp_path):
    con = duckdb.connect()
    con.execute("CREATE SCHEMA master")
    con.execute(
        """CREATE TABLE master.attribute_lineage AS FROM (VALUES
               ('C1', 'phone', '2', 'ka:1', 'key_accounts', 'trust'),
               ('C1', 'name', '甲', 'd:1', 'dealers', 'agreed'),
               ('C3', 'name', '丙', 'd:3', 'dealers', 'only value'))
           t(customer_id, attribute, value, record_key, source, rule)"""
    )
    previous = tmp_path / "golden_values.parquet"
    pd.DataFrame(
        {
            "customer_id": ["C1", "C1", "C2"],
            "attribute": ["phone", "name", "name"],
            "value": ["1", "甲", "乙"],
        }
    ).to_parquet(previous)
    changes = golden_value_changes(con, previous)
    assert changes["changed"] == 1  # C2 retired and C3 new are not compared
    assert changes["values"] == [
        {
            "customer_id": "C1",
            "attribute": "phone",
            "before": "1",
            "value": "2",
            "source": "key_accounts",
            "record_key": "ka:1",
            "rule": "trust",
        }
    ]
    assert changes["per_attribute"] == [{"attribute": "phone", "values": 1}]
    assert golden_value_changes(con, None)["compared"] is False


def test_golden_values_of_an_unchanged_lineage_are_neither_compared_nor_written_again(tmp_path):
    con = duckdb.connect()
    con.execute("CREATE SCHEMA master")
    con.execute(
        """CREATE TABLE master.attribute_lineage AS FROM (VALUES
               ('C1', 'name', '甲', 'd:1', 'dealers', 'agreed'))
           t(customer_id, attribute, value, record_key, source, rule)"""
    )
    first = golden_values_fingerprint(con)
    kept = keep_golden_values(con, tmp_path, first)
    assert kept_golden_fingerprint(tmp_path) == first
    written = kept.stat().st_mtime_ns
    assert keep_golden_values(con, tmp_path, first).stat().st_mtime_ns == written
    # equal fingerprints give what a comparison gives: nothing changed
    assert golden_value_changes(con, kept, unchanged=True) == golden_value_changes(con, kept)

    con.execute("UPDATE master.attribute_lineage SET value = '乙'")
    second = golden_values_fingerprint(con)
    assert second != first
    assert golden_value_changes(con, kept)["changed"] == 1
    keep_golden_values(con, tmp_path, second)
    assert kept_golden_fingerprint(tmp_path) == second
    assert golden_value_changes(con, kept)["changed"] == 0


@pytest.mark.parametrize("held", [False, True], ids=["hashed_for_each", "hashed_once"])
def test_kept_golden_values_are_updated_customer_by_customer_to_equal_the_lineage(tmp_path, held):
    con = duckdb.connect()
    con.execute("CREATE SCHEMA master")
    con.execute(
        """CREATE TABLE master.attribute_lineage AS FROM (VALUES
               ('C1', 'name', '甲', 'd:1', 'dealers', 'agreed'),
               ('C1', 'phone', '1', 'd:1', 'dealers', 'agreed'),
               ('C2', 'name', '乙', 'd:2', 'dealers', 'only value'),
               ('C3', 'name', '丙', 'd:3', 'dealers', 'only value'))
           t(customer_id, attribute, value, record_key, source, rule)"""
    )
    # a report of before golden_values.duckdb kept them as Parquet: compared with, replaced
    former = tmp_path / "golden_values.parquet"
    con.execute(
        f"COPY (SELECT customer_id, attribute, value FROM master.attribute_lineage) TO '{former}'"
    )
    assert previous_golden_values(tmp_path) == former
    kept = keep_golden_values(con, tmp_path, golden_values_fingerprint(con))
    assert not former.exists() and previous_golden_values(tmp_path) == kept

    def kept_rows() -> list[tuple]:
        with kept_values(con, kept) as values:
            # the hashes kept beside the values are those of the values
            assert con.execute(f"FROM {values.hashes} ORDER BY ALL").fetchall() == (
                con.execute(f"{customer_hashes(values.values)} ORDER BY ALL").fetchall()
            )
            return con.execute(f"FROM {values.values} ORDER BY ALL").fetchall()

    assert (
        kept_rows()
        == con.execute(
            "SELECT customer_id, attribute, value FROM master.attribute_lineage ORDER BY ALL"
        ).fetchall()
    )
    # a day: C1's phone changed, C2 retired, C4 new, C3 untouched
    con.execute("UPDATE master.attribute_lineage SET value = '2' WHERE attribute = 'phone'")
    con.execute("DELETE FROM master.attribute_lineage WHERE customer_id = 'C2'")
    con.execute(
        "INSERT INTO master.attribute_lineage VALUES ('C4', 'name', '丁', 'd:4', 'dealers', 'x')"
    )
    # the report holds this sync's hashes once for the comparison and the keeping
    with live_hashes(con) if held else nullcontext(None) as live:
        changes = golden_value_changes(con, kept, live=live)
        assert [(v["customer_id"], v["before"], v["value"]) for v in changes["values"]] == [
            ("C1", "1", "2")
        ]
        keep_golden_values(con, tmp_path, golden_values_fingerprint(con), live=live)
    assert kept_rows() == [
        ("C1", "name", "甲"),
        ("C1", "phone", "2"),
        ("C3", "name", "丙"),
        ("C4", "name", "丁"),
    ]
    assert golden_value_changes(con, kept)["changed"] == 0


def test_failing_checks_come_first_with_their_examples(tmp_path):
    for name, passed, severity in (
        ("a", True, "error"),
        ("b", False, "warn"),
        ("c", False, "error"),
    ):
        record = {
            "asset": "staging/customers",
            "check": name,
            "passed": passed,
            "severity": severity,
            "description": f"check {name}",
            "metadata": {"examples": ["dealers:1 ×2"]},
        }
        (tmp_path / f"staging.customers.{name}.json").write_text(json.dumps(record))
    checks = read_check_results(tmp_path)
    assert [(c["check"], c["outcome"]) for c in checks] == [
        ("c", "failed"),
        ("b", "warned"),
        ("a", "passed"),
    ]
    assert checks[0]["examples"] == ["dealers:1 ×2"] and checks[2]["examples"] == []


def test_values_from_the_data_are_escaped_in_the_page():
    html = table([{"name": "<script>alert(1)</script>"}], ["name"])
    assert "<script>" not in html and "&lt;script&gt;" in html


# --- the shared demo, one sync -----------------------------------------------------------


def test_a_chart_the_last_page_showed_is_read_back_and_a_changed_one_drawn(tmp_path, monkeypatch):
    drawn: list[dict] = []
    draw = charts._draw

    def counted(spec):
        drawn.append(spec)
        return draw(spec)

    monkeypatch.setattr(charts, "_draw", counted)
    rows = [{"reason": "no phone", "rows": 3}, {"reason": "bad uscc", "rows": 1}]
    changed = [{"reason": "no phone", "rows": 4}, {"reason": "bad uscc", "rows": 1}]
    folder = tmp_path / "charts"
    fresh = charts.svg(charts.bars(rows, "reason", "rows", "reasons"))  # not kept: drawn
    with charts.kept_in(folder):
        first = charts.svg(charts.bars(rows, "reason", "rows", "reasons"))
        other = charts.svg(charts.bars(changed, "reason", "rows", "reasons"))
    assert len(drawn) == 3 and first == fresh and other != first
    with charts.kept_in(folder):
        again = charts.svg(charts.bars(rows, "reason", "rows", "reasons"))
    assert len(drawn) == 3 and again == first  # the same bytes, read back
    assert len(list(folder.glob("*.svg"))) == 1  # the chart this page did not show is gone
    with charts.kept_in(folder):
        charts.svg(charts.bars(changed, "reason", "rows", "reasons"))
    assert len(drawn) == 4  # removed with the page that did not show it: drawn again


def test_every_sync_writes_its_report_and_latest(demo_run, demo_for):
    folder = report_folder(load_config(demo_for(demo_run.folder) / "customer_master.yaml"))
    page = folder / f"{demo_run.outcome.run_id}.html"
    assert page.read_bytes() == (folder / LATEST).read_bytes()
    figures = json.loads((folder / f"{demo_run.outcome.run_id}.json").read_text(encoding="utf-8"))
    # the report is written last: it shows every check of the run
    assert len(figures["quality"]) == len(demo_run.outcome.checks)
    assert figures["headline"]["customers_created"] == figures["headline"]["customers"]
    html = page.read_text(encoding="utf-8")
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")
    for section in ("Sources", "Quality", "Matching", "What changed", "Value and lifecycle"):
        assert section in html
    assert html.count("<svg") >= 12


@pytest.mark.writes_demo
def test_figures_over_unchanged_tables_are_taken_from_the_last_report_the_same_page(
    demo_run, demo_for, monkeypatch
):
    folder = demo_for(demo_run.folder)
    config = load_config(folder / "customer_master.yaml")
    now = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)
    con = duckdb.connect(str(config.warehouse_path))
    read: list[str] = []

    def counted(name):
        real = getattr(build, name)

        def reading(*args, **kwargs):
            read.append(name)
            return real(*args, **kwargs)

        return reading

    for name in ("source_figures", "matching_figures", "standing_value_figures"):
        monkeypatch.setattr(build, name, counted(name))

    def report() -> bytes:
        written = write_sync_report(
            con,
            config,
            "report-twice",
            now,
            read_decisions(config.decisions_path),
            table_fingerprint=lambda table: table_fingerprint(con, *table.split(".")),
        )
        return written.path.read_bytes()

    try:
        # the sync's own report kept its figures under the fingerprints the sync kept: the
        # tables are as they were, no section is read
        first = report()
        assert read == []
        (report_folder(config) / KEPT_FIGURES).unlink()
        assert report() == first  # nothing kept: every section read, the same page
        assert sorted(read) == ["matching_figures", "source_figures", "standing_value_figures"]
        read.clear()
        assert report() == first and read == []
        con.execute(
            "UPDATE matching.pairs SET match_probability = match_probability / 2 "
            "WHERE rowid = (SELECT min(rowid) FROM matching.pairs)"
        )
        changed = report()  # only the section over the changed table is read again
        assert read == ["matching_figures"] and changed != first
        read.clear()
        assert report() == changed and read == []
    finally:
        con.close()


def test_the_report_opens_offline_in_chromium_with_its_charts_drawn(demo_run, demo_for):
    executable = chromium_path()
    if executable is None:
        pytest.skip("no chromium on this machine (Debian: apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")
    page = report_folder(load_config(demo_for(demo_run.folder) / "customer_master.yaml")) / LATEST
    seen = render(page, executable)
    assert seen.requests_refused == []
    assert seen.console_errors == [] and seen.page_errors == []
    assert len(seen.charts) >= 12
    # Vega draws axes, grid lines and text in greys: a chart with no marks has no coloured
    # pixel (measured: 0.0), a drawn one has bars, lines or points in colour (0.2% to 27%)
    shares = [coloured_share(chart) for chart in seen.charts]
    assert min(shares) > 0.001, shares


# --- the shared demo, after a delta that merges two customers and splits a third ----------

#: What the delta sync runs: ingestion to the golden records, and the report. Splink's
#: dashboards, relationships, the marts, publishing and the checks are left out (their tables
#: stay as the first sync left them): they take most of a sync's time, and what the report
#: says of merges and splits does not read them.
SKIPPED_GROUPS = ("marts",)
SKIPPED_ASSETS = (
    dg.AssetKey(["matching", "reports"]),
    dg.AssetKey(["master", "relationships"]),
    dg.AssetKey(["exports", "published"]),
)


def sync_to_report(config_path: Path) -> tuple[str, dict]:
    """Run the sync job on the assets the report reads; the run id and the report's metadata."""
    from pipelines.definitions import build_definitions
    from pipelines.schedules import SYNC_JOB

    defs = build_definitions(config_path)
    graph = defs.resolve_asset_graph()
    chosen = {
        key
        for key in graph.get_all_asset_keys()
        if key not in SKIPPED_ASSETS and graph.get(key).group_name not in SKIPPED_GROUPS
    }
    job = defs.resolve_job_def(SYNC_JOB).get_subset(
        asset_selection=chosen, asset_check_selection=set()
    )
    result = job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )
    (materialised,) = [
        m
        for m in result.get_asset_materialization_events()
        if m.asset_key == dg.AssetKey(["reports", "sync"])
    ]
    metadata = {
        k: getattr(v, "value", v)
        for k, v in materialised.step_materialization_data.materialization.metadata.items()
    }
    return result.run_id, metadata


@pytest.fixture(scope="module")
def delta(build_once, demo_run) -> tuple[Path, Delta, str, dict]:
    """A copy of the shared demo after the delta and a second sync (built once per test run)."""

    def build(folder: Path):
        copy = Path(shutil.copytree(demo_run.folder, folder / demo_run.folder.name))
        change = apply_delta(copy)
        run_id, metadata = sync_to_report(copy / "customer_master.yaml")
        return change, run_id, metadata

    folder, (change, run_id, metadata) = build_once("demo_150_seed3_report_delta", build)
    return folder / demo_run.folder.name, change, run_id, metadata


def test_the_report_after_a_delta_names_the_merged_and_split_customers_with_evidence(delta):
    folder, change, run_id, _ = delta
    reports = report_folder(load_config(folder / "customer_master.yaml"))
    ids = json.loads((reports / f"{run_id}.json").read_text(encoding="utf-8"))["changes"]["ids"]
    (merge,) = [m for m in ids["merged"] if m["customer_id"] == change.merged_id]
    assert merge["related_customer_id"] == change.survivor_id
    assert [r["record_key"] for r in merge["moved_records"]] == [change.merged_record]
    # the evidence is the link that joins the moved record to the survivor's, in the model's words
    (link,) = merge["evidence"]
    assert change.merged_record in (link["record_key_l"], link["record_key_r"])
    assert link["kind"] == "model" and "uscc: same" in link["evidence"]

    (split,) = [s for s in ids["split"] if s["related_customer_id"] == change.split_id]
    parts = {r["record_key"] for r in split["moved_records"] + split["survivor_records"]}
    assert parts == set(change.split_records)
    assert split["evidence"][0]["kind"] == "steward"
    assert "林小燕 decided no_match" in split["evidence"][0]["evidence"]

    html = (reports / LATEST).read_text(encoding="utf-8")
    assert f"{change.merged_id} merged into {change.survivor_id}" in html
    assert f"{split['customer_id']} split from {change.split_id}" in html
    assert "steward 林小燕 decided no_match on 2026-11-30: two shops, two owners" in html
    assert "uscc: same" in html


def test_the_delta_report_compares_with_the_last_sync(delta, demo_run):
    folder, _, run_id, _ = delta
    reports = report_folder(load_config(folder / "customer_master.yaml"))
    figures = json.loads((reports / f"{run_id}.json").read_text(encoding="utf-8"))
    assert figures["changes"]["golden_values"]["compared"] is True
    assert figures["headline"]["customers_created"] == 0  # nothing new came in
    # the first sync's figures are drawn beside this one's
    assert "last 2 syncs" in (reports / LATEST).read_text(encoding="utf-8")


def test_the_dagster_run_links_the_report_and_carries_the_headline_figures(delta):
    folder, change, run_id, metadata = delta
    page = report_folder(load_config(folder / "customer_master.yaml")) / f"{run_id}.html"
    assert metadata["report"] == page.as_uri()
    assert metadata["customers_merged"] >= 1 and metadata["customers_split"] >= 1
    assert isinstance(metadata["customer_rows_received"], int)


def test_explain_says_why_the_records_are_one_customer_and_where_values_came_from(delta):
    folder, change, _, _ = delta
    config = load_config(folder / "customer_master.yaml")
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        merged = explain_customer(
            con,
            change.merged_id,
            read_decisions(config.decisions_path),
            config.matching.upper_threshold,
        )
        split = explain_customer(
            con, change.split_id, empty_decisions(), config.matching.upper_threshold
        )
    assert merged.status == "merged" and merged.customer_id == change.survivor_id
    assert change.merged_record in {r["record_key"] for r in merged.records}
    # as many holding links as it takes to join every record, no more
    assert len(merged.links) == len(merged.records) - 1
    assert any(
        change.merged_record in (link["record_key_l"], link["record_key_r"])
        for link in merged.links
    )
    assert {g["attribute"] for g in merged.golden_values} >= {"name", "uscc"}
    assert all(
        g["record_key"] in {r["record_key"] for r in merged.records} for g in merged.golden_values
    )
    assert any(f"absorbed {change.merged_id}" in h["what"] for h in merged.history)
    assert any("split from it" in h["what"] for h in split.history)
    assert len(split.records) == 1 and split.links == []


def test_explain_on_the_command_line_prints_json_and_filters_history(delta, capsys):
    folder, change, _, _ = delta
    config = str(folder / "customer_master.yaml")
    assert main(["explain", change.survivor_id, "--config", config, "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["customer_id"] == change.survivor_id and answer["history"]
    assert main(["explain", change.survivor_id, "--config", config, "--since", "2999-01-01"]) == 0
    assert "history:\n  nothing" in capsys.readouterr().out
    assert main(["explain", "CM99999999", "--config", config]) == 1

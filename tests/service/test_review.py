"""The stewards' review page over the shared demo's queue: decide several pairs at once,
written to the decisions file with who and when, undo, and decided pairs leave the page."""

import html
import re

import pytest
from fastapi.testclient import TestClient

from matching.linkage.decisions import read_decisions
from service.api import create_app


@pytest.fixture
def review(holder, tmp_path):
    decisions = tmp_path / "steward_decisions.csv"
    with TestClient(create_app(holder, decisions)) as client:
        yield client, decisions


def pair_fields(page: str) -> list[str]:
    return [html.unescape(k) for k in re.findall(r"name='(pair:[^']+)' value='match'", page)]


def test_the_queue_comes_with_the_pairs_that_move_most_records_first(review):
    client, _ = review
    page = client.get("/review").text
    affected = [int(n) for n in re.findall(r"· (\d+) record\(s\) affected", page)]
    assert len(affected) >= 2 and affected == sorted(affected, reverse=True)
    assert "Evidence: " in page and "name:" in page


def test_several_decisions_at_once_are_written_with_who_and_when_then_undone(review):
    client, decisions = review
    fields = pair_fields(client.get("/review").text)
    form = {"who": "林小燕", "note": "same shop", fields[0]: "match", fields[1]: "no_match"}
    form |= {key: "skip" for key in fields[2:]}
    page = client.post("/review", data=form, follow_redirects=True)
    assert "Decided 2 pair(s)" in page.text
    table = read_decisions(decisions).table
    assert sorted(table["decision"]) == ["match", "no_match"]
    assert set(table["decided_by"]) == {"林小燕"} and table["decided_at"].notna().all()
    assert fields[0] not in pair_fields(page.text)  # decided pairs leave the page
    token = re.search(r"name='batch' value='([^']+)'", page.text)
    assert token is not None
    undone = client.post("/review/undo", data={"batch": token.group(1)}, follow_redirects=True)
    assert "Took back 2 decision(s)" in undone.text
    assert len(read_decisions(decisions)) == 0
    assert fields[0] in pair_fields(undone.text)


def test_decisions_without_a_name_are_refused_and_nothing_is_written(review):
    client, decisions = review
    fields = pair_fields(client.get("/review").text)
    page = client.post("/review", data={"who": " ", fields[0]: "match"}, follow_redirects=True)
    assert "Name yourself" in page.text
    assert not decisions.exists()

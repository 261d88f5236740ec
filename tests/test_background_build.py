"""A shared build made in a process of its own (``tests/background_build.py``) is what
``build_once`` hands the tests, made once; one that fails is reported, not made again. The
shared demo's run is made so, and the tests on the shared runs come after the others."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.background_build import build_in_background
from tests.shared_runs import DEMO, DEMO_RUN, SPARK_RUN, build_name, put_in_run_order

DAGSTER_YAML = "telemetry:\n  enabled: false\n"


def dagster_yaml(home: Path) -> str:
    """The build's ``dagster.yaml``: these builds record no Dagster run."""
    return DAGSTER_YAML


def write_note(folder: Path, text: str) -> dict[str, str]:
    """A build: one file in its folder, and what it wrote, with its Dagster home."""
    (folder / "note.txt").write_text(text, encoding="utf-8")
    return {"text": text, "home": os.environ["DAGSTER_HOME"]}


def fail(folder: Path, text: str) -> None:
    raise RuntimeError(f"no {text} today")


def test_a_build_made_in_the_background_is_what_build_once_returns(built_root, build_once):
    name = f"note_{uuid.uuid4().hex[:8]}"
    target = "tests.test_background_build:write_note"
    process = build_in_background(built_root, name, target, {"text": "hello"}, dagster_yaml)
    assert process is not None
    # a second start (another worker) finds it started
    assert build_in_background(built_root, name, target, {"text": "other"}, dagster_yaml) is None
    folder, value = build_once(name, lambda folder: pytest.fail("built again in the test"))
    assert process.wait(timeout=60) == 0
    assert (folder / "note.txt").read_text(encoding="utf-8") == "hello"
    assert value == {"text": "hello", "home": str(built_root / f"{name}.dagster_home")}
    assert "built in" in (built_root / f"{name}.log").read_text(encoding="utf-8")


def test_a_background_build_that_failed_is_reported_and_not_made_again(built_root, build_once):
    name = f"failing_{uuid.uuid4().hex[:8]}"
    target = "tests.test_background_build:fail"
    process = build_in_background(built_root, name, target, {"text": "note"}, dagster_yaml)
    assert process is not None
    assert process.wait(timeout=60) != 0
    with pytest.raises(pytest.fail.Exception, match="RuntimeError: no note today"):
        build_once(name, lambda folder: pytest.fail("built again in the test"))


def test_the_tests_on_the_shared_runs_come_after_the_others_in_their_order():
    def test(name: str, *fixtures: str) -> SimpleNamespace:
        return SimpleNamespace(name=name, fixturenames=["tmp_path", *fixtures])

    items = [
        test("spark", SPARK_RUN, DEMO_RUN),
        test("demo", DEMO_RUN),
        test("plain"),
        test("demo again", "demo_rerun", DEMO_RUN),
        test("plain again", "build_once"),
    ]
    put_in_run_order(items)
    assert [item.name for item in items] == ["plain", "plain again", "demo", "demo again", "spark"]


def test_the_shared_demo_is_run_in_a_process_of_its_own(demo_run, built_root):
    name = build_name(**DEMO)
    assert demo_run.folder == built_root / name
    started_by = int((built_root / f"{name}.started").read_text(encoding="utf-8"))
    assert started_by != os.getpid()
    assert f"{name} built in" in (built_root / f"{name}.log").read_text(encoding="utf-8")

"""The runs the tests share: the demo's whole pipeline run (fixture ``demo_run`` in
``tests/conftest.py``) and the same demo run on a Spark cluster (``demo_spark_run``). Each is
made once per test run, in a process of its own from the test run's start
(``tests/background_build.py``), and the tests that read them run after the others."""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: The fixtures of the shared runs.
DEMO_RUN = "demo_run"
SPARK_RUN = "demo_spark_run"

#: The demo both runs run.
DEMO = {"customers": 150, "seed": 3}


def build_name(customers: int, seed: int) -> str:
    """The name ``build_once`` keeps the demo of ``customers`` customers (``seed``) under."""
    return f"demo_{customers}_seed{seed}"


def run_demo(folder: Path, customers: int, seed: int) -> Any:
    """The demo of ``customers`` customers (``seed``) generated into the empty ``folder`` and
    run whole by the pipeline; returns the run's outcome (``pipelines.runner.RunOutcome``),
    whether it succeeded is for the tests to assert."""
    from pipelines.runner import run_pipeline
    from sources.demo import generate_demo

    generate_demo(folder, customers=customers, seed=seed)
    return run_pipeline(folder / "customer_master.yaml")


def reads(item: Any, fixture: str) -> bool:
    """Whether the test ``item`` uses ``fixture``, itself or through another fixture."""
    return fixture in getattr(item, "fixturenames", ())


def put_in_run_order(items: list[Any]) -> None:
    """The tests on the shared demo's run after the others, those on the shared Spark run
    last, otherwise in their order. While both runs are made (the demo's, a whole pipeline
    run, about 50 s; the Spark run, the longest build, minutes) the workers run the tests
    that need neither, so no worker waits idle for a build, and the Spark run is read when
    nothing else is left to do."""
    items.sort(key=lambda item: (reads(item, SPARK_RUN), reads(item, DEMO_RUN)))

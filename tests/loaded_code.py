"""A test process's cycle collector as a ``custmaster`` process's (``pipelines.collector``):
the code a test process has loaded is frozen out of the collections, which walk only what
the tests make (a pytest plugin, ``pytest_plugins`` in ``tests/conftest.py``).

Each full collection walks every container object the process holds, and a test process
holds far more loaded code than a sync (every test module, and through them Dagster,
pandas, DuckDB, Splink, Hypothesis; then Great Expectations, imported when a check first
runs), none of which ever becomes garbage. So, as the ``custmaster`` command does: no
collection while the test modules load, then what is loaded is frozen
(``pipelines.collector``); and after a test that imported code the process had not loaded
yet, what the process holds is collected, and the rest frozen too.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator

import pytest

from pipelines import collector

#: How many modules the process had loaded when it last froze what it held.
_frozen_with = {"modules": 0}


@pytest.hookimpl(wrapper=True)
def pytest_collection(session: pytest.Session) -> Iterator[object]:
    """No collection while the test modules, and the code they import, load; then frozen."""
    collector.hold()
    try:
        return (yield)
    finally:
        collector.loaded()
        _frozen_with["modules"] = len(sys.modules)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After a test that loaded more code (its fixtures torn down): collect, then freeze what
    is left, the new code with it."""
    try:
        return (yield)
    finally:
        if len(sys.modules) > _frozen_with["modules"]:
            gc.collect()
            gc.freeze()
            _frozen_with["modules"] = len(sys.modules)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Everything collectable again as the process ends: DuckDB's bindings report the objects
    of theirs still alive at exit, and frozen ones never die."""
    gc.unfreeze()

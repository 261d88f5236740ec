"""The cycle collector of a ``custmaster`` process: held while the code loads, the loaded code
frozen out of the run's collections, nothing walked at exit; a caller of ``main`` unaffected."""

import gc
import sys
from collections.abc import Iterator

import pytest

from pipelines import cli, collector


@pytest.fixture(autouse=True)
def _collector_as_it_was() -> Iterator[None]:
    """Each test starts with nothing frozen, as a process that has frozen nothing yet; after
    it, the collector is as it was, what the test process had frozen (its loaded code,
    ``tests/loaded_code.py``) frozen again."""
    enabled = gc.isenabled()
    frozen = gc.get_freeze_count()
    gc.unfreeze()
    yield
    gc.unfreeze()
    if frozen:
        gc.freeze()
    collector._held = False
    if enabled:
        gc.enable()
    else:
        gc.disable()


def _in_a_generation(obj: object) -> bool:
    """Whether ``obj`` is in one of the collected generations (not the permanent one)."""
    return any(o is obj for generation in range(3) for o in gc.get_objects(generation))


def test_held_until_loaded_then_what_was_loaded_is_frozen_and_the_rest_collected():
    collector.hold()
    assert not gc.isenabled()
    loaded_before = [[]]  # a container the collector tracks
    collector.loaded()
    assert gc.isenabled()
    assert not _in_a_generation(loaded_before)
    made_after = [[]]
    assert _in_a_generation(made_after)

    class Cycle:
        pass

    cycle = Cycle()
    cycle.me = cycle  # type: ignore[attr-defined]
    del cycle
    assert gc.collect() >= 1  # the run's own garbage is still collected


def test_loaded_without_hold_changes_nothing():
    frozen = gc.get_freeze_count()
    obj = [[]]
    collector.loaded()
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen
    assert _in_a_generation(obj)


def test_the_command_holds_collection_until_the_run_has_loaded(monkeypatch):
    seen: list[bool] = []

    def run(_args) -> int:
        seen.append(gc.isenabled())
        collector.loaded()  # as run_pipeline does once its definitions are built
        seen.append(gc.isenabled())
        return 0

    monkeypatch.setattr(cli, "cmd_run", run)
    monkeypatch.setattr(sys, "argv", ["custmaster", "run"])
    frozen = gc.get_freeze_count()
    assert cli.console() == 0
    assert seen == [False, True]
    assert gc.get_freeze_count() > frozen  # exiting: everything frozen


def test_other_commands_collect_from_their_start(monkeypatch):
    seen: list[bool] = []

    def explain(_args) -> int:
        seen.append(gc.isenabled())
        return 0

    monkeypatch.setattr(cli, "cmd_explain", explain)
    monkeypatch.setattr(sys, "argv", ["custmaster", "explain", "C-1"])
    assert cli.console() == 0
    assert seen == [True]


def test_main_called_in_process_leaves_the_callers_collector_alone(monkeypatch):
    seen: list[bool] = []

    def run(_args) -> int:
        seen.append(gc.isenabled())
        collector.loaded()
        return 0

    monkeypatch.setattr(cli, "cmd_run", run)
    frozen = gc.get_freeze_count()
    assert cli.main(["run"]) == 0
    assert seen == [True]
    assert gc.get_freeze_count() == frozen

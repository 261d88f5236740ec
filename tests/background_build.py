"""A shared build made in a process of its own while the tests run.

:func:`build_in_background` starts ``python -m tests.background_build ROOT NAME
MODULE:FUNCTION KWARGS_JSON``, which does what ``build_once(NAME, build)`` in
``tests/conftest.py`` does, in that process: it takes the build's lock in ROOT (the folder
``build_once`` keeps its builds in), fills an empty ``ROOT/NAME`` with
``FUNCTION(folder, **kwargs)`` and pickles the value beside it, so the first test that asks
``build_once`` for NAME waits for the lock and reads what that process built. It says it
holds the lock by writing ``ROOT/NAME.started``; a build that raises leaves its traceback
in ``ROOT/NAME.error`` (``build_once`` reports it instead of building again) and its output
in ``ROOT/NAME.log``. The process stops, and with it what it started (a Spark cluster), when
the test process that started it ends first. Its cycle collector is a ``custmaster run``'s
(``pipelines.collector``): held until the build's run has loaded its code and definitions
(``run_pipeline`` says so), which are then frozen out of the run's collections.
"""

from __future__ import annotations

import importlib
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from filelock import FileLock

from pipelines import collector

#: The project's folder, from which ``python -m tests.background_build`` imports.
PROJECT = Path(__file__).parents[1]


def build_in_background(
    root: Path,
    name: str,
    target: str,
    kwargs: dict[str, Any],
    dagster_yaml: Callable[[Path], str],
) -> subprocess.Popen | None:
    """Start the build ``build_once`` knows as ``name`` in a process of its own
    (``tests/background_build.py``: ``target``, a ``module:function``, called with the
    folder and ``kwargs``), unless a worker started it already or it is built; ``root`` is
    ``build_once``'s folder. Returns the process once it holds the build's lock (so a
    ``build_once(name, ...)`` from then on waits for it), or None. The process has a Dagster
    home of its own (``ROOT/NAME.dagster_home``, its ``dagster.yaml`` what ``dagster_yaml``
    returns for that folder) and this process's
    temporary folder."""
    with FileLock(str(root / f"{name}.start.lock")):
        started = root / f"{name}.started"
        if started.exists() or (root / f"{name}.pickle").exists():
            return None
        home = root / f"{name}.dagster_home"  # its own: no SQLite file shared with a worker
        home.mkdir(exist_ok=True)
        (home / "dagster.yaml").write_text(dagster_yaml(home), encoding="utf-8")
        with (root / f"{name}.log").open("w", encoding="utf-8") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.background_build", str(root), name, target]
                + [json.dumps(kwargs)],
                cwd=PROJECT,
                env={**os.environ, "DAGSTER_HOME": str(home), "TMPDIR": tempfile.gettempdir()},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        while not started.exists() and process.poll() is None:
            time.sleep(0.05)
        return process


def _stop_with_parent() -> None:
    """SIGTERM to this process when the process that started it is gone (reparented)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True).start()


def _exit_on_sigterm(signum: int, frame: object) -> NoReturn:
    raise SystemExit(128 + signum)  # unwinds the build: its context managers clean up


def main(root: Path, name: str, target: str, kwargs: dict) -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    _stop_with_parent()
    folder, value, error = root / name, root / f"{name}.pickle", root / f"{name}.error"
    with FileLock(str(root / f"{name}.lock")):
        (root / f"{name}.started").write_text(str(os.getpid()), encoding="utf-8")
        if value.exists():
            return 0
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        module, function = target.split(":")
        started = time.monotonic()
        try:
            built = getattr(importlib.import_module(module), function)(folder, **kwargs)
        except BaseException:
            error.write_text(traceback.format_exc(), encoding="utf-8")
            raise
        value.write_bytes(pickle.dumps(built))
    print(f"{name} built in {time.monotonic() - started:.1f} s")  # noqa: T201 - in its log
    return 0


if __name__ == "__main__":
    root_arg, name_arg, target_arg, kwargs_arg = sys.argv[1:]
    collector.hold()  # until the build's run has loaded (``run_pipeline``), as ``custmaster run``
    try:
        sys.exit(main(Path(root_arg), name_arg, target_arg, json.loads(kwargs_arg)))
    finally:
        collector.exiting()

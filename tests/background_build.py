"""A shared build made in a process of its own while the tests run (``build_in_background``
in ``tests/conftest.py``).

``python -m tests.background_build ROOT NAME MODULE:FUNCTION KWARGS_JSON`` does what
``build_once(NAME, build)`` does, in this process: it takes the build's lock in ROOT (the
folder ``build_once`` keeps its builds in), fills an empty ``ROOT/NAME`` with
``FUNCTION(folder, **kwargs)`` and pickles the value beside it, so the first test that asks
``build_once`` for NAME waits for the lock and reads what this process built. It says it
holds the lock by writing ``ROOT/NAME.started``; a build that raises leaves its traceback
in ``ROOT/NAME.error`` (``build_once`` reports it instead of building again). The process
stops, and with it what it started (a Spark cluster), when the test process that started
it ends first. ``$DAGSTER_HOME`` is the build's own Dagster home.
"""

from __future__ import annotations

import importlib
import json
import os
import pickle
import shutil
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import NoReturn

from filelock import FileLock


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
    sys.exit(main(Path(root_arg), name_arg, target_arg, json.loads(kwargs_arg)))

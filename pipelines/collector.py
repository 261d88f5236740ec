"""Python's cycle collector in a ``custmaster`` process of its own.

The collector walks every container object the process holds each time it collects the
oldest generation. A sync holds some 220,000 of them before its first step (the modules of
Dagster, pandas, DuckDB, Altair and Splink, the Dagster definitions), none of which ever
becomes garbage, and walked them over and over: five full collections while the code
loaded and the steps ran (1.0 s of a sync on unchanged files at 100k records, load average
11) and several more when the interpreter tears its modules down at exit (0.5-1 s more).

So the ``custmaster`` command (:func:`pipelines.cli.console`, never a test or another
program calling :func:`pipelines.cli.main`) does what Python's documentation of
``gc.freeze`` describes: no collection while the code loads (:func:`hold`), then what is
loaded is frozen (moved to the permanent generation, out of every later collection) and
collection resumes for the run's own objects (:func:`loaded`); at exit everything is frozen
(:func:`exiting`): the process ends, and the operating system takes its memory back whole.
"""

from __future__ import annotations

import gc

_held = False


def hold() -> None:
    """No cycle collection until :func:`loaded` (the process's start: its code loading)."""
    global _held
    if gc.isenabled():
        gc.disable()
        _held = True


def loaded() -> None:
    """The code is loaded: freeze what the process holds and collect again from here on.
    Does nothing unless :func:`hold` stopped collection (a test calling the CLI in-process
    keeps its collector as it was)."""
    global _held
    if _held:
        gc.freeze()
        gc.enable()
        _held = False


def exiting() -> None:
    """The process is about to end: no collection walks what it holds while it tears down."""
    gc.freeze()

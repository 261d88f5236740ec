"""What ``custmaster`` prints to the console: the project's own progress, and from libraries
only their warnings and errors.

Why a filter on the handler and not levels on library loggers: the chatter comes from
loggers we do not own and cannot list in advance. Creating the project-local Dagster
instance on SQLite runs Alembic's migrations, which log at INFO through ``alembic.*``
("setup plugin alembic.autogenerate.schemas", "Context impl SQLiteImpl.", "Will assume
non-transactional DDL.", "Running stamp_revision  -> …"): about 30 lines before the first
line a person needs on a fresh ``.dagster_home``. Great Expectations sets one of its module
loggers to INFO itself ("Created temporary directory … for ephemeral docs site"), so
lowering its parent logger does not silence it. A filter on our one handler that lets INFO
through only for the project's packages holds whatever a library does with its levels.
``--verbose`` drops the filter: DEBUG from every logger (Alembic's migrations included),
except a few that are loud even then (Dagster, Great Expectations, urllib3, asyncio: warnings
only).
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

#: Top-level logger names of the project (``logging.getLogger(__name__)`` in these
#: packages, and the command line's own ``custmaster`` logger)
PROJECT_LOGGERS = frozenset(
    {"custmaster", "sources", "matching", "quality", "warehouse", "assets", "pipelines", "service"}
)


class ProjectProgressOnly(logging.Filter):
    """Pass every record of the project's loggers, and library records from WARNING up."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name.split(".", 1)[0] in PROJECT_LOGGERS


class _ConsoleHandler(logging.StreamHandler):
    """The handler ``setup_console_logging`` installs; marked so a second call replaces it."""


def setup_console_logging(verbose: bool = False, stream: TextIO | None = None) -> logging.Handler:
    """Log to ``stream`` (standard error): progress lines with a time, no library chatter.

    Args:
        verbose: no filter; DEBUG from every logger but the loudest libraries.
        stream: where to write; standard error when not given.

    Returns:
        The handler installed on the root logger (replacing one installed before).

    Examples:
        >>> handler = setup_console_logging()
        >>> logging.getLogger("alembic.runtime.migration").info("Context impl SQLiteImpl.")  # dropped
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _ConsoleHandler)]:
        root.removeHandler(old)
    handler = _ConsoleHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
    if not verbose:
        handler.addFilter(ProjectProgressOnly())
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for loud in ("dagster", "great_expectations", "urllib3", "asyncio"):
        logging.getLogger(loud).setLevel(logging.WARNING)
    # Splink warns about every level a small sample leaves untrained; the training summary
    # (models/<type>/vNNNN.summary.json) and matching.linkage.training's log say what matters
    logging.getLogger("splink").setLevel(logging.ERROR)
    return handler

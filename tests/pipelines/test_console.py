"""The console of ``custmaster``: progress and summary, not the libraries' chatter."""

import io
import logging

import pytest
import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext

from pipelines.console import setup_console_logging


def _console(verbose: bool) -> tuple[io.StringIO, logging.Handler]:
    buffer = io.StringIO()
    return buffer, setup_console_logging(verbose=verbose, stream=buffer)


@pytest.fixture(autouse=True)
def _restore_root_logger():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)


def _migrate_sqlite() -> None:
    """What Dagster's SQLite storage does on a fresh instance: Alembic logs at INFO."""
    with sa.create_engine("sqlite://").connect() as connection:
        MigrationContext.configure(connection)


def test_a_sqlite_migration_prints_no_alembic_lines():
    console, _ = _console(verbose=False)
    _migrate_sqlite()
    assert console.getvalue() == ""


def test_verbose_shows_the_migration_lines():
    console, _ = _console(verbose=True)
    _migrate_sqlite()
    assert "Context impl SQLiteImpl." in console.getvalue()


def test_library_info_stays_off_the_console_and_progress_and_warnings_show():
    console, _ = _console(verbose=False)
    chatty = logging.getLogger("great_expectations.data_context.types.base")
    chatty.setLevel(logging.INFO)  # as Great Expectations does itself
    chatty.info("Created temporary directory for ephemeral docs site")
    logging.getLogger("sources.ingest").info("read dealers.csv: 32 rows")
    logging.getLogger("custmaster").info("demo exports written")
    logging.getLogger("alembic").warning("a library's warning still shows")

    lines = [line.split(" ", 1)[1] for line in console.getvalue().splitlines()]
    assert lines == [
        "read dealers.csv: 32 rows",
        "demo exports written",
        "a library's warning still shows",
    ]


def test_setting_up_twice_keeps_one_console_handler():
    first, _ = _console(verbose=False)
    second, _ = _console(verbose=False)
    logging.getLogger("custmaster").info("once")
    assert first.getvalue() == ""
    assert second.getvalue().count("once") == 1

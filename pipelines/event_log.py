"""Dagster's SQLite event log with its databases kept open between events.

Every step of a sync writes a handful of events to the instance's event log (step start
and success, materialisations, check results, the step's own log lines; at run start one
"planned" event per asset): about 550 events per sync. Dagster's own SQLite event log
(``SqliteEventLogStorage``) opens the run's database (and, for asset events, the index
database) afresh for every event and closes it after one insert. Closing the last
connection to a database in WAL mode checkpoints it into the main file, so each event
paid an open, a commit and a checkpoint: 3.2 s of a 7.7 s sync on unchanged files of a
2,000-customer demo, about 5.8 ms an event whatever the size of the warehouse.

This storage is Dagster's, same files and same tables, except that it keeps one open
connection per database for the few databases in use (the index and the latest runs'),
so an event costs its insert and its commit, and that its commits do not wait for the
disk (``PRAGMA synchronous = NORMAL``; 1,448 commits took 1.6 s of a sync at 100k records
with Dagster's ``FULL``): in WAL mode a database so written is never corrupted, and what a
power cut can lose is the last events written before it, of a run it stopped anyway.
It also remembers which of the index's tables it has found (:meth:`has_table`): Dagster asks
before storing every asset and check event whether its tables exist, each time on a
connection of its own (about 300 a sync, 0.15-0.25 s of CPU at 100k records).
Other processes (``dagster dev``, the daemon) read and write the same files as before:
SQLite in WAL mode lets readers in while a connection is open, and a writer waits for the
lock as it did.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

#: Databases kept open at once: the index and a few runs' (a long-lived process such as the
#: webserver reads many runs; the least recently used is closed beyond this).
KEPT_OPEN = 4


class KeptOpenSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` whose databases stay open between events (see the module).

    Configured in ``$DAGSTER_HOME/dagster.yaml`` (``pipelines.instance``)::

        event_log_storage:
          module: pipelines.event_log
          class: KeptOpenSqliteEventLogStorage
          config:
            base_dir: <DAGSTER_HOME>/history/runs/
    """

    def __init__(self, base_dir: str, inst_data=None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._tables_found: set[str] = set()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> KeptOpenSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # as Dagster's, one transaction at a time under the storage's lock; only the engine
        # (and its one connection) outlives the transaction
        with self._db_lock:
            engine = self._engine(shard)
            with engine.connect() as conn:
                with conn.begin():
                    yield conn

    def has_table(self, table_name: str) -> bool:
        """Whether the index database has ``table_name``, asked of the database (Dagster's way,
        on a connection of its own) until it is found once: a table the schema migrations
        created is not dropped again while this storage lives (:meth:`wipe` forgets)."""
        if table_name in self._tables_found:
            return True
        found = super().has_table(table_name)
        if found:
            self._tables_found.add(table_name)
        return found

    def _engine(self, shard: str) -> Engine:
        """The open engine of ``shard``'s database (created, and the database initialised,
        at first use), the least recently used one closed beyond :data:`KEPT_OPEN`."""
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        engine = create_engine(
            self.conn_string_for_shard(shard),
            poolclass=StaticPool,
            # used by one thread at a time (the storage's lock), not always the same one
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        )
        event.listen(engine, "connect", _commit_without_waiting_for_the_disk)
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        self._engines[shard] = engine
        while len(self._engines) > KEPT_OPEN:
            _, oldest = self._engines.popitem(last=False)
            oldest.dispose()
        return engine

    def _close_all(self) -> None:
        with self._db_lock:
            while self._engines:
                _, engine = self._engines.popitem()
                engine.dispose()

    def wipe(self) -> None:
        self._close_all()  # the run databases are deleted: no connection may outlive them
        self._tables_found.clear()
        super().wipe()

    def dispose(self) -> None:
        self._close_all()
        super().dispose()


def _commit_without_waiting_for_the_disk(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()

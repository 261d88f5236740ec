"""Role-scoped publishing: each role's own copy of the published tables, cut and masked.

After the main export, every role of ``access.roles`` gets
``<output_dir>/exports/roles/<name>/``: every table of ``publish.tables`` as Parquet,
holding only the role's customers (``warehouse.access.scope``) with personal data masked
when the role says ``pii: masked`` (``warehouse.access.masking``), its own
``_manifest.json`` (plus ``role``, ``pii``, ``rows`` and the tables ``withheld`` from it,
with why), and ``<name>.duckdb`` for analysts. The files are written exactly as the main
export writes its own (``warehouse.publish.publish_queries``: temporary files renamed
into place, the manifest last), so a reader never sees half a set, and the same master
gives the same bytes.

Why a database file per role and not views: DuckDB has no users or grants, so a view in
the warehouse restricts nothing; whoever may open the file reads every table under the
view. A file per role holds only the role's rows and masks, and the operating system's
permissions on ``exports/roles/<name>/`` decide who reads it. It is a copy of the role's
Parquet files (tables, not views over them, so it opens alone), written under a
temporary name and renamed into place, and made read-only (mode 0444): analysts open it
with ``duckdb.connect(path, read_only=True)`` and nothing they run changes it.

Folders of roles no longer in the config are removed, so a removed role leaves no copy
of the master behind.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Collection, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from sources.config import RoleConfig
from warehouse.access.masking import masking_functions
from warehouse.access.scope import (
    RoleRelations,
    hidden_records_query,
    role_query,
    scope_query,
    visible_records_query,
)
from warehouse.files import temporary_beside
from warehouse.publish import Publication, publish_queries, read_manifest
from warehouse.store import qualified, table_exists
from warehouse.views import CURRENT_RECORDS

log = logging.getLogger(__name__)

#: The warehouse tables a role's set is cut by, beside the published tables themselves: its
#: scope (customers, the current records and their customers) and the relationships a
#: role sees. A role's file of a published table whose rows, these and the role's config
#: are unchanged since the file was written is kept (``publish_role_sets(unchanged=...)``).
ROLE_SCOPE_TABLES = (
    "master.customers",
    "staging.customers",
    "master.customer_xref",
    "master.relationships",
)

#: The temporary tables holding the in-scope customer IDs of the role being published, the
#: record keys it sees and the record keys it does not.
SCOPE_TABLE = "__access_scope"
VISIBLE_TABLE = "__access_records"
HIDDEN_TABLE = "__access_hidden"


def publish_role_sets(
    con: duckdb.DuckDBPyConnection,
    roles: list[RoleConfig],
    tables: list[str],
    root: Path,
    run_id: str,
    published_at: datetime,
    unchanged: Mapping[str, Collection[str]] | None = None,
) -> dict[str, Publication]:
    """Publish each role's set of ``tables`` (``publish.tables``) in ``root/<role>/``
    (``exports/roles``); role name → its publication. Folders of other roles are removed
    (all of them when ``roles`` is empty: a config without ``access:``).

    ``unchanged``: role name → those of ``tables`` whose rows, ``ROLE_SCOPE_TABLES`` and the
    role's config are those the role's file of the table was last written from: each such
    file still as the set's manifest lists it is kept, the others are exported again; the
    role's database is kept when its files are the ones it was made from (a day that
    changed the orders only cuts and masks the order marts again, not the customers)."""
    remove_other_role_sets(root, {role.name for role in roles})
    if not roles:
        return {}
    published = {}
    with masking_functions(con):
        for role in roles:
            published[role.name] = _publish_role(
                con,
                role,
                tables,
                root / role.name,
                run_id,
                published_at,
                (unchanged or {}).get(role.name, ()),
            )
    return published


def _publish_role(
    con: duckdb.DuckDBPyConnection,
    role: RoleConfig,
    tables: list[str],
    folder: Path,
    run_id: str,
    published_at: datetime,
    unchanged: Collection[str] = (),
) -> Publication:
    previous = _previous_manifest(folder)
    derived = "derived_from_record_key" in _columns(con, "staging.customers")
    known = [CURRENT_RECORDS]
    if table_exists(con, "master", "customer_xref"):
        known.append("master.customer_xref")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {SCOPE_TABLE} AS "
        f"{scope_query(role.rows, 'master.customers', CURRENT_RECORDS)}"
    )
    try:
        if role.rows is not None:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {VISIBLE_TABLE} AS "
                f"{visible_records_query(SCOPE_TABLE, CURRENT_RECORDS, derived)}"
            )
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {HIDDEN_TABLE} AS "
                f"{hidden_records_query(VISIBLE_TABLE, known)}"
            )
        relations = RoleRelations(
            scope=SCOPE_TABLE,
            records=CURRENT_RECORDS,
            visible=VISIBLE_TABLE,
            hidden=HIDDEN_TABLE,
            relationships=(
                "master.relationships" if table_exists(con, "master", "relationships") else None
            ),
        )
        queries: dict[str, str] = {}
        withheld: dict[str, str] = {}
        for table in tables:
            cut = role_query(role, table, _columns(con, table), relations)
            if cut.sql is None:
                withheld[table.split(".", 1)[1]] = str(cut.withheld)
            else:
                queries[table] = cut.sql
        extra = {"role": role.name, "pii": role.pii, "rows": role.rows, "withheld": withheld}
        publication = publish_queries(
            con,
            queries,
            folder,
            run_id,
            published_at,
            extra=extra,
            before_manifest=lambda done: {"database": _role_database(done, role.name, previous)},
            unchanged=unchanged,
        )
    finally:
        for temporary in (SCOPE_TABLE, VISIBLE_TABLE, HIDDEN_TABLE):
            con.execute(f"DROP TABLE IF EXISTS {temporary}")
    log.info("role %s (%s): %s", role.name, role.pii, {t.name: t.rows for t in publication.tables})
    return publication


def _previous_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of the role set in ``folder``; None when there is none to read."""
    try:
        return read_manifest(folder)
    except (OSError, ValueError):
        return None


def _role_database(publication: Publication, role: str, previous: dict[str, Any] | None) -> str:
    """The role's database file: the one of the ``previous`` manifest when it lists the
    same files, byte for byte (their SHA-256), and the file is there; else written again."""
    if previous is not None:
        name = previous.get("database")
        listed = previous.get("tables")
        files = {t.name: t.sha256 for t in publication.tables}
        if (
            isinstance(name, str)
            and name == f"{role}.duckdb"
            and isinstance(listed, dict)
            and {n: e.get("sha256") for n, e in listed.items() if isinstance(e, dict)} == files
            and len(listed) == len(files)
            and (publication.directory / name).is_file()
        ):
            return name
    return write_role_database(publication, role)


def write_role_database(publication: Publication, role: str) -> str:
    """``<role>.duckdb`` beside the role's Parquet files, holding them as tables; read-only.
    Returns the file's name."""
    path = publication.directory / f"{role}.duckdb"
    temporary = temporary_beside(path)
    temporary.unlink()  # DuckDB creates the file itself
    try:
        with duckdb.connect(str(temporary)) as db:
            for table in publication.tables:
                db.execute(
                    f"CREATE TABLE {table.name} AS FROM read_parquet(?)",
                    [str(publication.directory / table.file)],
                )
        os.chmod(temporary, 0o444)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
        Path(f"{temporary}.wal").unlink(missing_ok=True)
    return path.name


def remove_other_role_sets(root: Path, keep: set[str]) -> None:
    """Remove the folders under ``root`` of roles not in ``keep``."""
    if not root.is_dir():
        return
    for folder in root.iterdir():
        if folder.is_dir() and folder.name not in keep:
            shutil.rmtree(folder)
            log.info("removed the exports of role %s: no longer in the config", folder.name)


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Column name → DuckDB type of ``schema.table``."""
    described = con.execute(f"DESCRIBE {qualified(*table.split('.', 1))}").fetchall()
    return {str(row[0]): str(row[1]) for row in described}

"""The duplicate check's files in a serving index: models, junk limits and check indexes.

The pipeline writes them after every sync (``write_check_files``) from the master it just
built, with the scoring statement Splink generates for each model; the HTTP service loads
a ``DuplicateChecker`` from them (``load_check_files``) without the warehouse, without
preparing a record and without building a Splink linker; what the standardisers load on
first use is loaded meanwhile (``warm_up``), so the first check is as fast as the next.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

import duckdb
import pandas as pd

from matching.check_delta import DELTA_SHARE, carry_check_index, save_delta_fingerprints
from matching.check_index import (
    CheckIndex,
    has_check_index,
    load_check_index,
    save_check_index,
    saved_table_schema,
)
from matching.check_update import (
    record_fingerprints,
    save_fingerprints,
    state_path,
)
from matching.duplicate_check import (
    DuplicateChecker,
    build_check_indexes,
    master_records,
    warm_up,
)
from matching.linkage.features import PreparedRecords
from matching.linkage.junk import JunkRules
from matching.linkage.prepared_store import load_prepared
from matching.linkage.steps import models_in_use
from sources.schema import ENTITY_TYPES
from warehouse.files import link_or_copy

CHECK_MANIFEST = "check.json"
#: What the check index reads of each master record beside its prepared row.
INDEXED_COLUMNS = ("record_key", "entity_type", "customer_id", "name")


def write_warehouse_check_files(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    junk: JunkRules,
    previous: Path | None = None,
    carried: Path | None = None,
    delta_share: float | None = DELTA_SHARE,
    rewritten: Literal["ignore", "use"] = "ignore",
) -> dict[str, int]:
    """``write_check_files`` for the master of the warehouse on ``con``, with the models the
    sync predicted with and the records it prepared (prepared here when it kept none).

    ``carried``: the folder of the index an incremental sync replaces: each entity type's
    index keeps its base and gets a delta part of what changed since (``check_delta``)
    while that stays within ``delta_share`` of its records (None: never), else is carried over and
    updated for the records that changed, written whole (``check_update``), or built whole
    where it cannot be. Every index is saved with its rows' fingerprints, which the next
    sync's update starts from.

    ``rewritten``: ``use`` the log of rewritten prepared records
    (``prepared_store.REWRITTEN``) when it is kept: ``carried`` is then the index published
    when the log was last started (the caller starts it again once this index is
    published), and only the prepared rows of the records it lists (and of records not in
    ``carried``) are fingerprinted again; ``ignore`` it (every record's). The same files
    either way."""
    logged = rewritten == "use"
    models = {c.version.entity_type: c.version.load() for c in models_in_use(con)}
    updated = {}
    if carried is not None:
        for entity_type, model in models.items():
            update = carry_check_index(con, carried, entity_type, model, delta_share, logged)
            if update is not None:
                updated[entity_type] = update
    whole = {t: m for t, m in models.items() if t not in updated}
    indexes = {t: index for t, (index, _) in updated.items()}
    if whole:
        loaded = {entity_type: load_prepared(con, entity_type) for entity_type in whole}
        found = {t: p for t, p in loaded.items() if p is not None}
        kept = found if len(found) == len(loaded) else None
        # with the sync's prepared records, the index needs only each record's customer
        records = master_records(con, None if kept is None else INDEXED_COLUMNS)
        indexes |= build_check_indexes(records, whole, junk, kept)
    indexes = {t: indexes[t] for t in models if t in indexes}  # in the models' order
    written = save_check_files(folder, indexes, models, junk, previous)
    for entity_type, index in indexes.items():
        fingerprints = (
            updated[entity_type][1] if entity_type in updated else record_fingerprints(con, index)
        )
        if fingerprints is None:
            continue
        if index.rank is not None:
            save_delta_fingerprints(index, fingerprints, folder)
        else:
            save_fingerprints(fingerprints, state_path(folder, entity_type))
    return written


def write_check_files(
    folder: Path,
    records: pd.DataFrame,
    models: dict[str, dict[str, Any]],
    junk: JunkRules,
    prepared: Mapping[str, PreparedRecords] | None = None,
    previous: Path | None = None,
) -> dict[str, int]:
    """Save what a checker needs into ``folder``; return the records indexed per entity type.

    ``records``: the master's records, staged columns and ``customer_id``; with the sync's
    ``prepared`` records only ``record_key``, ``entity_type``, ``customer_id`` and ``name``.
    ``previous``: a folder these files were written to before (the index being replaced):
    the scoring statement of a model it saved for the same columns is taken from it.
    """
    indexes = build_check_indexes(records, models, junk, prepared)
    return save_check_files(folder, indexes, models, junk, previous)


def save_check_files(
    folder: Path,
    indexes: dict[str, CheckIndex],
    models: dict[str, dict[str, Any]],
    junk: JunkRules,
    previous: Path | None = None,
) -> dict[str, int]:
    """Save ``indexes``, their models and scoring statements and the manifest into
    ``folder`` (``previous``: see ``write_check_files``); the records indexed per entity
    type."""
    saved = {} if previous is None else _saved_scoring_sql(previous, models, indexes)
    scoring_sql = (
        saved if saved.keys() >= indexes.keys() else _scoring_sql(models, junk, indexes, saved)
    )
    for index in indexes.values():
        save_check_index(index, folder)
        model_file, sql_file = f"model_{index.entity_type}.json", f"scoring_{index.entity_type}.sql"
        model_text = json.dumps(models[index.entity_type], ensure_ascii=False)
        if previous is not None and index.entity_type in saved:
            # the statement of the index replaced, for the same model: its file, hard-linked
            link_or_copy(previous / sql_file, folder / sql_file)
            if (previous / model_file).read_text(encoding="utf-8") == model_text:
                link_or_copy(previous / model_file, folder / model_file)
                continue
        else:
            (folder / sql_file).write_text(scoring_sql[index.entity_type], encoding="utf-8")
        (folder / model_file).write_text(model_text, encoding="utf-8")
    (folder / CHECK_MANIFEST).write_text(
        json.dumps({"junk": asdict(junk), "entity_types": sorted(indexes)}), encoding="utf-8"
    )
    return {t: index.records for t, index in indexes.items()}


def _scoring_sql(
    models: dict[str, dict[str, Any]],
    junk: JunkRules,
    indexes: dict[str, CheckIndex],
    saved: dict[str, str],
) -> dict[str, str]:
    """Entity type → the scoring statement of each index: ``saved`` where given, else
    captured from Splink on a checker. Only needed when a statement is missing: a checker
    prepares every statement on its own connection (0.4 s of CPU of a 1% day's 3 s of check
    files at 100k records), which a statement saved for the same model and columns needs not."""
    checker = DuplicateChecker(None, models, junk, indexes=indexes, scoring_sql=saved)
    try:
        return checker.scoring_sql()
    finally:
        checker.close()


def _saved_scoring_sql(
    previous: Path, models: dict[str, dict[str, Any]], indexes: Mapping[str, CheckIndex]
) -> dict[str, str]:
    """Entity type → the scoring statement saved in ``previous`` for the same model and the
    same table columns. The statement is Splink's SQL for the model's comparisons over those
    columns, nothing of the records: capturing it builds a linker, which parses every
    comparison's SQL (about 9 s per model on a loaded machine, whatever the master's size)."""
    saved = {}
    for entity_type, index in indexes.items():
        model_path = previous / f"model_{entity_type}.json"
        sql_path = previous / f"scoring_{entity_type}.sql"
        if not (model_path.is_file() and sql_path.is_file()):
            continue
        same_model = json.loads(model_path.read_text(encoding="utf-8")) == models[entity_type]
        schema = saved_table_schema(previous, entity_type)
        if same_model and schema is not None and schema.equals(index.table.schema):
            saved[entity_type] = sql_path.read_text(encoding="utf-8")
    return saved


def load_check_files(folder: Path) -> DuplicateChecker:
    """A checker on the files ``write_check_files`` wrote into ``folder``.

    Raises:
        FileNotFoundError: ``folder`` holds no check files (or only part of them).
    """
    manifest_path = folder / CHECK_MANIFEST
    if not manifest_path.exists():
        raise FileNotFoundError(f"{folder}: no duplicate-check files ({CHECK_MANIFEST})")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    # the standardisers' first-use loading runs while the files are read (Arrow reads
    # without holding the GIL), so it costs the start-up little and the first check nothing
    warming = threading.Thread(target=warm_up, name="check-warm-up", daemon=True)
    warming.start()
    models, indexes, scoring_sql = {}, {}, {}
    for entity_type in manifest["entity_types"]:
        if entity_type not in ENTITY_TYPES or not has_check_index(folder, entity_type):
            raise FileNotFoundError(f"{folder}: the {entity_type} check index is incomplete")
        models[entity_type] = json.loads(
            (folder / f"model_{entity_type}.json").read_text(encoding="utf-8")
        )
        indexes[entity_type] = load_check_index(folder, entity_type)
        scoring_sql[entity_type] = (folder / f"scoring_{entity_type}.sql").read_text(
            encoding="utf-8"
        )
    checker = DuplicateChecker(
        None, models, JunkRules(**manifest["junk"]), indexes=indexes, scoring_sql=scoring_sql
    )
    warming.join()
    return checker

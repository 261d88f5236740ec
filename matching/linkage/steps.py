"""The matching layer's first two steps the pipeline runs: models, then scored pairs.

1. ``ensure_models``: one Splink model per entity type, trained when none exists or when
   retraining is asked for, otherwise the newest saved version (a nightly run does not
   retrain).
2. ``score_pairs``: every candidate pair at or above the lower threshold, per entity type
   (companies never pair with persons), with probabilities and comparison levels.

The third step, clusters and the review queue, is ``cluster_step``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from matching.linkage.backend import SparkRun
from matching.linkage.changes import RecordChanges
from matching.linkage.features import PreparedRecords
from matching.linkage.junk import JunkRules
from matching.linkage.model_store import (
    ModelVersion,
    latest_version,
    parameter_summary,
    save_new_version,
)
from matching.linkage.pairable import PairableRecords
from matching.linkage.prediction import predict_pairs
from matching.linkage.training import TrainingParams, train_model
from sources.config import MatchingConfig
from sources.schema import ENTITY_TYPES
from warehouse.views import MODELS_IN_USE

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelChoice:
    """The model an entity type is matched with, and whether this run trained it."""

    version: ModelVersion
    trained: bool
    records: int


def models_table(choices: list[ModelChoice]) -> pa.Table:
    """``matching.models``: the model version per entity type in use, and whether the sync that
    chose it trained it (a sync whose inputs are unchanged keeps the table as it was)."""
    return pa.table(
        {
            "entity_type": [c.version.entity_type for c in choices],
            "version": pa.array([c.version.version for c in choices], pa.int64()),
            "model": [c.version.name for c in choices],
            "path": [str(c.version.path) for c in choices],
            "trained": [c.trained for c in choices],
            "records": pa.array([c.records for c in choices], pa.int64()),
        }
    )


def models_in_use(con: duckdb.DuckDBPyConnection) -> list[ModelChoice]:
    """The model versions this run's training step chose, read back from ``matching.models``."""
    rows = con.sql(
        f"SELECT entity_type, version, path, trained, records FROM {MODELS_IN_USE}"
    ).fetchall()
    return [ModelChoice(ModelVersion(e, v, Path(p)), t, n) for e, v, p, t, n in rows]


def junk_rules(settings: MatchingConfig) -> JunkRules:
    return JunkRules(**settings.junk.model_dump())


def ensure_models(
    prepared: Mapping[str, PreparedRecords],
    model_dir: Path,
    settings: MatchingConfig,
    retrain: bool = False,
    spark: SparkRun | None = None,
) -> list[ModelChoice]:
    """The model of each entity type present: the newest saved one, or a newly trained one
    (on ``settings.backend``; ``spark`` is the session when that is 'spark'), for the
    sync's prepared records of each entity type (``prepared_store.prepare_by_type``).

    On DuckDB the entity types that need a model are trained at the same time, each in
    its own database: much of training is Splink's Python (SQL built and parsed, u counts
    gathered chunk by chunk) with one core busy, and the other type's queries fill the
    other. Each model is what training it alone gives (its own records, seed and database).
    """
    saved_choices: dict[str, ModelChoice] = {}
    to_train: dict[str, PreparedRecords] = {}
    for entity_type in ENTITY_TYPES:
        records = prepared.get(entity_type)
        if records is None or records.table.num_rows < 2:
            continue
        saved = latest_version(model_dir, entity_type)
        if saved is not None and not retrain:
            missing = missing_features(saved.load(), records)
            if not missing:
                logger.info("%s: using saved model %s", entity_type, saved.name)
                saved_choices[entity_type] = ModelChoice(
                    saved, trained=False, records=records.table.num_rows
                )
                continue
            logger.warning(
                "%s: saved model %s reads features this version no longer prepares (%s); training a new version",
                entity_type,
                saved.name,
                ", ".join(sorted(missing)),
            )
        to_train[entity_type] = records
    params = TrainingParams(junk=junk_rules(settings))
    trained = _train_models(to_train, params, settings.backend, spark)
    choices = []
    for entity_type in ENTITY_TYPES:
        if entity_type in saved_choices:
            choices.append(saved_choices[entity_type])
        elif entity_type in trained:
            model, seconds = trained[entity_type]
            n = to_train[entity_type].table.num_rows
            summary = {
                "entity_type": entity_type,
                "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "records": n,
                "seconds": seconds,
                "backend": settings.backend,
                "training": {
                    "seed": params.seed,
                    "u_max_pairs": params.u_max_pairs,
                    "u_min_count": params.u_min_count,
                    "em_max_pairs": params.em_max_pairs,
                },
                "junk": settings.junk.model_dump(),
                **parameter_summary(model),
            }
            version = save_new_version(model_dir, entity_type, model, summary)
            logger.info(
                "%s: trained %s on %d records in %.1f s", entity_type, version.name, n, seconds
            )
            choices.append(ModelChoice(version, trained=True, records=n))
    return choices


def _train_models(
    records: Mapping[str, PreparedRecords],
    params: TrainingParams,
    backend: str,
    spark: SparkRun | None,
) -> dict[str, tuple[dict[str, Any], float]]:
    """Each entity type's newly trained model and the seconds its training took: at the
    same time on DuckDB (one thread per type, each with its own database), one after the
    other on Spark (one session)."""

    def train(entity_type: str) -> tuple[dict[str, Any], float]:
        started = time.perf_counter()
        model = train_model(records[entity_type], entity_type, params, backend=backend, spark=spark)
        return model, round(time.perf_counter() - started, 1)

    if backend == "spark" or len(records) < 2:
        return {entity_type: train(entity_type) for entity_type in records}
    with ThreadPoolExecutor(max_workers=len(records), thread_name_prefix="training") as pool:
        futures = {entity_type: pool.submit(train, entity_type) for entity_type in records}
        return {entity_type: future.result() for entity_type, future in futures.items()}


_BLOCKING_COLUMN = re.compile(r"\b[lr]\.\"?(\w+)\"?")
_COMPARED_COLUMN = re.compile(r"\b(\w+)_[lr]\b")


def missing_features(model: dict[str, Any], prepared: PreparedRecords) -> set[str]:
    """Columns a saved model blocks on or compares that record preparation no longer makes.

    A model trained by an older version of the matching features cannot score today's
    prepared records; the run then trains a new version instead of failing.
    """
    wanted = {
        m.group(1)
        for rule in model.get("blocking_rules_to_generate_predictions", [])
        for m in _BLOCKING_COLUMN.finditer(rule["blocking_rule"])
    }
    wanted |= {
        m.group(1)
        for comparison in model["comparisons"]
        for level in comparison["comparison_levels"]
        for m in _COMPARED_COLUMN.finditer(level["sql_condition"])
    }
    return wanted - set(prepared.table.column_names)


def score_pairs(
    prepared: Mapping[str, PreparedRecords],
    models: list[ModelChoice],
    settings: MatchingConfig,
    only_with: Collection[str] | None = None,
    spark: SparkRun | None = None,
    term_frequencies: Mapping[str, pa.Table | None] | None = None,
) -> pd.DataFrame:
    """Candidate pairs at or above the lower threshold among the sync's prepared records, of
    every entity type, with ``entity_type``.

    ``only_with``: score only the pairs with at least one of these records (see
    :func:`rescore_pairs`). ``term_frequencies``: per entity type, the records the term
    frequencies are counted over when ``prepared`` holds only some of them
    (``predict_pairs(term_frequencies=...)``).
    """
    parts = []
    for choice in models:
        pairs = predict_pairs(
            prepared[choice.version.entity_type],
            choice.version.load(),
            settings.lower_threshold,
            entity_type=choice.version.entity_type,
            junk=junk_rules(settings),
            backend=settings.backend,
            only_with=only_with,
            spark=spark,
            term_frequencies=(term_frequencies or {}).get(choice.version.entity_type),
        )
        pairs.insert(0, "entity_type", choice.version.entity_type)
        pairs.insert(1, "model", choice.version.name)
        parts.append(pairs)
    if not parts:
        return pd.DataFrame(
            columns=[
                "entity_type",
                "model",
                "record_key_l",
                "record_key_r",
                "match_probability",
                "match_weight",
            ]
        )
    return pd.concat(parts, ignore_index=True)


def rescore_pairs(
    pairable: Mapping[str, PairableRecords],
    changes: RecordChanges,
    models: list[ModelChoice],
    settings: MatchingConfig,
    spark: SparkRun | None = None,
) -> pd.DataFrame:
    """The pairs of an incremental sync's new and changed records, scored now, among the
    records that can pair with them (``pairable.load_pairable``); the previous pairs of
    the other records are kept (``changes.write_rescored_pairs``).

    A pair of two unchanged records keeps the score it had. A full scoring would give it
    the same score unless the new records changed the term frequencies of its values (a
    name that became more common weighs a little less) or made one of its values junk;
    ``custmaster run --full`` scores every pair again.
    """
    return score_pairs(
        {t: p.records for t, p in pairable.items()},
        models,
        settings,
        only_with=changes.changed,
        spark=spark,
        term_frequencies={t: p.term_frequencies for t, p in pairable.items()},
    )

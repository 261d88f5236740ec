"""Scoring candidate pairs of records with a trained model.

The output is the evidence table of the matching layer: one row per pair of records
the blocking rules brought together and the model scored at or above a threshold, with
the probability that both records are the same customer, its match weight (log2 odds),
and which level of each comparison the pair reached (``gamma_*``: -1 = a value missing,
0 = disagree, higher = closer agreement). Stewards read the gammas to see *why* a pair
scored as it did; clustering reads the probabilities.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Collection
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from splink import Linker
from splink.internals.term_frequencies import term_frequencies_for_single_column_sql

from matching.linkage.backend import SparkRun, check_backend, matching_database
from matching.linkage.blocking import model_entity_type
from matching.linkage.comparisons import duckdb_form
from matching.linkage.features import PreparedRecords, as_prepared
from matching.linkage.junk import JunkRules
from matching.linkage.spark_sql import spark_model
from matching.linkage.training import load_model

logger = logging.getLogger(__name__)

PAIR_KEY_COLUMNS = ("record_key_l", "record_key_r", "match_probability", "match_weight")


def predict_pairs(
    records: pd.DataFrame | PreparedRecords,
    model: dict[str, Any] | str | Path,
    threshold: float,
    *,
    entity_type: str | None = None,
    junk: JunkRules | None = None,
    records_per_chunk: int = 2_000_000,
    backend: str = "duckdb",
    threads: int | None = None,
    only_with: Collection[str] | None = None,
    spark: SparkRun | None = None,
    term_frequencies: pa.Table | None = None,
) -> pd.DataFrame:
    """Score the candidate pairs among staged records of the model's entity type.

    Args:
        records: staged customer records (may hold both entity types; only the model's
            are scored, so a company is never paired with a person), or the model's
            entity type's records already prepared (``matching.linkage.prepared_store``).
        model: a trained model (settings JSON dict) or the path of its JSON file.
        threshold: lowest match probability kept (0 keeps every blocked pair).
        entity_type: the model's entity type; read from the model's blocking rules
            when not given.
        junk: junk-value and block-size limits; use the ones the model was trained with.
            The values they suppress are logged; ``matching.linkage.features.prepare_records``
            returns them as a table.
        records_per_chunk: above this many records, prediction runs in chunks of about
            this size per side (bounds memory). Every chunk pair repeats the blocking
            joins, so chunks cost time: at 1.4M staged records one chunk per side
            peaked at 4.6 GiB, hence a default that keeps a million records whole.
        backend: 'duckdb' or 'spark' (Splink's SparkAPI; the model's SQL is translated,
            ``matching.linkage.spark_sql``).
        threads: DuckDB threads (None: all cores).
        only_with: record keys; when given, only pairs with at least one of these records
            are scored (an incremental sync's new and changed records). Every record is
            still read, so term frequencies and junk values are those of all records and
            each pair scores exactly as in a full prediction.
        spark: the Spark session and exchange folder, for 'spark'. Chunking is DuckDB's
            way of bounding memory; Spark spreads the work over its partitions instead.
        term_frequencies: the prepared records the term frequencies are counted over, when
            ``records`` are only those of them that can pair with ``only_with`` (DuckDB
            only): each pair then scores exactly as among all of them. None: ``records``.

    Returns:
        One row per scored pair, ``record_key_l < record_key_r``, sorted by the keys:
        ``record_key_l``, ``record_key_r``, ``match_probability``, ``match_weight`` and one
        ``gamma_<comparison>`` column per comparison of the model.

    Examples:
        >>> pairs = predict_pairs(staged, "models/company.json", threshold=0.5)  # doctest: +SKIP
    """
    check_backend(backend, spark)
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold is a probability between 0 and 1, got {threshold}")
    if records_per_chunk < 1:
        raise ValueError(f"records_per_chunk must be at least 1, got {records_per_chunk}")
    if isinstance(model, (str, Path)):
        model = load_model(model)
    entity_type = entity_type or model_entity_type(model)
    prepared = as_prepared(records, entity_type, junk)
    n = prepared.table.num_rows
    gammas = [f"gamma_{c['output_column_name']}" for c in model["comparisons"]]
    if n < 2:
        return _empty(gammas)
    chunks = max(1, math.ceil(n / records_per_chunk))
    table = prepared.table
    if only_with is not None:
        flags = pc.is_in(table.column("record_key"), pa.array(list(only_with), pa.string()))
        table = table.append_column(RESCORE_COLUMN, pc.fill_null(flags, False))
        model = only_pairs_with_flagged(model)
    on_spark = backend == "spark"
    if on_spark and term_frequencies is not None:
        raise ValueError("term_frequencies is for the duckdb backend")
    if on_spark:
        model, chunks = spark_model(model), 1
    else:  # the same scores, each bigram-share test counting its intersection once
        model = duckdb_form(model)
    with matching_database(backend, threads, spark) as db:
        sdf = db.register(table, f"{entity_type}_records")
        # Splink's settings validation only warns of columns the settings name and the
        # records lack (the model was trained on these same prepared columns), and it parses
        # every comparison's SQL with sqlglot to do so: 3.3 s per Linker, whatever the
        # number of records (measured under load), three Linkers per sync for mentioned names
        linker = Linker(sdf, model, log_level=None, validate_settings=False)
        if term_frequencies is not None:
            _register_term_frequencies(db, linker, term_frequencies)
        scored = linker.inference.predict(
            threshold_match_probability=threshold,
            num_chunks_left=chunks,
            num_chunks_right=chunks,
        )
        columns = ", ".join([*PAIR_KEY_COLUMNS, *gammas])
        query = f"select {columns} from {scored.physical_name}"
        # DuckDB sorts as it returns; Spark would shuffle to sort, so this process sorts
        order = "" if on_spark else " order by record_key_l, record_key_r"
        pairs = db.fetch(query + order, f"{entity_type}_pairs")
    if on_spark:
        pairs = pairs.sort_values(["record_key_l", "record_key_r"], ignore_index=True)
    logger.info(
        "%s: %d pairs at match probability >= %s among %d records (%d chunk(s) per side)",
        entity_type,
        len(pairs),
        threshold,
        n,
        chunks,
    )
    return pairs


def _register_term_frequencies(db: Any, linker: Linker, records: pa.Table) -> None:
    """Give ``linker`` the term frequencies of its model's columns counted over ``records``
    (by Splink's own query), in place of those of the records it scores."""
    with duckdb.connect() as con:
        con.register("__all_records", records)
        for column in linker._settings_obj._term_frequency_columns:
            sql = term_frequencies_for_single_column_sql(column, "__all_records")
            table = con.sql(sql).to_arrow_table()
            name = column.unquote().name
            registered = db.register(table, f"tf_{name}")
            linker.table_management.register_term_frequency_lookup(registered, name)


#: Column of the prepared records marking those whose pairs an incremental sync scores.
RESCORE_COLUMN = "rescore"


def only_pairs_with_flagged(model: dict[str, Any]) -> dict[str, Any]:
    """The model with every prediction blocking rule narrowed to pairs with a flagged record
    (:func:`narrowed_blocking`)."""
    return narrowed_blocking(model, f"(l.{RESCORE_COLUMN} or r.{RESCORE_COLUMN})")


def narrowed_blocking(model: dict[str, Any], condition: str) -> dict[str, Any]:
    """The model with every prediction blocking rule narrowed to the pairs where
    ``condition`` (SQL on ``l`` and ``r``) holds.

    Each rule keeps its own keys (so the blocks are the same as a full prediction's) and
    drops the other pairs; the rules stay in order, so a pair is still attributed to the
    first rule that finds it, and scored as in a prediction over all pairs.
    """
    narrowed = copy.deepcopy(model)
    narrowed["blocking_rules_to_generate_predictions"] = [
        {**rule, "blocking_rule": f"({rule['blocking_rule']}) and {condition}"}
        if isinstance(rule, dict)
        else f"({rule}) and {condition}"
        for rule in narrowed["blocking_rules_to_generate_predictions"]
    ]
    return narrowed


def _empty(gammas: list[str]) -> pd.DataFrame:
    columns: dict[str, pd.Series] = {
        "record_key_l": pd.Series(dtype=object),
        "record_key_r": pd.Series(dtype=object),
        "match_probability": pd.Series(dtype="float64"),
        "match_weight": pd.Series(dtype="float64"),
    }
    columns.update({g: pd.Series(dtype="int64") for g in gammas})
    return pd.DataFrame(columns)

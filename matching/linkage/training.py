"""Training a linkage model for one entity type, and keeping it as a JSON file.

The model says, for every comparison level (same name core, same district, USCC one
keystroke off, ...), how much more often true duplicates land there than unrelated
records (m and u probabilities). Training is unsupervised:

1. the match prior from near-certain rules (same USCC, same name and phone);
2. u (how often unrelated records agree by chance): for the leading "same value"
   levels of a comparison counted exactly over every record, for the others from a
   random sample of pairs, with a fixed seed so the same data gives the same model
   (``matching.linkage.exact_u``), drawn among the records that have the compared value
   (``matching.linkage.u_sampling``);
3. m (how often duplicates agree) by expectation maximisation, once per training
   blocking rule, each session learning the comparisons its rule leaves free.

The result is Splink's settings JSON (a dict); ``save_model`` / ``load_model`` keep it
as a versionable file that prediction reads.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
from splink import Linker
from splink.blocking_rule_library import CustomRule

from matching.linkage.backend import SparkRun, SplinkDatabase, check_backend, matching_database
from matching.linkage.blocking import deterministic_rules, training_blocking_rules
from matching.linkage.comparisons import RecordValue, record_values_read, training_form
from matching.linkage.exact_u import equality_levels, exact_u, sampling_form, with_u
from matching.linkage.features import PreparedRecords, as_prepared
from matching.linkage.junk import JunkRules
from matching.linkage.model_settings import ComparisonThresholds, build_settings
from matching.linkage.spark_sql import (
    portable_model,
    spark_condition,
    spark_model,
    with_level_conditions,
)
from matching.linkage.u_sampling import sampled_u
from warehouse.files import write_json_atomically

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingParams:
    """How a model is trained.

    Attributes:
        seed: seed of the random pair sample for u (same seed, same data → same model).
        u_max_pairs: pairs sampled to estimate u; 1e7 is a sound default for
            production, tests can go far lower.
        u_min_count: in a comparison whose equality levels are counted exactly, u
            sampling stops once every other level was seen this many times (Splink's
            ``min_count_per_level``, which stays at its 100 for the other comparisons).
            Splink's first 1% of pairs are the pairs of 1% of the sampled records (about
            34 of 3,400), too few to measure a share of a few thousandths: the company
            name's "nearly the same name" level reached 100 there with u 0.0060, against
            0.0039 over all ten million pairs (100k records). 1,000 takes it to the first
            tenth of the pairs.
        em_max_pairs: EM sessions are down-sampled to about this many blocked pairs
            (None: never sample).
        deterministic_recall: share of all true duplicates the deterministic rules are
            believed to find; sets the match prior.
        thresholds: similarity cut-offs of the comparisons.
        junk: junk-value and block-size limits applied before training.
        min_m_probability: floor of every trained m probability, and the m of a level
            EM never saw among duplicates. EM on sparse or very clean data can drive
            the m of a disagreement level to ~0, which lets one changed phone number
            veto every other agreement; the floor caps what a single disagreement can
            cost (about log2(floor) bits).
        threads: DuckDB threads (None: all cores).
    """

    seed: int = 42
    u_max_pairs: float = 1e7
    u_min_count: int = 1000
    em_max_pairs: float | None = 1e6
    deterministic_recall: float = 0.6
    thresholds: ComparisonThresholds = field(default_factory=ComparisonThresholds)
    junk: JunkRules = field(default_factory=JunkRules)
    min_m_probability: float = 1e-3
    threads: int | None = None


def train_model(
    records: pd.DataFrame | PreparedRecords,
    entity_type: str,
    params: TrainingParams | None = None,
    *,
    backend: str = "duckdb",
    spark: SparkRun | None = None,
) -> dict[str, Any]:
    """Train the linkage model of one entity type on staged records.

    Args:
        records: staged customer records (may hold both entity types; only
            ``entity_type`` rows are used), or that type's records already prepared.
        entity_type: 'company' or 'person'.
        params: seed, sample sizes, thresholds and junk limits.
        backend: 'duckdb' or 'spark' (Splink's SparkAPI on ``spark``'s session).
        spark: the Spark session and exchange folder, for 'spark'.

    Returns:
        The trained model as Splink settings JSON (a dict), ready for ``save_model`` and
        ``matching.linkage.prediction.predict_pairs``. Its SQL is in DuckDB's dialect
        whichever backend trained it (``matching.linkage.spark_sql``), so a model trained
        on one backend scores on the other.

    Raises:
        ValueError: too few records to learn from, an unsupported backend, or every EM
            session failed (a session that fails alone is skipped with a warning).

    Examples:
        >>> model = train_model(staged, "company")  # doctest: +SKIP
        >>> save_model(model, "models/company.json")  # doctest: +SKIP
    """
    check_backend(backend, spark)
    params = params or TrainingParams()
    prepared = as_prepared(records, entity_type, params.junk)
    n = prepared.table.num_rows
    if n < 2:
        raise ValueError(f"need at least 2 {entity_type} records to train a model, got {n}")
    settings = build_settings(entity_type, params.thresholds, prior=min(0.5, 1 / (n - 1)))
    portable = settings.create_settings_dict("duckdb")
    on_spark = backend == "spark"
    dialect = spark_condition if on_spark else str
    with matching_database(backend, params.threads, spark) as db:
        if on_spark:
            sdf = db.register(prepared.table, f"{entity_type}_records")
            linker = Linker(sdf, spark_model(portable), log_level=None)
        else:
            values = record_values_read(portable)
            table_with_values = with_record_values(prepared.table, values)
            sdf = db.register(table_with_values, f"{entity_type}_records")
            linker = Linker(sdf, training_form(portable), log_level=None)
        table = sdf.physical_name
        _estimate_prior(linker, db, table, entity_type, params.deterministic_recall, dialect)
        all_pairs = n * (n - 1) / 2
        num_chunks = u_chunks(min(all_pairs, params.u_max_pairs), on_spark)
        if on_spark:
            linker.training.estimate_u_using_random_sampling(
                max_pairs=params.u_max_pairs, seed=params.seed, num_chunks=num_chunks
            )
        else:
            linker = _estimate_u(linker, db, sdf, table_with_values, params, num_chunks)
        em_max_pairs = (
            params.em_max_pairs if params.em_max_pairs and all_pairs > params.em_max_pairs else None
        )
        attempted = trained = 0
        for rule in map(dialect, training_blocking_rules(entity_type)):
            if not _has_pairs(db, table, rule):
                logger.warning(
                    "%s: no record pairs for EM rule %r; session skipped", entity_type, rule
                )
                continue
            logger.info("%s: EM session on %s", entity_type, rule)
            attempted += 1
            before = linker.misc.save_model_to_json()
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(
                    rule, estimate_without_term_frequencies=True, max_pairs=em_max_pairs
                )
                trained += 1
            except ValueError as err:
                # EM can drive the m of a level seen only among clear non-duplicates to
                # exactly 0, which Splink refuses; the session's estimates are dropped and
                # the other sessions still count. Splink leaves the comparisons the session
                # had set aside (those its blocking rule decides) out of the linker's model,
                # so the linker is rebuilt from the model as it was before the session.
                logger.warning(
                    "%s: EM session on %r failed and was skipped: %s", entity_type, rule, err
                )
                linker = Linker(sdf, before, log_level=None, validate_settings=False)
        if attempted and not trained:
            raise ValueError(f"{entity_type}: every EM training session failed; see the log")
        model = linker.misc.save_model_to_json()
    # the saved file keeps the SQL of the settings it started from, whichever form trained
    model = portable_model(model, portable) if on_spark else with_level_conditions(model, portable)
    _floor_m_probabilities(model, params.min_m_probability)
    logger.info("%s model trained on %d records", entity_type, n)
    return model


#: Sampled pairs up to which u is counted in one go on Spark (see :func:`u_chunks`).
U_ONE_CHUNK_PAIRS = 1e6

#: Splink's own count of pairs per level at which u sampling of a comparison stops.
SPLINK_MIN_COUNT = 100

#: Splink's own number of chunks for u.
U_CHUNKS = 10


def u_chunks(sampled_pairs: float, on_spark: bool) -> int:
    """How many chunks Splink counts u in, per comparison.

    Splink counts u comparison by comparison: first on a probe of 1% of the sampled pairs,
    and when some level is still seen fewer than 100 times, again chunk by chunk (10
    chunks) until every level is. On millions of pairs the probe usually suffices. Each
    chunk is one query: milliseconds on DuckDB, a few Spark stages on Spark. Below
    :data:`U_ONE_CHUNK_PAIRS` sampled pairs the probe seldom suffices and the chunks then
    count every sampled pair anyway, so Spark counts them in one query per comparison
    instead of up to eleven: the same counts, or more pairs where the chunks would have
    stopped early. On the matching tests' 22 companies this took the company model's
    training on Spark from 768 stages to 232, with the same model to the last digit.
    """
    return 1 if on_spark and sampled_pairs <= U_ONE_CHUNK_PAIRS else U_CHUNKS


def with_record_values(table: pa.Table, values: list[RecordValue]) -> pa.Table:
    """``table`` (prepared records) with a column per value of ``values``, computed by
    DuckDB from each record's columns with the SQL the levels would run per pair
    (``comparisons.training_form`` reads them): the same values, once per record."""
    if not values:
        return table
    con = duckdb.connect()
    try:
        con.register("records", table)
        select = ", ".join(f"{v.of_record()} AS {v.column}" for v in values)
        computed = con.sql(f"SELECT {select} FROM records").to_arrow_table()
    finally:
        con.close()
    if computed.num_rows != table.num_rows:
        raise RuntimeError("per-record values lost rows")
    for value in values:
        table = table.append_column(value.column, computed[value.column])
    return table


def save_model(model: dict[str, Any], path: str | Path) -> Path:
    """Write a model JSON atomically (a reader never sees half a file); returns the path."""
    path = write_json_atomically(path, model)
    logger.info("model saved to %s", path)
    return path


def load_model(path: str | Path) -> dict[str, Any]:
    """Read a model JSON written by ``save_model`` (or Splink's ``save_model_to_json``)."""
    path = Path(path)
    try:
        model = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: not a readable model JSON ({err})") from err
    if not isinstance(model, dict) or "comparisons" not in model:
        raise ValueError(f"{path}: not a Splink model (no 'comparisons')")
    return model


def _estimate_prior(
    linker: Linker,
    db: SplinkDatabase,
    table: str,
    entity_type: str,
    recall: float,
    dialect: Callable[[str], str],
) -> None:
    """Replace the starting match prior by one from deterministic rules, when they find pairs.

    The starting prior (about one duplicate per two records) stays when no deterministic
    rule pairs anything, or when the rules find more than ``recall`` allows.
    """
    rules = [dialect(rule) for rule in deterministic_rules(entity_type)]
    if not any(_has_pairs(db, table, rule) for rule in rules):
        logger.warning(
            "%s: no deterministic matches; keeping the starting match prior", entity_type
        )
        return
    try:
        linker.training.estimate_probability_two_random_records_match(
            [CustomRule(rule) for rule in rules], recall=recall
        )
    except ValueError as err:
        logger.warning("%s: keeping the starting match prior (%s)", entity_type, err)


def _estimate_u(
    linker: Linker,
    db: SplinkDatabase,
    sdf: Any,
    records: pa.Table,
    params: TrainingParams,
    num_chunks: int,
) -> Linker:
    """``linker``'s model with u: the leading "same value" levels of each comparison
    counted exactly over every record, the other levels by Splink's random sampling
    among the pairs those leave (``matching.linkage.exact_u``), each comparison sampled
    among the records that have its value (``matching.linkage.u_sampling``); a linker on
    the result.

    The comparisons with no such level are sampled as Splink samples them (each level
    seen 100 times, or every pair), so their u are those of sampling alone to the last
    digit; those left with fuzzy levels only are sampled on to ``params.u_min_count``.
    """
    model = linker.misc.save_model_to_json()
    counted = exact_u(records, equality_levels(model))
    form = sampling_form(model, counted)
    sampled: list[dict[str, Any]] = []
    for folded, min_count in ((False, SPLINK_MIN_COUNT), (True, params.u_min_count)):
        part = [c for c in form["comparisons"] if (c["output_column_name"] in counted) == folded]
        if not part:
            continue
        sampled += sampled_u(
            db,
            sdf,
            records,
            {**form, "comparisons": part},
            max_pairs=params.u_max_pairs,
            seed=params.seed,
            num_chunks=num_chunks,
            min_count=min_count,
        )
    return Linker(
        sdf,
        with_u(model, {"comparisons": sampled}, counted),
        log_level=None,
        validate_settings=False,
    )


def _floor_m_probabilities(model: dict[str, Any], floor: float) -> None:
    """Raise trained m probabilities below ``floor`` to it, renormalising each comparison.

    Splink averages each level's m over the EM sessions that saw it, so a comparison's
    m values can add up to more than one: they are first scaled back to a distribution.

    A level EM never saw among the pairs it took for duplicates has no m at all (Splink
    would fall back to a generic default at prediction, e.g. 5% for a disagreeing
    mobile, which lets a family sharing a landline outvote two different mobiles). When
    the comparison's other levels were trained, such a level gets the floor: as rare
    among duplicates as the floor allows. A comparison EM never trained keeps Splink's
    defaults, and a level whose m is fixed by design is left as it is.
    """
    for comparison in model["comparisons"]:
        name = comparison["output_column_name"]
        levels = [
            lv
            for lv in comparison["comparison_levels"]
            if not lv.get("is_null_level") and not lv.get("fix_m_probability")
        ]
        trained = [lv for lv in levels if "m_probability" in lv]
        if not trained:
            logger.warning("%s: m never trained; Splink's defaults apply", name)
            continue
        total = sum(lv["m_probability"] for lv in trained)
        if total > 0 and abs(total - 1) > 1e-9:
            for level in trained:
                level["m_probability"] /= total
        unseen = len(levels) - len(trained)
        if not unseen and all(lv["m_probability"] >= floor for lv in levels):
            continue
        raised = [max(lv.get("m_probability", floor), floor) for lv in levels]
        total = sum(raised)
        for level, m in zip(levels, raised, strict=True):
            level["m_probability"] = m / total
        logger.info(
            "%s: m probabilities floored at %g (%d level(s) EM never saw)", name, floor, unseen
        )


def _has_pairs(db: SplinkDatabase, table: str, rule: str) -> bool:
    """Whether a blocking rule yields at least one pair of distinct records."""
    return db.has_rows(
        f"select 1 from {table} l join {table} r on {rule} and l.record_key < r.record_key"
    )

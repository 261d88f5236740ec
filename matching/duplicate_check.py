""" "Does this customer already exist?" — the duplicate check a CRM form calls before creating one.

A ``DuplicateChecker`` is loaded once (the one-off start-up): the current master's
records prepared as the matcher prepares them, one in-memory index per blocking rule,
and a Splink linker per entity type on the saved model with its term-frequency tables.
Each check then

1. stages the input as the pipeline stages a record, and prepares it as the matcher
   prepares one, a value at a time (``stage_form``, ``prepare_record``: the standardisers'
   own per-value functions and kernels, proven equal to ``stage_records`` and
   ``prepare_records`` by tests/matching/test_check_rows.py);
2. finds candidate records through the blocking indexes (a shared phone, mobile, e-mail,
   USCC, ID, name key, …; junk values such as a hotline are not indexed);
3. scores the input against those candidates with the saved model: the SQL Splink's
   ``score_pairs`` generates for this model is captured once at start-up and kept as a
   DuckDB prepared statement, planned once: it reads each check's rows through two names
   registered once (``_Rows``); term frequencies travel with the records (looked up once
   for the master, from a dict for the input), so the statement joins no frequency table.
   The scores are Splink's own (see the tests); only the columns an answer reads come
   back (not both sides' compared values), as plain rows, and
4. returns the most likely existing customers, best first, each with its probability
   and the reasons: the comparisons that agreed, in the model's own words.

What standardising loads on first use is loaded with the index (``warm_up``). A check took
about 110 ms of CPU at 20k records while step 1 ran the pipeline's vectorised functions on
a one-row frame and DuckDB planned step 3's statement anew at every check; it takes about
11 ms now, and scoring 200 candidates about 10 ms
(docs/service.md#where-a-check-spends-its-time).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
from splink import Linker

from matching.check_index import CheckIndex, build_check_index
from matching.linkage.backend import splink_database
from matching.linkage.features import PreparedRecords, prepare_records
from matching.linkage.junk import JunkRules
from matching.linkage.model_store import latest_version
from matching.linkage.prepare_one import prepare_record
from matching.linkage.review_queue import level_labels
from sources.form_staging import FORM_FIELDS, stage_form
from sources.schema import ENTITY_TYPES
from sources.staging import stage_records
from warehouse.views import CURRENT_RECORDS

logger = logging.getLogger(__name__)

#: Most candidate records scored per check (bounds latency when a name key is common).
MAX_CANDIDATES = 200
_PROBE = "__check_probe"
_CANDIDATES = "__check_candidates"
#: The scoring statement's columns an answer reads, besides the gammas and term frequencies.
_SCORES = ("record_key_r", "match_weight", "match_probability")
CHECK_FIELDS = FORM_FIELDS


@dataclass(frozen=True)
class Candidate:
    """An existing customer the input may be, with the evidence."""

    customer_id: str
    probability: float
    match_weight: float
    name: str | None
    record_key: str
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _EntityIndex:
    """One entity type's check index and the scoring statement on a private DuckDB.

    The statement is the SQL Splink's ``score_pairs`` generates for the model, captured on a
    linker once; given ``scoring_sql`` (saved beside a published index), no linker is built
    at all: building one costs about a second per model (Splink validates its settings by
    parsing SQL). The linker is still built on demand for ``score_with_splink``.
    """

    def __init__(
        self, index: CheckIndex, model: dict[str, Any], scoring_sql: str | None = None
    ) -> None:
        self.entity_type = index.entity_type
        self.index = index
        self.table = index.table
        self.model = model
        self.labels = level_labels(model)
        self._database = splink_database(threads=1)
        self._db_api = self._database.__enter__()
        self._con = self._db_api.duckdb_con
        self._linker: Linker | None = None
        self._probe = _Rows(self.table.slice(0, 0))
        self._candidates = _Rows(self.table.slice(0, 0))
        self._con.register(_PROBE, self._probe)
        self._con.register(_CANDIDATES, self._candidates)
        self.scoring_sql = scoring_sql or self._scoring_sql()
        self._statement = f"score_{self.entity_type}"
        # only what an answer reads: Splink's SQL also returns both sides' compared values
        # (bigram lists among them), which cost more to hand over than to score
        every = [d[0] for d in self._con.execute(self.scoring_sql).description]
        self.score_columns = [c for c in every if c in _SCORES or c.startswith(("gamma_", "tf_"))]
        kept = ", ".join(f'"{c}"' for c in self.score_columns)
        self._con.execute(
            f"PREPARE {self._statement} AS SELECT {kept} FROM ({self.scoring_sql}) AS scored"
        )

    @property
    def linker(self) -> Linker:
        """Splink's linker on the master and its published term frequencies (built once)."""
        if self._linker is None:
            db_api, index = self._db_api, self.index
            sdf = db_api.register(
                index.scoring_table, dataset_display_name=f"{self.entity_type}_master"
            )
            self._linker = Linker(sdf, self.model, log_level=None)
            for column, frequencies in index.tf.items():
                # the published frequencies, not a recount: Splink then computes no tf table
                lookup = pa.table(
                    {
                        column: pa.array(
                            list(frequencies), type=index.table.schema.field(column).type
                        ),
                        f"tf_{column}": pa.array(list(frequencies.values()), type=pa.float64()),
                    }
                )
                self._linker.table_management.register_term_frequency_lookup(
                    db_api.register(lookup, dataset_display_name=f"tf_{column}_lookup"), column
                )
        return self._linker

    def candidates(self, probe: pa.Table, within: frozenset[str] | None = None) -> list[int]:
        """Rows of the master records sharing a blocking key with the prepared ``probe``
        (of the records ``within``, when given)."""
        return self.index.candidates(probe, MAX_CANDIDATES, within)

    def _scoring_sql(self) -> str:
        """The SQL ``score_pairs`` runs for (probe × candidates), captured, not executed.

        It reads ``_PROBE`` and ``_CANDIDATES``, registered once (``_Rows``), whose rows every
        check replaces. Term frequencies travel with the records as ``tf_<column>``, so Splink joins no
        frequency table.
        """
        db_api, linker = self._db_api, self.linker
        left = db_api.table_to_splink_dataframe("__splink__compare_two_records_left", _PROBE)
        right = db_api.table_to_splink_dataframe("__splink__compare_two_records_right", _CANDIDATES)
        captured: list[str] = []
        execute = db_api.sql_pipeline_to_splink_dataframe

        def capture(pipeline):
            captured.append(pipeline.generate_cte_pipeline_sql())
            return execute(pipeline)

        db_api.sql_pipeline_to_splink_dataframe = capture  # type: ignore[method-assign]
        try:
            linker.inference.score_pairs(left, right)
        finally:
            del db_api.sql_pipeline_to_splink_dataframe
        return captured[0]

    def score_rows(self, probe: pa.Table, rows: list[int]) -> list[dict[str, Any]]:
        """Splink's scores of the prepared ``probe`` record(s) against master ``rows``: one
        dict per pair (``score_columns``) with the ``customer_id`` and golden-side
        ``candidate_name`` of the candidate record, in the statement's order."""
        for column, tf in self.index.tf.items():
            values = [tf.get(v) for v in probe.column(column).to_pylist()]
            probe = probe.append_column(f"tf_{column}", pa.array(values, type=pa.float64()))
        taken = pa.array(rows, type=pa.int64())
        self._probe.rows = probe.cast(self.table.schema)
        candidates, customer_ids, candidate_names = self.index.take(taken)
        self._candidates.rows = candidates
        try:
            scored = self._con.execute(f"EXECUTE {self._statement}").fetchall()
        finally:
            self._probe.rows = self._candidates.rows = self.table.slice(0, 0)
        keys = candidates.column("record_key").to_pylist()
        ids = customer_ids.to_pylist()
        names = candidate_names.to_pylist()
        of_key = {key: (i, n) for key, i, n in zip(keys, ids, names, strict=True)}
        out = []
        for scores in scored:
            pair = dict(zip(self.score_columns, scores, strict=True))
            customer_id, name = of_key[pair["record_key_r"]]
            out.append(pair | {"customer_id": customer_id, "candidate_name": name})
        return out

    def score(self, probe: pa.Table, rows: list[int]) -> pd.DataFrame:
        """``score_rows`` as a table (for inspection and the tests)."""
        return pd.DataFrame(
            self.score_rows(probe, rows),
            columns=[*self.score_columns, "customer_id", "candidate_name"],
        )

    def score_with_splink(self, probe: pd.DataFrame, rows: list[int]) -> pd.DataFrame:
        """The same scores through Splink's ``score_pairs`` (slow; the reference in tests)."""
        candidates = self.index.scoring_table.take(pa.array(rows, type=pa.int64()))
        left = [_plain(r) for r in probe.to_dict("records")]
        right = [_plain(r) for r in candidates.to_pylist()]
        return self.linker.inference.score_pairs(left, right).as_pandas_dataframe()

    def close(self) -> None:
        self._database.__exit__(None, None, None)


class _Rows:
    """The rows one check scores, behind a name registered once in DuckDB.

    DuckDB reads a registered object with the Arrow PyCapsule interface
    (``__arrow_c_stream__``) anew at every execution of a prepared statement, so the
    scoring statement is planned once and sees each check's rows. The alternatives cost a
    check more than the scoring itself: the statement on temporary tables was planned again
    at every execution (about 20 ms of binding and optimising Splink's SQL for 0.4 ms of
    work) after 8 ms of inserts; a re-registered Arrow table is not seen by a prepared
    statement at all (it keeps scoring the rows it was prepared with).
    """

    def __init__(self, rows: pa.Table) -> None:
        self.rows = rows

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        return self.rows.__arrow_c_stream__(requested_schema)


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """Values Splink can register: numpy arrays as lists, pandas missing values as None."""
    out = {}
    for key, value in row.items():
        if hasattr(value, "tolist"):
            value = value.tolist()
        elif value is pd.NA or (isinstance(value, float) and value != value):
            value = None
        elif isinstance(value, pd.Timestamp):
            value = value.date()
        out[key] = value
    return out


def master_records(
    con: duckdb.DuckDBPyConnection, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """The current master records of the warehouse on ``con``: staged columns and
    customer_id, or only ``columns``."""
    select = "*" if columns is None else ", ".join(columns)
    return con.sql(f"SELECT {select} FROM {CURRENT_RECORDS}").df()


def load_checker(
    warehouse_path: Path, model_dir: Path, junk: JunkRules | None = None
) -> DuplicateChecker:
    """A checker on a deployment's warehouse (current master records) and saved models."""
    if not warehouse_path.exists():
        raise FileNotFoundError(f"{warehouse_path}: no warehouse yet; run `custmaster run` first")
    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        records = master_records(con)
    except duckdb.CatalogException as exc:
        raise FileNotFoundError(
            f"{warehouse_path}: no master yet; run `custmaster run` first"
        ) from exc
    finally:
        con.close()
    models = {}
    for entity_type in ENTITY_TYPES:
        version = latest_version(model_dir, entity_type)
        if version is not None:
            models[entity_type] = version.load()
    if not models:
        raise FileNotFoundError(f"{model_dir}: no saved model; run `custmaster run` first")
    return DuplicateChecker(records, models, junk)


def build_check_indexes(
    records: pd.DataFrame,
    models: dict[str, dict[str, Any]],
    junk: JunkRules,
    prepared: Mapping[str, PreparedRecords] | None = None,
) -> dict[str, CheckIndex]:
    """A check index per entity type that has a model and at least two master records
    (``prepared``: the sync's prepared records, see ``check_index.build_check_index``)."""
    return {
        entity_type: build_check_index(
            records[records["entity_type"] == entity_type],
            model,
            entity_type,
            junk,
            None if prepared is None else prepared[entity_type],
        )
        for entity_type, model in models.items()
        if (records["entity_type"] == entity_type).sum() >= 2
    }


class DuplicateChecker:
    """Answers duplicate checks against one master, after a one-off start-up.

    Args:
        records: the master's current records: staged columns plus ``customer_id``.
        models: entity type → the saved model the pipeline predicts with.
        junk: the junk-value limits the models were trained with.
        indexes: check indexes already built (``build_check_indexes``, or loaded from what
            the pipeline published): then ``records`` is not read and may be None.
        scoring_sql: entity type → the scoring statement saved with the indexes
            (``scoring_sql()``); without it, it is generated by Splink.
    """

    def __init__(
        self,
        records: pd.DataFrame | None,
        models: dict[str, dict[str, Any]],
        junk: JunkRules | None = None,
        indexes: dict[str, CheckIndex] | None = None,
        scoring_sql: dict[str, str] | None = None,
    ) -> None:
        junk = junk or JunkRules()
        if indexes is None:
            if records is None:
                raise ValueError("give the master records or their check indexes")
            indexes = build_check_indexes(records, models, junk)
        scoring_sql = scoring_sql or {}
        self._index = {
            entity_type: _EntityIndex(index, models[entity_type], scoring_sql.get(entity_type))
            for entity_type, index in indexes.items()
        }
        self._junk = junk

    def scoring_sql(self) -> dict[str, str]:
        """Entity type → the scoring statement's SQL (saved with a published index)."""
        return {entity_type: index.scoring_sql for entity_type, index in self._index.items()}

    def close(self) -> None:
        for index in self._index.values():
            index.close()

    def check(
        self,
        *,
        entity_type: str | None = None,
        limit: int = 5,
        within: frozenset[str] | None = None,
        **fields: str | None,
    ) -> list[Candidate]:
        """The most likely existing customers for the given fields, best first.

        Args:
            entity_type: company / person; guessed from the input when not given (a USCC
                or a legal form in the name means a company).
            limit: most candidates returned.
            within: the record keys to answer from (a role's records); every record when
                None. Blocked candidates are cut to them before the cap of
                ``MAX_CANDIDATES`` scored records.
            fields: any of name, phone, mobile, email, address, uscc, id_number.
        """
        unknown = sorted(set(fields) - set(CHECK_FIELDS))
        if unknown:
            raise ValueError(
                f"unknown field(s) {', '.join(unknown)}; known: {', '.join(CHECK_FIELDS)}"
            )
        if not any(fields.values()):
            raise ValueError("give at least one of: " + ", ".join(CHECK_FIELDS))
        if entity_type is not None and entity_type not in ENTITY_TYPES:
            raise ValueError(
                f"entity_type must be one of {', '.join(ENTITY_TYPES)}, got {entity_type!r}"
            )
        types = [entity_type] if entity_type else [t for t in ENTITY_TYPES if t in self._index]
        form = _form(fields)
        found: list[Candidate] = []
        for kind in types:
            index = self._index.get(kind)
            if index is None:
                continue
            staged = stage_form(form, kind, _input_key(kind))
            if entity_type is None and not _plausible(staged, kind):
                continue
            probe = prepare_record(staged, kind)
            rows = index.candidates(probe, within)
            if rows:
                found += _best_per_customer(index, index.score_rows(probe, rows), limit)
        found.sort(key=lambda c: (-c.probability, c.customer_id))
        return found[:limit]


#: A form as a person fills it in, run once per process by ``warm_up``.
_WARM_UP_FIELDS: dict[str, str | None] = {
    "name": "廈門市洪來文印有限公司",
    "phone": "(0592)555 1234",
    "mobile": "+86 138 0013 8000",
    "email": "Info@Example.COM",
    "address": "福建省厦门市思明区湖滨南路100号",
    "uscc": "91350200MA2Y0X8X1K",
    "id_number": "35020319800101123X",
}


_warmed = threading.Event()


def warm_up() -> None:
    """Load what standardising a form's fields loads on first use (OpenCC, pypinyin and
    its place-name readings, phone metadata, the place tables): seconds of CPU once per
    process, paid at start-up instead of by the first check. Later calls do nothing."""
    if _warmed.is_set():
        return
    for kind in ENTITY_TYPES:
        prepare_records(standardise_input(_WARM_UP_FIELDS, kind), kind)
        prepare_record(stage_form(_form(_WARM_UP_FIELDS), kind, _input_key(kind)), kind)
    _warmed.set()


def _form(fields: dict[str, str | None]) -> dict[str, str | None]:
    """The form's fields trimmed; blank ones as None."""
    return {k: (v.strip() if isinstance(v, str) and v.strip() else None) for k, v in fields.items()}


def _input_key(entity_type: str) -> str:
    """The record key of the checked input (the scoring statement's left record)."""
    return f"check:input_{entity_type}"


def standardise_input(fields: dict[str, str | None], entity_types: str | list[str]) -> pd.DataFrame:
    """A form's fields staged by the pipeline's own ``stage_records``: one record per entity
    type asked, every staged column (a check itself stages with ``stage_form``, the same
    values of the columns it reads, without pandas)."""
    kinds = [entity_types] if isinstance(entity_types, str) else entity_types
    mapped = pd.DataFrame(
        [
            {
                "source": "check",
                "source_record_id": _input_key(kind).removeprefix("check:"),
                "source_file": None,
                "source_row": 0,
                "ingested_at": datetime.now(UTC).replace(tzinfo=None),
                "record_hash": None,
                "entity_type": kind,
                **_form(fields),
            }
            for kind in kinds
        ]
    )
    return stage_records(mapped, {"check": "other"}, date.today())


def _plausible(staged: dict[str, Any], entity_type: str) -> bool:
    """Whether an input of unknown type can be this type (a USCC or legal form: a company)."""
    company_like = staged["uscc"] is not None or staged["legal_form"] is not None
    person_like = staged["id_number"] is not None
    if entity_type == "person":
        return not company_like
    return not person_like


def _best_per_customer(
    index: _EntityIndex, scored: list[dict[str, Any]], limit: int
) -> list[Candidate]:
    """The ``limit`` best customers among the scored records, each by its best record (of
    equal ones, the first the statement returned)."""
    ranked = sorted(scored, key=lambda p: (-p["match_probability"], p["customer_id"]))
    out: list[Candidate] = []
    seen: set[str] = set()
    for values in ranked:
        customer_id = str(values["customer_id"])
        if len(out) >= limit:
            break
        if customer_id in seen:
            continue
        seen.add(customer_id)
        reasons = [
            f"{comparison}: {labels[gamma]}"
            for comparison, labels in index.labels.items()
            if (gamma := values.get(f"gamma_{comparison}")) is not None and gamma > 0
        ]
        name = values["candidate_name"]
        out.append(
            Candidate(
                customer_id=customer_id,
                probability=float(values["match_probability"]),
                match_weight=float(values["match_weight"]),
                name=name if isinstance(name, str) else None,
                record_key=str(values["record_key_r"]),
                reasons=reasons,
            )
        )
    return out

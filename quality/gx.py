"""Great Expectations 1.x, kept at arm's length: suites described in code, validated on pandas.

A suite here is a plain description: which Dagster check each expectation belongs to, the
Great Expectations expectation class and its arguments. :func:`validate` turns it into a
real ``ExpectationSuite`` and validates a DataFrame read from the warehouse with GX's
pandas data source in an ephemeral context (GX's SQL data source does not work on a DuckDB
file; see ``../shared/STACK_NOTES.md``). GX is imported inside the validating functions only: it
takes seconds to import, and loading the Dagster definitions must stay fast.

The result is split by check: each gets a :class:`~quality.results.CheckOutcome` with the
failing expectations and example values (with the key columns of the rows that hold them),
and its part of GX's validation result as JSON.

Where the values an expectation reads were measured elsewhere (repeated keys counted in
DuckDB), :func:`validate_metrics` has GX's own expectations judge those measures, with the
outcome a validation of the whole table gives.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import logging
import os
import sys
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from quality.results import CheckDef, CheckOutcome

logger = logging.getLogger(__name__)

#: Example values kept per failing expectation.
EXAMPLES = 10
#: The result format of every validation: counts, and the first ``EXAMPLES`` unexpected rows.
SUMMARY: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES}
DATASOURCE = "customer_master"


@dataclass(frozen=True)
class Expect:
    """One expectation of a suite.

    Attributes:
        check: the Dagster check it belongs to.
        kind: a Great Expectations expectation class (``ExpectColumnValuesToBeUnique``).
        kwargs: its arguments (``column``, ``mostly``, ``value_set``, …).
        says: what an unexpected value is, for people ("source_record_id values that repeat").
    """

    check: str
    kind: str
    kwargs: Mapping[str, Any]
    says: str


@dataclass(frozen=True)
class Suite:
    """The expectations of one guarded table, grouped into the checks shown in Dagster.

    Attributes:
        name: the table (``staging.customers``).
        checks: every check the suite feeds, with its severity.
        expectations: the expectations, each naming its check.
        index_columns: columns that identify an unexpected row in the examples.
    """

    name: str
    checks: tuple[CheckDef, ...]
    expectations: tuple[Expect, ...]
    index_columns: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rows:
    """A table to validate, narrowed to the columns its expectations read.

    Converting a wide table to pandas costs more than validating it: the lineage frame
    (one row per golden value, four text columns kept only to name bad rows) took 2.9 s to
    convert and 4.4 s to validate at 700k rows; its three checked columns alone 0.1 s and
    0.6 s (loaded machine). So GX gets every row with only the checked columns, and the
    columns that name a row (``Suite.index_columns``) are fetched for the few example rows.

    Attributes:
        frame: every row of the table, with the columns the expectations read.
        keys: row labels of ``frame`` → their index columns, indexed by those labels.
    """

    frame: pd.DataFrame
    keys: Callable[[list[int]], pd.DataFrame]


def read_frame(con: Any, sql: str) -> pd.DataFrame:
    """The result of ``sql`` as the DataFrame a suite validates: text columns in Arrow memory
    (``pd.ArrowDtype``), every other column as DuckDB's ``df()`` gives it.

    ``df()`` makes a Python string of every text value, and GX's pandas engine then tests
    each for null one by one; in Arrow memory both are vectorised. The values, the
    outcomes and the examples are the same (Python strings when read back). Measured on
    the staged suite at 1M records (1.38M rows, seven text columns, loaded machine):
    validation took 2.5 s of CPU instead of 3.5 s, the same JSON result. The other
    types keep DuckDB's conversion (nullable integers and booleans as pandas' masked
    types), so what GX compares, and the values it reports, do not change.
    """
    import pyarrow as pa

    table = con.sql(sql).to_arrow_table()
    text = {
        name
        for name, kind in zip(table.column_names, table.schema.types, strict=True)
        if pa.types.is_string(kind) or pa.types.is_large_string(kind)
    }
    other = [c for c in table.column_names if c not in text]
    if not text:
        return con.from_arrow(table).df()
    frame = table.select([c for c in table.column_names if c in text]).to_pandas(
        types_mapper=pd.ArrowDtype
    )
    if other:
        rest = con.from_arrow(table.select(other)).df()
        for column in other:
            frame[column] = rest[column]
    return frame[table.column_names]


#: What pyspark's Spark Connect client needs besides pyspark (``pyspark.sql.connect.utils``).
SPARK_CONNECT_NEEDS = ("grpc", "grpc_status", "google.rpc", "zstandard")


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is missing
        return False


def _import_gx() -> Any:
    """``great_expectations``, imported safely beside pyspark, and without it where it can.

    On import GX probes pyspark (``great_expectations.compatibility.pyspark``: pyspark.sql,
    pyspark.ml.feature, the Spark Connect client) to support Spark data frames, which are
    never validated here: the suites validate pandas frames. Where the process has not
    imported pyspark (every DuckDB deployment, with the ``spark`` extra installed or not),
    GX is imported as where pyspark is absent: pyspark is marked missing for GX's import
    only, and a later ``import pyspark`` works as before. In a sync after a 1% delta at 100k
    records GX's import took 1.89-1.93 s of CPU instead of 2.05-2.12 s (three runs each);
    pyspark.ml alone was 0.66 s of 6.6 s wall under load (``python -X importtime``).

    ``scipy.stats`` (:data:`DEFERRED`), which GX imports for its KL-divergence and KS-test
    expectations, is bound but loaded only when one of them runs (never, here): in a process
    that had imported what a sync imports before its first check, GX's import took 1.20-1.33 s
    of CPU instead of 1.82-1.94 s (three runs each, load average 7).

    Where pyspark is imported already (a Spark deployment) and installed without the
    Connect client's dependencies (grpc), pyspark ends the whole process with
    ``sys.exit(0)`` when GX probes that client and the main module has no file, as in
    pytest-xdist workers and embedded interpreters. Spark Connect is never used here (Splink
    needs the JVM gateway), so it is marked absent first: GX's probe then gets the
    ImportError it expects, as it would in any other process.
    """
    if "great_expectations" in sys.modules:
        return sys.modules["great_expectations"]
    deferred = [_Deferred(m) for m in DEFERRED if m not in sys.modules and _installed(m)]
    for module in deferred:
        sys.modules[module.__name__] = module
    hidden = "pyspark" not in sys.modules and _installed("pyspark")
    if hidden:
        sys.modules["pyspark"] = None  # type: ignore[assignment]
    elif (
        "pyspark.sql.connect" not in sys.modules
        and _installed("pyspark")
        and not all(_installed(m) for m in SPARK_CONNECT_NEEDS)
    ):
        sys.modules["pyspark.sql.connect"] = None  # type: ignore[assignment]
    try:
        import great_expectations as gx
    finally:
        if hidden and "pyspark" in sys.modules and sys.modules["pyspark"] is None:
            del sys.modules["pyspark"]
        for module in deferred:
            if sys.modules.get(module.__name__) is module:
                del sys.modules[module.__name__]
    return gx


#: Modules GX imports for expectations never used here, loaded when first used instead:
#: ``scipy.stats`` (with ``scipy.optimize`` and ``scipy.sparse``), for the KL-divergence and
#: KS-test expectations only, was about a third of GX's import (see :func:`_import_gx`).
DEFERRED = ("scipy.stats",)


class _Deferred(types.ModuleType):
    """A module that GX's import binds (``from scipy import stats``) without loading it: the
    real module is imported on first use of any of its attributes. Outside GX's import it is
    not in ``sys.modules``, so any other ``import scipy.stats`` loads the real module."""

    def __getattr__(self, name: str) -> Any:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), name)


@functools.lru_cache(maxsize=1)
def _context() -> Any:
    """One ephemeral GX context per process: no files, no analytics, no progress bars, and
    no fingerprint of every frame validated.

    GX's pandas engine hashes each whole DataFrame below ``HASH_THRESHOLD`` bytes (1 GB)
    into a batch marker (``pandas_data_fingerprint``) that nothing here reads. Profiled once
    (py-spy, the raw suite on the 100k demo's feeds, loaded machine): a 167k-row order feed
    validated in 8.0 s with the hash and 1.3 s without.
    A threshold of 0 turns it off; the expectations and their results are unchanged.
    """
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    gx = _import_gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.execution_engine import pandas_execution_engine

    pandas_execution_engine.HASH_THRESHOLD = 0

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def build_suite(suite: Suite, positions: Sequence[int] | None = None) -> Any:
    """The Great Expectations ``ExpectationSuite`` of ``suite`` (of its expectations at
    ``positions`` only, each carrying its position in ``meta``, when given)."""
    gx = _import_gx()
    import great_expectations.expectations as gxe

    built = gx.ExpectationSuite(name=suite.name, meta=dict(suite.meta))
    chosen = range(len(suite.expectations)) if positions is None else positions
    for position in chosen:
        e = suite.expectations[position]
        meta: dict[str, Any] = {"check": e.check, "says": e.says}
        if positions is not None:
            meta[_POSITION] = position
        built.add_expectation(getattr(gxe, e.kind)(**dict(e.kwargs), meta=meta))
    return built


def validate(suite: Suite, table: pd.DataFrame | Rows) -> list[CheckOutcome]:
    """Validate ``table`` against ``suite``; one outcome per check of the suite.

    Args:
        suite: the description of the table's expectations.
        table: the table, or the columns of it the suite reads, as a DataFrame; or
            :class:`Rows` whose key columns are fetched only for example rows.
    Returns:
        One :class:`CheckOutcome` per ``suite.checks``, in that order.
    """
    batches = whole_frames()  # also sets up GX's project, which a suite is built in
    frame = _fast_frame(table.frame if isinstance(table, Rows) else table)
    results: list[tuple[int, dict]] = []
    version = None
    for column, positions in _by_column(suite, frame).items():
        part = frame if column is None else frame[[column]]
        built = build_suite(suite, positions)
        batch = batches.get_batch(batch_parameters={"dataframe": part})
        validation = batch.validate(built, result_format=dict(SUMMARY)).to_json_dict()
        version = validation.get("meta", {}).get("great_expectations_version", version)
        for result in validation["results"]:
            results.append((result["expectation_config"]["meta"].pop(_POSITION), result))
    ordered = [result for _, result in sorted(results, key=lambda r: r[0])]
    _name_examples(ordered, frame, suite.index_columns, table)
    return [_outcome(check, suite, ordered, len(frame), version) for check in suite.checks]


@functools.lru_cache(maxsize=1)
def whole_frames() -> Any:
    """The batch definition every validation goes through (a whole DataFrame, given per
    batch), made once per process.

    GX writes its whole project config out as YAML (ruamel) whenever a data source, asset
    or batch definition is added: made anew for each validation, that was three writes per
    suite. Profiled (cProfile, the raw suite on the 100k demo's twelve feeds in one process,
    loaded machine) they took 6.4 s of 21.8 s; the expectations, their results and the
    examples do not depend on the asset's name.
    """
    datasource = _context().data_sources.add_or_update_pandas(DATASOURCE)
    return datasource.add_dataframe_asset("frame").add_batch_definition_whole_dataframe("run")


#: Meta key that carries an expectation's place in its suite through a validation.
_POSITION = "position"


def _by_column(suite: Suite, frame: pd.DataFrame) -> dict[str | None, list[int]]:
    """Positions of the suite's expectations by the one column each reads (``None``: those
    that read the table, several columns or a column the frame lacks).

    Each expectation on a column is validated on that column alone, with the same row
    labels: GX's pandas engine takes the rows of its domain out of the whole batch for
    every expectation, every column copied each time. Profiled (cProfile, the staged suite
    on the 1M-record demo's 1.38M staged records, loaded machine) that copying was 24 s of
    a 77 s validation; validated column by column the suite took 31-34 s against 73-99 s
    (both ways alternated in one process). Values, counts and example labels are those of
    the whole frame.
    A suite that reads a single column is validated in one batch (a batch has a cost of
    its own: the raw suite, whose frame holds one column of values, ran slower split).
    """
    groups: dict[str | None, list[int]] = {}
    for position, e in enumerate(suite.expectations):
        column = e.kwargs.get("column")
        narrow = (
            isinstance(column, str)
            and column in frame.columns
            and not any(k.startswith(("column_", "row_condition")) for k in e.kwargs)
        )
        groups.setdefault(column if narrow else None, []).append(position)
    if len([c for c in groups if c is not None]) < 2:  # one column: one batch costs less
        return {None: list(range(len(suite.expectations)))}
    return groups


def _fast_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a plain row index and its timestamps in nanoseconds, same values.

    GX's pandas ``ExpectColumnValuesToBeBetween`` compares a ``datetime64[ns]`` column in
    one vectorised step, but any other unit (DuckDB hands over microseconds) element by
    element in Python: profiled on a 100k-row staged frame (three date columns, loaded
    machine, cProfile) that was 13.9 s of 44.7 s. A column whose values do not all fit in
    nanoseconds (before 1677 or after 2262) keeps its unit, and the slow path.
    """
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None:
        frame = frame.reset_index(drop=True)
    return nanosecond_times(frame)


def nanosecond_times(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its timestamps in nanoseconds where they fit (see ``_fast_frame``)."""
    slow = [
        c
        for c, dtype in frame.dtypes.items()
        if pd.api.types.is_datetime64_dtype(dtype) and dtype != "datetime64[ns]"
    ]
    if not slow:
        return frame
    frame = frame.copy(deep=False)
    for column in slow:
        try:
            frame[column] = frame[column].astype("datetime64[ns]")
        except (OverflowError, pd.errors.OutOfBoundsDatetime):
            logger.debug("%s keeps its unit: a value does not fit in nanoseconds", column)
    return frame


def _name_examples(
    results: list[dict],
    frame: pd.DataFrame,
    index_columns: Sequence[str],
    table: pd.DataFrame | Rows,
) -> None:
    """Name the rows of each result's examples by ``index_columns``, as GX itself would.

    Asked for ``unexpected_index_column_names``, GX builds a dict for *every* unexpected
    row, one ``DataFrame.at`` per cell, and then keeps the first ten: on a 100k-row staged
    frame with a fifth of the phones invalid that was 16.1 s of 44.7 s (cProfile, loaded
    machine), and it grows with the number of bad rows. Asked without them, GX returns the
    row labels of the first ten; this turns those into the same dicts (the expectation's
    column, then the index columns) with GX's own JSON conversion, so the result reads
    exactly as before (``tests/quality/test_gx_examples.py`` compares both).
    """
    wanted = [
        r["result"]["partial_unexpected_index_list"]
        for r in results
        if (r.get("result") or {}).get("partial_unexpected_index_list") is not None
    ]
    if isinstance(table, Rows):
        labels = sorted({label for labels in wanted for label in labels})
        keys = table.keys(labels) if labels else pd.DataFrame()
        index = list(index_columns)
    else:
        keys = frame
        index = [c for c in index_columns if c in frame.columns]
    if not index or not wanted:
        return
    from great_expectations.util import convert_to_json_serializable

    for result in results:
        body = result.get("result") or {}
        examples = body.get("partial_unexpected_index_list")
        if examples is None:
            continue
        column = result["expectation_config"]["kwargs"].get("column")
        named = []
        for label in examples:
            row: dict[str, Any] = {}
            for name in [column] if column is not None else []:
                row[name] = frame.at[label, name]
                for key in index:
                    row[key] = keys.at[label, key]
            named.append(row)
        body["unexpected_index_column_names"] = index
        body["partial_unexpected_index_list"] = convert_to_json_serializable(named)


def _outcome(
    check: CheckDef, suite: Suite, results: list[dict], rows: int, version: str | None
) -> CheckOutcome:
    mine = [r for r in results if r["expectation_config"]["meta"].get("check") == check.name]
    failing = [r for r in mine if not r["success"]]
    summaries = [_summary(r) for r in failing]
    passed = not failing
    description = (
        "ok: " + "; ".join(_summary(r)["found"] for r in mine)
        if passed
        else "; ".join(s["found"] for s in summaries)
    )
    metadata: dict[str, Any] = {"rows_validated": rows, "expectations": len(mine)}
    if failing:
        metadata["failing_expectations"] = summaries
    metadata.update(_headline(mine))
    return CheckOutcome(
        name=check.name,
        passed=passed,
        description=description,
        metadata=metadata,
        severity=check.severity,
        details={
            "suite": suite.name,
            "rows_validated": rows,
            "great_expectations_version": version,
            "success": passed,
            "statistics": {
                "evaluated_expectations": len(mine),
                "successful_expectations": len(mine) - len(failing),
                "unsuccessful_expectations": len(failing),
            },
            "results": mine,
        },
    )


def _headline(results: list[dict]) -> dict[str, Any]:
    """Shares and observed values worth a column of their own in the Dagster UI."""
    out: dict[str, Any] = {}
    for r in results:
        config, result = r["expectation_config"], r.get("result", {})
        column = config["kwargs"].get("column")
        if "unexpected_percent" in result and column and result["unexpected_percent"] is not None:
            out[f"{column}_unexpected_percent"] = round(float(result["unexpected_percent"]), 3)
        elif config["type"].startswith("expect_table_row_count"):
            out["row_count"] = result.get("observed_value")
    return out


def _summary(result: dict) -> dict[str, Any]:
    """A failing expectation in a person's words, with example values."""
    config = result["expectation_config"]
    kwargs = {k: v for k, v in config["kwargs"].items() if k != "batch_id"}
    says = config["meta"].get("says", config["type"])
    body = result.get("result", {})
    exception = result.get("exception_info", {})
    summary: dict[str, Any] = {"expectation": config["type"], "kwargs": _short(kwargs)}
    if exception.get("raised_exception"):
        summary["found"] = f"{says}: the expectation raised {exception.get('exception_message')}"
        return summary
    if "unexpected_count" in body:
        checked = body.get("element_count", 0) - (body.get("missing_count") or 0)
        share = body.get("unexpected_percent") or 0.0
        allowed = (1 - kwargs["mostly"]) * 100 if "mostly" in kwargs else 0.0
        found = f"{body['unexpected_count']:,} of {checked:,} {says} ({share:.1f}%"
        found += f", at most {allowed:.1f}% allowed)" if allowed else ")"
        summary.update(
            found=found,
            unexpected=body["unexpected_count"],
            checked=checked,
            unexpected_percent=round(share, 3),
            examples=body.get("partial_unexpected_index_list")
            or body.get("partial_unexpected_list", [])[:EXAMPLES],
        )
        return summary
    observed = body.get("observed_value")
    details = body.get("details", {})
    missing = details.get("mismatched", {}).get("missing") if isinstance(details, dict) else None
    if missing:
        summary.update(found=f"{says}: missing {', '.join(map(str, missing))}", missing=missing)
    elif config["type"] == "expect_table_columns_to_match_set":
        summary.update(found=f"{says}: all {len(kwargs['column_set'])} present")
    else:
        bounds = {k: kwargs[k] for k in ("min_value", "max_value", "value") if k in kwargs}
        summary.update(found=f"{says}: observed {observed} (expected {_bounds(bounds)})")
    summary["observed"] = observed
    return summary


def _bounds(bounds: Mapping[str, Any]) -> str:
    if "value" in bounds:
        return f"= {bounds['value']}"
    low, high = bounds.get("min_value"), bounds.get("max_value")
    if low is not None and high is not None:
        return f"between {low} and {high}"
    return f"≥ {low}" if low is not None else f"≤ {high}"


def _short(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Arguments as shown in metadata: long value sets cut to their first values."""
    out: dict[str, Any] = {}
    for key, value in kwargs.items():
        if isinstance(value, Sequence) and not isinstance(value, str) and len(value) > 8:
            out[key] = [*list(value)[:8], f"… {len(value)} values"]
        else:
            out[key] = value
    return out


def validate_metrics(
    suite: Suite, metrics: Mapping[int, Mapping[str, Any]], rows: int, examples: pd.DataFrame
) -> list[CheckOutcome]:
    """The outcomes of ``suite`` on a table whose metrics were measured elsewhere (DuckDB
    SQL): what :func:`validate` gives on the whole table, without reading it into pandas.

    ``metrics`` gives, per expectation position, the values GX's own expectation reads to
    judge it (``table.row_count``, ``table.columns``, ``<map metric>.unexpected_count``, the
    first ``EXAMPLES`` unexpected values and their row labels, …); the expectation itself
    decides (its rule for ``mostly``, its percentages, its result's form), as it does in a
    validation. ``examples``: the rows those labels name, with ``suite.index_columns``.
    """
    gx = _import_gx()
    import great_expectations.expectations as gxe

    batch_id = _batch_id()
    ordered = []
    for position, e in enumerate(suite.expectations):
        expectation = getattr(gxe, e.kind)(
            **dict(e.kwargs), batch_id=batch_id, meta={"check": e.check, "says": e.says}
        )
        raw = expectation._validate(
            dict(metrics[position]), runtime_configuration={"result_format": dict(SUMMARY)}
        )
        ordered.append(expectation._build_evr(raw).to_json_dict())
    _name_examples(ordered, examples, suite.index_columns, examples)
    return [_outcome(check, suite, ordered, rows, gx.__version__) for check in suite.checks]


@functools.lru_cache(maxsize=1)
def _batch_id() -> str:
    """The batch every validation here goes through (GX names it in each expectation's
    arguments)."""
    return str(whole_frames().get_batch(batch_parameters={"dataframe": pd.DataFrame()}).id)

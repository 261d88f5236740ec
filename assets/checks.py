"""The one way to declare a quality check: a :class:`Guard` on the asset, in a :func:`check_step`.

A guard names the asset it guards, its checks (:class:`~quality.results.CheckDef`: name,
severity, meaning; the names are constants of the ``quality/`` module that computes them)
and a function that evaluates them on the warehouse. The asset module declares its guards
next to its assets and groups those that are ready together into one check step::

    # assets/staging.py, below the staging asset
    from assets.checks import Guard, check_step
    from quality.staging_checks import RECORD_KEY_UNIQUE, check_record_key_unique

    def _staged_checks(con, run_id, config) -> list[CheckOutcome]:
        return [check_record_key_unique(con)]  # one outcome per CheckDef of the guard

    STAGING_CHECKS = check_step(
        "staging_quality",  # the Dagster step; one per group of assets ready together
        [Guard(STAGED_CUSTOMERS, (RECORD_KEY_UNIQUE,), _staged_checks)],
        "Each staged record has its own record_key (blocking).",
    )

and ``pipelines/definitions.py`` lists ``STAGING_CHECKS`` among its ``asset_checks``. A new
check is a ``CheckDef`` constant and an evaluation in ``quality/``, added to the guard of
the asset it checks, in that asset's module.

What the step does with each outcome, the same for every check:

- severity ``error`` makes the check *blocking*: when it fails, nothing downstream of the
  guarded asset runs in that run (``custmaster run`` then exits 1); ``warn`` only reports;
- its full record is written to ``<output_dir>/quality/<run_id>/<schema>.<table>.<check>.json``
  and linked from the check's metadata; a failure is logged as a warning;
- only the checks selected for the run are evaluated (a run without checks skips them all).

Why a step per group of assets, not one per check or checks inside the asset body: a
Dagster step has a cost of its own, paid per step. Measured here on a persistent
instance (``benchmarks/bench_check_steps.py``: 8 assets × 4 checks, best of 5 runs): no
checks 1.0 s a run; all 32 checks in one step 3.1 s; inside the asset bodies 2.8 s; a step
per check 4.1 s. An extra step costs about 35 ms (0.15 s while the two cores are busy),
so a step per check would add about 2 s to a sync with 62 checks. Checks inside the asset
bodies save a little more, but cannot be run again without rebuilding the table and make
every asset body handle check selection; separate steps keep asset bodies thin.

Where a blocking check of a step guards an asset that another asset of the same step reads,
Dagster splits the step in two (the sync runs ``marts_quality_2`` before
``marts__followup_today`` and ``marts_quality`` after it).
"""

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd

from assets.resources import Deployment, Warehouse
from assets.step_work import deployment_settings, run_table_fingerprint
from quality import memo
from quality.gx import Rows, Suite, validate
from quality.kept_verdicts import validate_in_warehouse
from quality.results import CheckDef, CheckOutcome
from sources.config import PipelineConfig
from warehouse.files import write_json_atomically
from warehouse.step_inputs import code_fingerprint, fingerprint, inputs_snapshot

SEVERITY = {"error": dg.AssetCheckSeverity.ERROR, "warn": dg.AssetCheckSeverity.WARN}

#: How a guard evaluates its checks: (warehouse connection, run id, config) → outcomes.
Evaluate = Callable[[duckdb.DuckDBPyConnection, str, PipelineConfig], list[CheckOutcome]]


@dataclass(frozen=True)
class Guard:
    """The checks on one asset and how to evaluate them.

    Attributes:
        asset_key: the asset guarded.
        checks: its checks, in the order they are shown; ``error`` ones are blocking.
        evaluate: (warehouse connection, run id, config) → one outcome per check.
    """

    asset_key: dg.AssetKey
    checks: tuple[CheckDef, ...]
    evaluate: Evaluate
    #: whether a sync whose inputs are unchanged may report the last outcomes again
    #: (``quality.memo``); False for checks about the run itself (ID churn of this run)
    memo: bool = True
    #: whether the checks read nothing but the guarded table (with the config and code):
    #: then the last outcomes are reported again whenever that table is unchanged, even
    #: in a sync whose other inputs changed (a delta that did not touch this mart)
    own_table_only: bool = False


def suite_guard(
    asset_key: dg.AssetKey,
    suite: Suite,
    frame: Callable[[duckdb.DuckDBPyConnection], pd.DataFrame | Rows],
    *,
    own_table_only: bool = False,
) -> Guard:
    """The guard of an expectation suite (``quality.gx``), validated on ``frame(con)``;
    ``own_table_only`` when ``frame`` reads the guarded table and nothing else."""
    return Guard(
        asset_key,
        suite.checks,
        lambda con, _run, _cfg: validate(suite, frame(con)),
        own_table_only=own_table_only,
    )


def warehouse_suite_guard(
    asset_key: dg.AssetKey,
    suite: Suite,
    sql: Callable[[duckdb.DuckDBPyConnection], str],
    *,
    own_table_only: bool = False,
) -> Guard:
    """The guard of an expectation suite validated in the warehouse on the frame ``sql(con)``
    selects, GX judging only values it has not judged before (``quality.kept_verdicts``):
    the outcomes of :func:`suite_guard` on that frame, at a delta's cost."""
    return Guard(
        asset_key,
        suite.checks,
        lambda con, _run, _cfg: validate_in_warehouse(con, suite, sql(con)),
        own_table_only=own_table_only,
    )


def check_step(name: str, guards: Sequence[Guard], description: str) -> dg.AssetChecksDefinition:
    """One Dagster step named ``name`` that evaluates ``guards`` (the checks selected for the run)."""
    specs = [spec for g in guards for spec in check_specs(g.asset_key, g.checks)]

    @dg.multi_asset_check(specs=specs, name=name, description=description, can_subset=True)
    def _quality(
        context: dg.AssetCheckExecutionContext, deployment: Deployment, warehouse: Warehouse
    ) -> Iterator[dg.AssetCheckResult]:
        config, run_id = deployment.config, context.run.run_id
        selected = context.selected_asset_check_keys
        for guard in guards:
            wanted = {c.name for c in guard.checks} & {
                k.name for k in selected if k.asset_key == guard.asset_key
            }
            if not wanted:
                continue
            with warehouse.connect() as con:
                outcomes = [
                    o for o in _evaluate(guard, con, warehouse, run_id, config) if o.name in wanted
                ]
            for outcome in outcomes:
                if not outcome.passed:
                    context.log.warning(
                        f"{guard.asset_key.to_user_string()} · {outcome.name}: {outcome.description}"
                    )
            yield from stored_results(outcomes, guard.asset_key, run_id, config.output_path)

    return _quality


def _evaluate(
    guard: Guard,
    con: duckdb.DuckDBPyConnection,
    warehouse: Warehouse,
    run_id: str,
    config: PipelineConfig,
) -> list[CheckOutcome]:
    """The guard's outcomes: evaluated, or those of the last run that saw the same inputs
    (for a guard of its own table only: the same table), naming that run (or the run an
    outcome already named: a raw key check reported again from an earlier run)."""
    if not guard.memo:
        return guard.evaluate(con, run_id, config)
    table = ".".join(guard.asset_key.path)
    name = f"{table}:{','.join(c.name for c in guard.checks)}"
    key = fingerprint(
        code_fingerprint(),
        deployment_settings(config),
        run_table_fingerprint(con, warehouse, table, run_id)
        if len(guard.asset_key.path) == 2
        else "",
        "" if guard.own_table_only else inputs_snapshot(con, run_id),
    )
    kept = memo.recall(con, name, key)
    if kept is not None:
        earlier, outcomes = kept
        return [replace(o, metadata={"evaluated_in_run": earlier, **o.metadata}) for o in outcomes]
    outcomes = guard.evaluate(con, run_id, config)
    memo.keep(con, name, key, run_id, outcomes)
    return outcomes


def check_specs(asset_key: dg.AssetKey, checks: Sequence[CheckDef]) -> list[dg.AssetCheckSpec]:
    """Specs of ``checks`` on ``asset_key``: blocking exactly when their severity is error."""
    return [
        dg.AssetCheckSpec(c.name, asset=asset_key, blocking=c.blocking, description=c.description)
        for c in checks
    ]


def result_path(output_dir: Path, run_id: str, asset_key: dg.AssetKey, check: str) -> Path:
    """``<output_dir>/quality/<run_id>/<schema>.<table>.<check>.json``."""
    return output_dir / "quality" / run_id / f"{'.'.join(asset_key.path)}.{check}.json"


def check_result(
    outcome: CheckOutcome, asset_key: dg.AssetKey | None = None, stored: Path | None = None
) -> dg.AssetCheckResult:
    """A plain quality verdict as a Dagster check result, with its severity and metadata."""
    metadata: dict[str, Any] = {
        k: dg.MetadataValue.json(v) if isinstance(v, list | dict) else v
        for k, v in outcome.metadata.items()
        if v is not None
    }
    if stored is not None:
        metadata["result_json"] = dg.MetadataValue.path(str(stored))
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=outcome.name if asset_key is not None else None,
        passed=outcome.passed,
        severity=SEVERITY[outcome.severity],
        description=outcome.description,
        metadata=metadata,
    )


def stored_results(
    outcomes: Iterable[CheckOutcome], asset_key: dg.AssetKey, run_id: str, output_dir: Path
) -> Iterator[dg.AssetCheckResult]:
    """Write each outcome's full record as JSON for the run, and yield its check result."""
    for outcome in outcomes:
        path = write_json_atomically(
            result_path(output_dir, run_id, asset_key, outcome.name),
            {"run_id": run_id, "asset": asset_key.to_user_string(), **outcome.as_record()},
        )
        yield check_result(outcome, asset_key, path)

"""Baseline: what a data engineer would do with Splink alone on the same exports.

The yardstick for the pipeline's matching. It starts from the same raw layer
(``raw.<source>`` of a warehouse built by ``custmaster run``) and does what a
competent engineer who knows Splink, but has none of this project's standardisers,
would do in an afternoon:

- map each source's columns onto name / phone / mobile / email / address with the
  deployment's own column mapping (mapped columns joined with a space; the address
  gets province, city and district in front when the source maps them separately);
  values lower-cased and trimmed, empty text as null, nothing else;
- Splink 5 on an in-memory DuckDB, one table of all sources (``dedupe_only``), with
  comparisons from Splink's comparison library at their defaults: Jaro-Winkler on the
  name (0.9 / 0.7, term-frequency adjusted as Splink's tutorials do), exact phone,
  exact mobile, exact e-mail, Jaro-Winkler on the address;
- blocking on the same phone, mobile, e-mail, or first two characters of the name;
- match prior from near-certain rules, u by random sampling, m by EM (sessions
  blocked on name prefix, mobile and phone), Splink's own clustering at 0.9.

What it does not know (and the pipeline does): that DuckDB's Jaro-Winkler works on
UTF-8 bytes (two Chinese strings look alike), phone formats, legal forms and places
in company names, traditional vs simplified script, companies vs persons, junk
values. Contact persons named on company rows are not records in the raw tables,
so they are not in the baseline and are not scored (the pipeline derives them as
person records of their own); compare on the records both have.

    .venv/bin/python benchmarks/bench_matching_baseline.py --config demo/customer_master.yaml
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from matching.linkage.evaluation import ClusterScores, score_clusters  # noqa: E402
from sources.config import PipelineConfig, SourceConfig, load_config  # noqa: E402

logger = logging.getLogger("bench_matching_baseline")

#: The fields the baseline compares.
FIELDS = ("name", "phone", "mobile", "email", "address")
#: Mapped fields that make up the address, in the order they are written.
ADDRESS_PARTS = ("province", "city", "district", "address")
SEED = 42
U_MAX_PAIRS = 1e7
DETERMINISTIC_RECALL = 0.7


@dataclass
class BaselineRun:
    """One baseline run: its records, trained model, clusters, and step timings (seconds)."""

    records: pd.DataFrame
    model: dict[str, Any]
    clusters: pd.DataFrame
    comparisons: int
    timings: dict[str, float] = field(default_factory=dict)


def baseline_records(
    warehouse: Path, config: PipelineConfig, *, phone_digits: bool = False
) -> pd.DataFrame:
    """Every raw row of every customer source as record_key + the five compared fields.

    With ``phone_digits``, phone and mobile keep only their digits, without a leading
    86 / 0086 country code (the one clean-up a careful engineer adds after a look at
    the data; off by default). Rows without a source record id are left out, and of
    rows repeating an id within a source the first (in file order) is kept: Splink
    needs a unique id.
    """
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        parts = [con.sql(_source_sql(source, phone_digits)).df() for source in config.sources]
    finally:
        con.close()
    records = pd.concat(parts, ignore_index=True)
    records = records[records["record_key"].notna()]
    return records.drop_duplicates("record_key", keep="first").reset_index(drop=True)


def _source_sql(source: SourceConfig, phone_digits: bool) -> str:
    mapped = source.mapped_columns()
    columns = {f: mapped.get(f, []) for f in FIELDS}
    columns["address"] = [c for part in ADDRESS_PARTS for c in mapped.get(part, [])]
    values = {f: _text(columns[f]) for f in FIELDS}
    if phone_digits:
        for f in ("phone", "mobile"):
            digits = (
                f"regexp_replace(regexp_replace({values[f]}, '[^0-9]', '', 'g'), '^(0086|86)', '')"
            )
            values[f] = f"nullif({digits}, '')"
    select = [f"{values[f]} as {f}" for f in FIELDS]
    record_id = _text(mapped["source_record_id"], lower=False)
    return (
        f"select '{source.name}' || ':' || {record_id} as record_key, {', '.join(select)} "
        f"from raw.{source.name} order by source_file, source_row"
    )


def _text(columns: list[str], lower: bool = True) -> str:
    """SQL: the columns trimmed and joined with a space (nulls skipped), lower-cased, '' as null."""
    if not columns:
        return "cast(null as varchar)"
    parts = ", ".join('trim("' + c.replace('"', '""') + '")' for c in columns)
    value = f"trim(concat_ws(' ', {parts}))"
    return f"nullif({'lower(' + value + ')' if lower else value}, '')"


def baseline_clusters(
    warehouse: Path, config: Path, threshold: float = 0.9, *, phone_digits: bool = False
) -> BaselineRun:
    """Train plain Splink on the raw exports, predict and cluster at ``threshold``.

    Args:
        warehouse: a warehouse built by ``custmaster run`` (read only).
        config: the deployment config whose column mapping names the raw columns.
        threshold: match probability at which two records are linked.
        phone_digits: compare phones and mobiles as digits only (see ``baseline_records``).

    Returns:
        The records, the trained Splink model (settings JSON), one row per record with
        ``record_key`` and ``cluster_id``, the number of record pairs compared, and timings.
    """
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on
    from splink import comparison_library as cl

    timings: dict[str, float] = {}
    started = time.perf_counter()
    records = baseline_records(Path(warehouse), load_config(config), phone_digits=phone_digits)
    timings["load"] = time.perf_counter() - started

    name_prefix = block_on("substr(name, 1, 2)")
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_key",
        comparisons=[
            cl.JaroWinklerAtThresholds("name").configure(term_frequency_adjustments=True),
            cl.ExactMatch("phone"),
            cl.ExactMatch("mobile"),
            cl.ExactMatch("email"),
            cl.JaroWinklerAtThresholds("address"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("phone"),
            block_on("mobile"),
            block_on("email"),
            name_prefix,
        ],
        retain_intermediate_calculation_columns=False,
    )
    con = duckdb.connect(":memory:")
    try:
        db_api = DuckDBAPI(connection=con)
        sdf = db_api.register(records, dataset_display_name="customers")
        linker = Linker(sdf, settings, log_level=None)

        started = time.perf_counter()
        linker.training.estimate_probability_two_random_records_match(
            [block_on("name", "phone"), block_on("name", "mobile"), block_on("email")],
            recall=DETERMINISTIC_RECALL,
        )
        linker.training.estimate_u_using_random_sampling(max_pairs=U_MAX_PAIRS, seed=SEED)
        for rule in (name_prefix, block_on("mobile"), block_on("phone")):
            linker.training.estimate_parameters_using_expectation_maximisation(rule)
        model = linker.misc.save_model_to_json()
        timings["train"] = time.perf_counter() - started

        started = time.perf_counter()
        predictions = linker.inference.predict()
        comparisons = con.execute(f"select count(*) from {predictions.physical_name}").fetchall()[
            0
        ][0]
        timings["predict"] = time.perf_counter() - started

        started = time.perf_counter()
        clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=threshold
        )
        clusters = clustered.as_pandas_dataframe()[["record_key", "cluster_id"]]
        timings["cluster"] = time.perf_counter() - started
    finally:
        con.close()
    clusters = clusters.astype({"record_key": str, "cluster_id": str})
    return BaselineRun(records, model, clusters, comparisons, timings)


def run_baseline(
    warehouse: Path,
    config: Path,
    truth: Path,
    threshold: float = 0.9,
    *,
    phone_digits: bool = False,
) -> ClusterScores:
    """Plain-Splink baseline scored against ``truth`` (records.csv: record_key, customer_id).

    ``phone_digits`` is the variant with phones reduced to digits (``baseline_records``).

    Only records present in the baseline are scored: contact persons, which are not
    rows of the raw tables, are not.

    Examples:
        >>> s = run_baseline(Path("demo/out/warehouse.duckdb"),
        ...                  Path("demo/customer_master.yaml"),
        ...                  Path("demo/truth/records.csv"))  # doctest: +SKIP
        >>> s.pairwise_f1  # doctest: +SKIP
    """
    run = baseline_clusters(warehouse, config, threshold, phone_digits=phone_digits)
    return score_clusters(run.clusters, _truth(truth))


def _truth(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, usecols=["record_key", "customer_id"], dtype=str)


def _line(label: str, s: ClusterScores) -> str:
    return (
        f"{label:<10} {s.records:>7,} {s.pairwise_precision:>8.4f} {s.pairwise_recall:>8.4f} "
        f"{s.pairwise_f1:>8.4f} {s.bcubed_precision:>8.4f} {s.bcubed_recall:>8.4f} {s.bcubed_f1:>8.4f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True, type=Path, help="deployment YAML")
    parser.add_argument("--warehouse", type=Path, help="default: the config's warehouse")
    parser.add_argument("--truth", type=Path, help="default: truth/records.csv beside the config")
    parser.add_argument("--threshold", type=float, default=0.9)
    parser.add_argument(
        "--phone-digits",
        action="store_true",
        help="variant: phones and mobiles as digits only, without a leading 86",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("splink").setLevel(logging.ERROR)

    config = load_config(args.config)
    warehouse = args.warehouse or config.warehouse_path
    truth_path = args.truth or config.base_dir / "truth" / "records.csv"
    started = time.perf_counter()
    run = baseline_clusters(warehouse, args.config, args.threshold, phone_digits=args.phone_digits)
    total = time.perf_counter() - started
    truth = _truth(truth_path).merge(
        pd.read_csv(truth_path, usecols=["record_key", "entity_type"], dtype=str), on="record_key"
    )
    scored = truth[truth["record_key"].isin(run.clusters["record_key"])]
    sizes = run.clusters["cluster_id"].value_counts()

    variant = " (phones as digits only)" if args.phone_digits else ""
    print(f"plain Splink baseline{variant} on {warehouse}")
    per_source = run.records["record_key"].str.split(":").str[0].value_counts().sort_index()
    print("records: " + ", ".join(f"{s} {n:,}" for s, n in per_source.items()))
    print(
        f"truth records not in the baseline: {len(truth) - len(scored):,} "
        f"(contact persons are not rows of the raw tables)"
    )
    print(
        f"pairs compared {run.comparisons:,}; clusters {len(sizes):,} "
        f"(largest {sizes.iloc[0]}, {int((sizes > 1).sum()):,} with more than one record) "
        f"at match probability >= {args.threshold}"
    )
    print(
        f"{'':<10} {'records':>7} {'pw P':>8} {'pw R':>8} {'pw F1':>8} {'b3 P':>8} {'b3 R':>8} {'b3 F1':>8}"
    )
    print(_line("all", score_clusters(run.clusters, scored[["record_key", "customer_id"]])))
    for entity_type in ("company", "person"):
        part = scored.loc[scored["entity_type"] == entity_type, ["record_key", "customer_id"]]
        print(_line(entity_type, score_clusters(run.clusters, part)))
    _print_cases(run.clusters, scored[["record_key", "customer_id"]], truth_path.parent)
    print(
        "seconds: "
        + ", ".join(f"{k} {v:.1f}" for k, v in run.timings.items())
        + f", total {total:.1f}"
    )
    return 0


def _print_cases(clusters: pd.DataFrame, truth: pd.DataFrame, folder: Path) -> None:
    """Recall per planted case and false merges, when the truth folder has the files."""
    from matching.linkage.case_recall import recall_per_case
    from matching.master.relationship_scores import false_merges

    if (folder / "planted_cases.csv").is_file():
        planted = pd.read_csv(folder / "planted_cases.csv", dtype=str)
        print(f"{'case':<34} {'pairs':>7} {'recall':>7}")
        for c in recall_per_case(clusters, truth, planted).values():
            print(f"{c.case:<34} {c.true_pairs:>7,} {c.recall:>7.4f}")
    if (folder / "relationships.csv").is_file():
        related = pd.read_csv(folder / "relationships.csv", dtype=str)
        golden = clusters.rename(columns={"cluster_id": "customer_id"})
        merged = false_merges(golden, truth, related)
        print(
            "merged though they must stay apart: "
            + ", ".join(f"{m.relationship_type} {m.merged}/{m.pairs}" for m in merged.values())
        )


if __name__ == "__main__":
    sys.exit(main())

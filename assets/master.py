"""Master layer: persistent customer IDs, the golden customer record, relationships and roles,
and the checks that guard them."""

from datetime import UTC, datetime

import dagster as dg
import duckdb

from assets.activity import staged_activity_key
from assets.checks import Guard, check_step, suite_guard
from assets.matching import CLUSTERS
from assets.metadata import part_tables
from assets.resources import Deployment, Warehouse
from matching.linkage import junk_rules, load_model, models_in_use
from matching.master import (
    build_golden_records,
    build_relationships,
    build_roles,
    update_customer_ids,
)
from quality import master_suite, resolution_checks
from quality.gx import validate
from sources.config import PipelineConfig
from warehouse.store import replace_table

CUSTOMER_XREF = dg.AssetKey(["master", "customer_xref"])
CUSTOMER_ID_EVENTS = dg.AssetKey(["master", "customer_id_events"])
GOLDEN_CUSTOMERS = dg.AssetKey(["master", "customers"])
ATTRIBUTE_LINEAGE = dg.AssetKey(["master", "attribute_lineage"])
RELATIONSHIPS = dg.AssetKey(["master", "relationships"])
CUSTOMER_ROLES = dg.AssetKey(["master", "customer_roles"])


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            CUSTOMER_XREF,
            deps=[CLUSTERS],
            group_name="master",
            kinds={"duckdb"},
            description="One row per source record and period: the customer_id it belongs to, the probability "
            "linking it to its cluster, valid_from / valid_to (null = current). IDs persist across runs.",
        ),
        dg.AssetSpec(
            CUSTOMER_ID_EVENTS,
            deps=[CLUSTERS],
            group_name="master",
            kinds={"duckdb"},
            description="Every customer ID created, merged (into its survivor), split or retired, with the run; "
            "master.customer_ids resolves any ID ever issued to the live one.",
            metadata=part_tables("master.customer_ids"),
        ),
    ]
)
def customer_ids(context: dg.AssetExecutionContext, warehouse: Warehouse):
    with warehouse.connect() as con:
        counts = update_customer_ids(con, context.run_id, datetime.now(UTC).replace(tzinfo=None))
    context.log.info(f"customer IDs: {counts}")
    yield dg.MaterializeResult(asset_key=CUSTOMER_XREF, metadata=counts)
    yield dg.MaterializeResult(
        asset_key=CUSTOMER_ID_EVENTS,
        metadata={k: v for k, v in counts.items() if k.startswith("ids_")},
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            GOLDEN_CUSTOMERS,
            deps=[CUSTOMER_XREF],
            group_name="master",
            kinds={"duckdb"},
            description="One row per real customer: the best value of every attribute by the survivorship rules, "
            "the sources it is known to, first_seen and last_updated.",
        ),
        dg.AssetSpec(
            ATTRIBUTE_LINEAGE,
            deps=[CUSTOMER_XREF],
            group_name="master",
            kinds={"duckdb"},
            description="For every golden attribute: the value, the source record that supplied it and the rule "
            "that chose it.",
        ),
    ]
)
def golden_customers(
    context: dg.AssetExecutionContext, deployment: Deployment, warehouse: Warehouse
):
    cfg = deployment.config
    rules = {attribute: tuple(order) for attribute, order in cfg.survivorship.items()}
    with warehouse.connect() as con:
        counts = build_golden_records(con, cfg.source_trust(), rules)
    context.log.info(f"golden records: {counts}")
    yield dg.MaterializeResult(
        asset_key=GOLDEN_CUSTOMERS, metadata={"dagster/row_count": counts["customers"]}
    )
    yield dg.MaterializeResult(
        asset_key=ATTRIBUTE_LINEAGE, metadata={"dagster/row_count": counts["lineage_rows"]}
    )


@dg.asset(key=RELATIONSHIPS, deps=[CUSTOMER_XREF], group_name="master", kinds={"duckdb"})
def relationships(
    context: dg.AssetExecutionContext, deployment: Deployment, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Relationships between golden customers with their evidence and confidence: employment (from
    contact persons), family (same surname, address and landline; inferred), served by dealer,
    holding and referral (names on records resolved to customers by the matching models)."""
    with warehouse.connect() as con:
        models = {c.version.entity_type: load_model(c.version.path) for c in models_in_use(con)}
        table = build_relationships(con, models, junk_rules(deployment.config.matching))
        replace_table(con, "master", "relationships", table)
    counts = table["relationship_type"].value_counts().to_dict()
    context.log.info(f"relationships: {counts}")
    return dg.MaterializeResult(
        metadata={"dagster/row_count": len(table), "per_type": dg.MetadataValue.json(counts)}
    )


@dg.asset(
    key=CUSTOMER_ROLES,
    deps=[CUSTOMER_XREF, staged_activity_key("orders"), staged_activity_key("receivables")],
    group_name="master",
    kinds={"duckdb"},
)
def customer_roles(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """What each golden customer is to the business, possibly several at once: customer (has
    ordered), prospect, contact, key account, dealer, debtor; one row per customer and role.
    Orders and open invoices are the staged ones, the same rows the marts count."""
    with warehouse.connect() as con:
        table = build_roles(con)
        replace_table(con, "master", "customer_roles", table)
    counts = table["role"].value_counts().to_dict()
    context.log.info(f"roles: {counts}")
    return dg.MaterializeResult(
        metadata={"dagster/row_count": len(table), "per_role": dg.MetadataValue.json(counts)}
    )


MASTER_ASSETS = [customer_ids, golden_customers, relationships, customer_roles]


def _xref_checks(con: duckdb.DuckDBPyConnection, run_id: str, config: PipelineConfig):
    outcomes = validate(master_suite.xref_suite(), master_suite.xref_frame(con))
    churn = resolution_checks.check_id_churn(con, run_id, config.quality.max_id_churn_share)
    return [*outcomes, churn]


CUSTOMER_IDS_CHECKS = check_step(
    "customer_ids_quality",
    [
        Guard(
            CUSTOMER_XREF,
            (*master_suite.xref_suite().checks, resolution_checks.ID_CHURN_CHECK),
            _xref_checks,
        )
    ],
    "One current xref row per staged record, IDs within one entity type (blocking); "
    "customer-ID churn since the last run (warn).",
)
GOLDEN_CHECKS = check_step(
    "golden_quality",
    [
        suite_guard(GOLDEN_CUSTOMERS, master_suite.customers_suite(), master_suite.customers_frame),
        suite_guard(ATTRIBUTE_LINEAGE, master_suite.lineage_suite(), master_suite.lineage_frame),
    ],
    "One golden record per live customer_id, no reused ID; lineage for every golden "
    "value (blocking).",
)
RELATIONSHIPS_CHECKS = check_step(
    "relationships_quality",
    [
        suite_guard(
            RELATIONSHIPS, master_suite.relationships_suite(), master_suite.relationships_frame
        )
    ],
    "No relationship points to a merged, retired or unknown customer_id (blocking).",
)
MASTER_CHECKS = [CUSTOMER_IDS_CHECKS, GOLDEN_CHECKS, RELATIONSHIPS_CHECKS]

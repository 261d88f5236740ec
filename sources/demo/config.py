"""The demo's deployment config: how its three kinds of export map onto the canonical record.

It is also the worked example for users: Chinese headers mapped one to one, a workbook
whose address is split over four columns, entity types read from a column, orders and
interactions tied to the customer source they belong to.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import yaml

from sources.config import MartsConfig, MatchingConfig
from sources.demo import activity, dealers, key_accounts, regional, vocabulary

_ORDER_COLUMNS = {
    "order_id": "order_id",
    "source_record_id": "customer_record_id",
    "order_date": "order_date",
    "product": "product",
    "product_line": "product_line",
    "quantity": "quantity",
    "amount": "amount",
}
_INTERACTION_COLUMNS = {
    "interaction_id": "interaction_id",
    "source_record_id": "customer_record_id",
    "interaction_date": "interaction_date",
    "interaction_type": "interaction_type",
    "satisfaction_score": "satisfaction_score",
    "status": "status",
    "closed_date": "closed_date",
    "note": "note",
}

_RECEIVABLE_COLUMNS = {
    "invoice_id": "invoice_no",
    "source_record_id": "customer_record_id",
    "invoice_date": "invoice_date",
    "due_date": "due_date",
    "amount_open": "open_amount",
}


def demo_marts() -> dict:
    """The demo's marts: its "today", its consumables and the service interval of its machines."""
    defaults = MartsConfig()
    return {
        "as_of": activity.REFERENCE_DATE,
        "revenue_window_days": defaults.revenue_window_days,
        "abc": defaults.abc.model_dump(),
        "lifecycle": defaults.lifecycle.model_dump(),
        "followup": {
            "consumables": {
                "products": [product for product, _price in vocabulary.CONSUMABLES],
                "min_orders": defaults.followup.consumables.min_orders,
                "lead_days": defaults.followup.consumables.lead_days,
            },
            "service": {
                "intervals": {
                    product: days for product, _price, days in vocabulary.EQUIPMENT if days
                },
                "lead_days": defaults.followup.service.lead_days,
            },
        },
    }


def demo_config(exports: str = "exports", output_dir: str = "out") -> dict:
    """The demo config as a mapping; ``exports`` and ``output_dir`` are relative to the file."""
    sources = [
        {
            "name": "dealers",
            "kind": "dealer",
            "path": f"{exports}/dealers/*.csv",
            "format": "csv",
            "encoding": "gb18030",
            "trust": 1,
            "entity_type": {"column": "客户类型", "values": dict(dealers.TYPE_VALUES)},
            "columns": {
                "source_record_id": "客户编号",
                "name": "客户名称",
                "uscc": "统一社会信用代码",
                "contact_name": "联系人",
                "contact_mobile": "联系人手机",
                "mobile": "手机",
                "phone": "电话",
                "fax": "传真",
                "email": "邮箱",
                "address": "地址",
                "parent_company_name": "上级单位",
                "dealer_code": "经销商代码",
                "created_at": "建档日期",
                "acquisition_channel": "获客渠道",
            },
        },
        {
            "name": "key_accounts",
            "kind": "key_account",
            "path": f"{exports}/key_accounts/*.xlsx",
            "format": "xlsx",
            "sheet": key_accounts.SHEET,
            "trust": 3,
            "entity_type": {"column": "Account Type", "values": dict(key_accounts.TYPE_VALUES)},
            "columns": {
                "source_record_id": "Account ID",
                "name": "Account Name",
                "customer_category": "Category",
                "own_dealer_code": "Dealer Code",
                "uscc": "USCC",
                "address": ["Province", "City", "Address Line 1", "Address Line 2"],
                "phone": "Phone",
                "mobile": "Mobile",
                "email": "Email",
                "contact_name": "Contact Name",
                "contact_title": "Contact Title",
                "contact_mobile": "Contact Mobile",
                "parent_company_name": "Parent Account",
                "credit_limit": "Credit Limit",
                "owner": "Account Owner",
                "created_at": "Created",
            },
        },
        {
            "name": "regional",
            "kind": "regional",
            "path": f"{exports}/regional/*.csv",
            "format": "csv",
            "encoding": "auto",
            "trust": 2,
            "entity_type": {"column": "客户类型", "values": dict(regional.TYPE_VALUES)},
            "columns": {
                "source_record_id": "编号",
                "name": "客户名称",
                "uscc": "统一信用代码",
                "id_number": "身份证号",
                "birth_date": "出生日期",
                "gender": "性别",
                "mobile": "手机",
                "phone": "固定电话",
                "email": "邮箱",
                "province": "省份",
                "city": "城市",
                "address": "详细地址",
                "contact_name": "联系人",
                "contact_mobile": "联系人电话",
                "referrer_name": "介绍人",
                "industry": "行业",
                "owner": "客户经理",
                "created_at": "建档日期",
                "acquisition_channel": "客户来源",
            },
        },
    ]
    feeds = ("dealers", "key_accounts", "regional")
    return {
        "output_dir": output_dir,
        "sources": sources,
        "matching": {
            "upper_threshold": MatchingConfig().upper_threshold,
            "lower_threshold": MatchingConfig().lower_threshold,
            "max_cluster_size": MatchingConfig().max_cluster_size,
            "decisions": str(PurePosixPath(exports).parent / "steward_decisions.csv"),
        },
        "orders": [
            {
                "name": f"{s}_orders",
                "customer_source": s,
                "path": f"{exports}/orders/{s}.csv",
                "columns": dict(_ORDER_COLUMNS),
            }
            for s in feeds
        ],
        "interactions": [
            {
                "name": f"{s}_interactions",
                "customer_source": s,
                "path": f"{exports}/interactions/{s}.csv",
                "columns": dict(_INTERACTION_COLUMNS),
            }
            for s in feeds
        ],
        "receivables": [
            {
                "name": f"{s}_receivables",
                "customer_source": s,
                "path": f"{exports}/receivables/{s}.csv",
                "columns": dict(_RECEIVABLE_COLUMNS),
            }
            for s in feeds
        ],
        "marts": demo_marts(),
    }


def write_demo_config(path: str | Path, exports: str = "exports", output_dir: str = "out") -> Path:
    """Write the demo config to ``path`` (folders created) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# Customer Master demo deployment: written by `custmaster demo-data`.\n"
    body = yaml.safe_dump(
        demo_config(exports, output_dir), allow_unicode=True, sort_keys=False, width=120
    )
    path.write_text(header + body, encoding="utf-8")
    return path

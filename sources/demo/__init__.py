"""Realistic, messy demo exports with their ground truth (``custmaster demo-data``).

The demo is what the business really receives: channel dealers' CSVs in GB18030/GBK,
the key-account team's workbook with Hong Kong and Taiwan rows in traditional script,
regional offices' UTF-8 CSVs with their own date habits, orders and interactions. The
truth files say which records belong to which real customer and how customers are
related, so linkage and mastering can be measured against them.

Example:
    >>> summary = generate_demo("demo", customers=2000, seed=7)   # doctest: +SKIP
"""

from sources.demo import dealers, key_accounts, regional
from sources.demo.config import demo_config, write_demo_config
from sources.demo.generate import REFERENCE_DATE, DemoSummary, generate_demo

__all__ = [
    "REFERENCE_DATE",
    "DemoSummary",
    "dealers",
    "demo_config",
    "generate_demo",
    "key_accounts",
    "regional",
    "write_demo_config",
]

"""The golden master: one record per real customer, with an ID that lasts.

``build`` is the master build the pipeline runs: ``update_customer_ids`` gives this run's
clusters their persistent IDs (``customer_ids``: inherit, merge, split, create, retire) and
keeps the history of which record belonged to which customer (``xref``);
``build_golden_records`` picks every golden attribute by ``survivorship``. Around the
golden records: ``relationships`` (employment, holding, family, referral, dealer; names
mentioned on records resolved by ``mentions``) and ``roles`` (customer, prospect, debtor,
…). This package may use ``matching.linkage``; linkage never imports it.
"""

from matching.master.build import build_golden_records, update_customer_ids
from matching.master.relationships import build_relationships, write_relationships
from matching.master.roles import build_roles, write_roles

__all__ = [
    "build_golden_records",
    "build_relationships",
    "build_roles",
    "update_customer_ids",
    "write_relationships",
    "write_roles",
]

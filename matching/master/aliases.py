"""Other names a golden customer is known by: a renamed company keeps its old name.

A company renamed since one of its records was typed (厦门洪来电脑有限公司 → 厦门鑫达电脑
有限公司) is one customer when its credit code, address and phone agree; its golden name is
the one survivorship picks, and the other names stay findable here, each with the source
and records that carry it. One row per customer, name and source
(``master.customer_aliases``), for every name whose core (without place and legal form)
differs from the golden record's: a legal form spelled out or the city left out is the
same name, not an alias. Contact persons derived from company rows are not the customer's
own names and are left out. Rebuilt whole from the current xref at every golden build
(a few thousand rows per hundred thousand customers; it reads the staged names once).
"""

from __future__ import annotations

import duckdb

from warehouse.views import CURRENT_XREF

TABLE = "master.customer_aliases"


def _aliases(customers: str | None = None) -> str:
    """The aliases query: of every customer, or of those in the relation ``customers``."""
    only = (
        "" if customers is None else f"x.customer_id IN (SELECT customer_id FROM {customers}) AND"
    )
    return f"""
    SELECT x.customer_id, s.name AS alias, s.source,
           list(s.record_key ORDER BY s.record_key) AS record_keys
    FROM staging.customers s
    JOIN {CURRENT_XREF} x USING (record_key)
    JOIN master.customers c USING (customer_id)
    WHERE {only} s.derived_from_record_key IS NULL AND s.name IS NOT NULL
      AND s.name_core IS DISTINCT FROM c.name_core
      AND coalesce(s.name_core, s.name) <> coalesce(c.name_core, c.name)
    GROUP BY ALL
    ORDER BY x.customer_id, alias, s.source
"""


def build_aliases(con: duckdb.DuckDBPyConnection, customers: str | None = None) -> int:
    """Write ``master.customer_aliases`` from the current xref; returns its row count.

    ``customers``: a relation of the ``customer_id`` whose golden records were built again;
    only their aliases are deleted and read again (an alias depends only on its customer's
    records and golden name)."""
    if customers is None:
        con.execute(f"CREATE OR REPLACE TABLE {TABLE} AS {_aliases()}")
    else:
        con.execute(
            f"DELETE FROM {TABLE} WHERE customer_id IN (SELECT customer_id FROM {customers})"
        )
        con.execute(f"INSERT INTO {TABLE} {_aliases(customers)}")
    return int(con.execute(f"SELECT count(*) FROM {TABLE}").fetchall()[0][0])

"""The relationships step logs the customers whose relationships it deletes or writes for
the serving index (``matching.master.relationships.RELATIONSHIPS_TOUCHED``): added to
while kept, dropped by a whole build, started only by the serving step."""

import duckdb

from matching.master.relationships import RELATIONSHIPS_TOUCHED, build_relationships
from tests.matching.master.test_relationships import person, warehouse
from warehouse.store import table_exists

#: Three households (a landline and a street each) and a loner, each record its own customer.
DAY1 = {
    "r:5": (person("r:5", "黄华红", "+865925556666", "厦禾路3号"), "CF5"),
    "r:6": (person("r:6", "黄伟", "+865925556666", "厦禾路3号"), "CF6"),
    "r:1": (person("r:1", "陈建国", "+865925551234", "湖滨南路1号501室"), "CF1"),
    "r:2": (person("r:2", "陈静", "+865925551234", "湖滨南路1号501"), "CF2"),
    "r:7": (person("r:7", "李强", "+865925557777", "莲前路5号"), "CF7"),
    "r:8": (person("r:8", "李梅", "+865925557777", "莲前路5号"), "CF8"),
    "r:9": (person("r:9", "王芳", "+865925559999", "嘉禾路9号"), "CF9"),
}


def build(day: dict, con: duckdb.DuckDBPyConnection | None = None, incremental: bool = False):
    con = warehouse([r for r, _ in day.values()], {k: c for k, (_, c) in day.items()}, con)
    return con, build_relationships(con, incremental=incremental)


def logged(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        c for (c,) in con.execute(f"SELECT customer_id FROM {RELATIONSHIPS_TOUCHED}").fetchall()
    }


def from_customers(frame) -> dict[str, set[tuple]]:
    """Each customer's rows of ``master.relationships`` (by ``from_customer_id``)."""
    rows: dict[str, set[tuple]] = {}
    for row in frame.itertuples(index=False):
        rows.setdefault(row.from_customer_id, set()).add(tuple(map(str, row)))
    return rows


def test_incremental_builds_log_the_customers_whose_rows_changed_until_started_again():
    con, first = build(DAY1)
    assert {"CF1", "CF5", "CF7"} <= set(first["from_customer_id"])  # the households
    con.execute(f"CREATE TABLE {RELATIONSHIPS_TOUCHED} (customer_id VARCHAR)")  # published
    # the first household ends (a landline of its own), the loner joins the second
    day2 = dict(DAY1)
    day2["r:2"] = (person("r:2", "陈静", "+865925550000", "湖滨南路1号501"), "CF2")
    day2["r:9"] = (person("r:9", "王芳", "+865925557777", "莲前路5号"), "CF9")
    _, second = build(day2, con, incremental=True)
    before, after = from_customers(first), from_customers(second)
    changed = {c for c in before.keys() | after.keys() if before.get(c) != after.get(c)}
    assert changed and changed <= logged(con)
    assert not {"CF5", "CF6"} & logged(con)  # the household nobody touched: rows kept
    # the next day, its index not published: the first household again; both days stay
    _, third = build(DAY1, con, incremental=True)
    again = from_customers(third)
    assert {c for c in after.keys() | again.keys() if after.get(c) != again.get(c)} <= logged(con)
    assert changed <= logged(con)


def test_a_whole_build_drops_the_log_and_an_incremental_one_starts_none():
    con, _ = build(DAY1)
    con.execute(f"CREATE TABLE {RELATIONSHIPS_TOUCHED} (customer_id VARCHAR)")
    build(DAY1, con)  # every row written again: no log
    assert not table_exists(con, *RELATIONSHIPS_TOUCHED.split("."))
    day2 = dict(DAY1)
    day2["r:2"] = (person("r:2", "陈静", "+865925550000", "湖滨南路1号501"), "CF2")
    build(day2, con, incremental=True)
    assert not table_exists(con, *RELATIONSHIPS_TOUCHED.split("."))  # only the serving step

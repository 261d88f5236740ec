"""The sync report's matching figures, on a warehouse built inline."""

from __future__ import annotations

import duckdb

from warehouse.report.figures import matching_figures


def test_pairs_per_record_count_every_record_once_and_cap_at_ten():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA matching")
    # h: in 12 pairs (shown as 10), a: in 3, b, c and the x: in 1, z: a company in none
    hub = ", ".join(f"('h', 'x{i}', 0.99, 'person')" for i in range(11))
    con.execute(
        f"""CREATE TABLE matching.pairs AS FROM (VALUES ('a', 'b', 0.95, 'person'),
                ('a', 'c', 0.4, 'person'), ('a', 'h', 0.97, 'person'), {hub})
            t(record_key_l, record_key_r, match_probability, entity_type)"""
    )
    records = ["a", "b", "c", "h", *(f"x{i}" for i in range(11))]
    rows = ", ".join(f"('{r}', 'person', 'c-{r}', 1)" for r in records)
    con.execute(
        f"""CREATE TABLE matching.clusters AS FROM (VALUES {rows}, ('z', 'company', 'c-z', 1))
            t(record_key, entity_type, cluster_id, cluster_size)"""
    )
    con.execute("CREATE TABLE matching.review_queue (reason VARCHAR)")
    con.execute(
        """CREATE TABLE matching.models AS SELECT 'person' AS entity_type, 1 AS version,
           'm1' AS model, 'm1.json' AS path, NULL::TIMESTAMP AS trained, 0 AS records"""
    )
    per_record = matching_figures(con, 0.5, 0.9)["pairs_per_record"]
    assert per_record == [
        {"entity_type": "company", "pairs": 0, "records": 1},
        {"entity_type": "person", "pairs": 1, "records": 13},
        {"entity_type": "person", "pairs": 3, "records": 1},
        {"entity_type": "person", "pairs": 10, "records": 1},
    ]

"""A renamed company keeps its old name as an alias, with the source and records that carry it."""

import duckdb

from matching.master.aliases import build_aliases


def test_old_names_are_aliases_and_spellings_of_the_golden_name_are_not():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA staging; CREATE SCHEMA master")
    con.execute(
        """CREATE TABLE staging.customers AS SELECT * FROM (VALUES
            ('d:1', 'dealers', '厦门鑫达电脑有限公司', '鑫达电脑', NULL),
            ('k:2', 'key_accounts', '鑫达电脑（厦门）有限公司', '鑫达电脑', NULL),
            ('r:3', 'regional', '厦门洪来电脑有限公司', '洪来电脑', NULL),
            ('r:4', 'regional', '洪来电脑有限公司', '洪来电脑', NULL),
            ('r:3:contact', 'regional', '张伟', '张伟', 'r:3'),
            ('d:5', 'dealers', '厦门快心电脑有限公司', '快心电脑', NULL)
        ) t(record_key, source, name, name_core, derived_from_record_key)"""
    )
    con.execute(
        """CREATE TABLE master.customer_xref AS SELECT record_key, customer_id,
               NULL::TIMESTAMP AS valid_to FROM (VALUES
            ('d:1', 'CM1'), ('k:2', 'CM1'), ('r:3', 'CM1'), ('r:4', 'CM1'),
            ('r:3:contact', 'CM2'), ('d:5', 'CM3')) t(record_key, customer_id)"""
    )
    con.execute(
        """CREATE TABLE master.customers AS SELECT * FROM (VALUES
            ('CM1', '厦门鑫达电脑有限公司', '鑫达电脑'), ('CM2', '张伟', '张伟'),
            ('CM3', '厦门快心电脑有限公司', '快心电脑')) t(customer_id, name, name_core)"""
    )
    assert build_aliases(con) == 2
    rows = con.sql("FROM master.customer_aliases").fetchall()
    assert rows == [
        ("CM1", "厦门洪来电脑有限公司", "regional", ["r:3"]),
        ("CM1", "洪来电脑有限公司", "regional", ["r:4"]),
    ]

"""The lineage suite validated on the customers whose inputs changed, with the others' counts
kept, reports exactly what GX reports validating the whole frame, sync after sync: a value
newly without lineage, more bad rows than examples, a fix, a customer gone, a record moved."""

from dataclasses import replace

import duckdb
import pytest

from quality import master_suite as ms
from quality import partitioned_frames as pf
from quality.gx import read_frame, validate
from quality.partitioned_frames import validate_partitioned
from tests.quality.test_master_and_resolution_checks import table, xref_row

CUSTOMERS = 30


@pytest.fixture
def master():
    """Thirty companies CM00-CM29, each with one record (r00-r29), a name and a phone, each
    value with its lineage."""
    con = duckdb.connect()
    ids = [f"CM{i:02d}" for i in range(CUSTOMERS)]
    table(con, "master.customer_xref", [xref_row(f"r{i:02d}", c) for i, c in enumerate(ids)])
    table(
        con,
        "master.customers",
        [{"customer_id": c, "name": f"公司{i}", "phone": f"+86592555{i:04d}"} for i, c in enumerate(ids)],
    )  # fmt: skip
    table(
        con,
        "master.attribute_lineage",
        [
            {"customer_id": c, "attribute": a, "value": v, "record_key": f"r{i:02d}"}
            for i, c in enumerate(ids)
            for a, v in (("name", f"公司{i}"), ("phone", f"+86592555{i:04d}"))
        ],
    )
    yield con
    con.close()


def whole(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """GX validating the whole frame, read into pandas."""
    suite = ms.lineage_suite()
    return [o.as_record() for o in validate(suite, read_frame(con, ms.lineage_frame_sql(con)))]


def partitioned(con: duckdb.DuckDBPyConnection, frame=ms.LINEAGE_PARTITIONS) -> list[dict]:
    return [o.as_record() for o in validate_partitioned(con, ms.lineage_suite(), frame)]


#: A day's changes, the customers whose inputs they change, and the check's verdict after.
DAYS = [
    ("SELECT 1", 0, True),
    # a golden value newly without lineage
    ("DELETE FROM master.attribute_lineage WHERE customer_id = 'CM07' AND attribute = 'phone'", 1, False),
    # more bad rows than examples, in customers before and after the first bad one
    ("UPDATE master.attribute_lineage SET value = value || '?' WHERE attribute = 'name' AND customer_id IN "
     "('CM02', 'CM04', 'CM09', 'CM11', 'CM13', 'CM15', 'CM17', 'CM19', 'CM21', 'CM23', 'CM25')", 11, False),
    # a golden value that stops failing
    ("INSERT INTO master.attribute_lineage VALUES ('CM07', 'phone', '+865925550007', 'r07')", 1, False),
    # every name fixed: the check passes again
    ("UPDATE master.attribute_lineage SET value = rtrim(value, '?')", 11, True),
    # a customer gone with its lineage; a record moved to another customer
    ("DELETE FROM master.customers WHERE customer_id = 'CM29'; "
     "DELETE FROM master.attribute_lineage WHERE customer_id = 'CM29'", 1, True),
    ("UPDATE master.customer_xref SET customer_id = 'CM06' WHERE record_key = 'r05'", 2, False),
    # a golden record without an ID (no lineage can join it)
    ("INSERT INTO master.customers VALUES (NULL, '无名', NULL)", 0, False),
]  # fmt: skip


def test_every_sync_reports_what_a_whole_validation_reports(master):
    verdicts = []
    for change, _changed, _passed in DAYS:
        master.execute(change)
        kept = partitioned(master)
        assert kept == whole(master), change
        verdicts.append(kept[0]["passed"])
    assert verdicts == [passed for _, _, passed in DAYS]
    failing = partitioned(master)[0]["metadata"]["failing_expectations"]
    assert [f["found"] for f in failing] == [
        "1 of 59 golden values without a lineage row (1.7%)",
        "2 of 58 lineage rows naming a record that is not the customer's (3.4%)",
    ]


def test_more_bad_rows_than_examples_are_counted_and_the_first_ten_named(master):
    partitioned(master)
    master.execute(DAYS[2][0])
    (outcome,) = validate_partitioned(master, ms.lineage_suite(), ms.LINEAGE_PARTITIONS)
    (failing,) = outcome.metadata["failing_expectations"]
    assert failing["unexpected"] == 11
    assert [e["customer_id"] for e in failing["examples"]] == [
        "CM02", "CM04", "CM09", "CM11", "CM13", "CM15", "CM17", "CM19", "CM21", "CM23"
    ]  # fmt: skip


def test_only_the_customers_whose_inputs_changed_are_built_again(master, monkeypatch):
    """After the first validation, a day's change builds again the customers it touched."""
    built: list[int] = []

    def rows(con, customers, ordered):
        if customers == pf.CHANGED:
            built.append(con.execute(f"SELECT count(*) FROM {customers}").fetchall()[0][0])
        return ms.lineage_frame_sql(con, customers, keyed=True, ordered=ordered)

    frame = replace(ms.LINEAGE_PARTITIONS, rows=rows)
    partitioned(master, frame)
    assert built == []  # the first validation builds every customer at once
    for change, changed, _passed in DAYS:
        master.execute(change)
        built.clear()
        partitioned(master, frame)
        assert built == [changed], change


def test_a_change_the_digests_missed_is_reported_wrongly(master):
    """The comparison has teeth: a partition kept although its inputs changed (a digest
    that does not move) gives another outcome than the whole validation."""
    blind = replace(
        ms.LINEAGE_PARTITIONS,
        digests=lambda con: "SELECT customer_id AS __key, 0 AS digest FROM master.customers",
    )
    partitioned(master, blind)
    master.execute(DAYS[1][0])
    assert partitioned(master, blind) != whole(master)
    assert partitioned(master) == whole(master)  # the real digests: built again, equal


def test_a_new_golden_attribute_builds_every_customer_again(master):
    """A frame of other columns (an attribute now filled) is not combined with the old counts."""
    partitioned(master)
    master.execute("ALTER TABLE master.customers ADD COLUMN email VARCHAR")
    master.execute("UPDATE master.customers SET email = 'a@b.cn' WHERE customer_id = 'CM03'")
    assert partitioned(master) == whole(master)
    assert not partitioned(master)[0]["passed"]  # CM03's e-mail has no lineage

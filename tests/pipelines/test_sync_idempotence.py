"""Syncing is idempotent: unchanged exports change nothing, even a day later; a few new and
changed records change only their own customers, in the warehouse and in the exports."""

import csv
import io
import shutil
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

import assets.master
import assets.raw
from sources.config import load_config
from warehouse.publish import read_manifest

MASTER_TABLES = ("customers", "customer_xref", "relationships", "customer_roles")
NEW_LANDLINE = "0591-87654321"


@dataclass(frozen=True)
class Synced:
    """What one sync left behind, copied aside: the warehouse, the exports, the run."""

    run_id: str
    warehouse: Path
    exports: Path

    def sql(self, query: str) -> list[tuple]:
        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            return con.execute(query).fetchall()
        finally:
            con.close()

    def current_ids(self) -> dict[str, str]:
        return dict(
            self.sql(
                "SELECT record_key, customer_id FROM master.customer_xref WHERE valid_to IS NULL"
            )
        )


def days_later(days: int) -> type[datetime]:
    """``datetime`` whose ``now`` is ``days`` ahead: the sync runs on a later day."""

    class Later(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + timedelta(days=days)

    return Later


def sync_and_keep(config_path: Path, sync, into: Path, days: int = 0) -> Synced:
    with pytest.MonkeyPatch.context() as patch:
        for module in (assets.raw, assets.master):
            patch.setattr(module, "datetime", days_later(days))
        run_id = sync(config_path)
    return kept(config_path.parent, run_id, into)


def edit_regional_export(path: Path, changes: dict[str, dict[str, str]], new_rows: list[dict]):
    """Change fields of rows (by 编号) and append rows, keeping the file's UTF-8 BOM."""
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    for row in rows:
        row.update(changes.get(row["编号"], {}))
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows([*rows, *new_rows])
    path.write_bytes(b"\xef\xbb\xbf" + text.getvalue().encode("utf-8"))


def changed_ids(before: Path, after: Path, key: str = "customer_id") -> set[str]:
    """IDs of rows that differ between two Parquet files (added, removed or changed)."""
    return {
        row[0]
        for row in duckdb.sql(
            f"""SELECT {key} FROM ((FROM '{after}' EXCEPT FROM '{before}')
                UNION ALL (FROM '{before}' EXCEPT FROM '{after}'))"""
        ).fetchall()
    }


@pytest.fixture(scope="session")
def syncs(build_once, sync_outputs, demo_run):
    """Three syncs of one demo: first (the shared demo's run, ``demo_run``); a day later on
    the same files; two days later after a regional office changed one customer's landline
    and added two rows (a customer new to everyone, and a second record of a customer it
    already had). The last two on a copy of the shared demo; made once per test run."""
    _, made = build_once(
        "idempotence_150_seed3", lambda folder: three_syncs(folder, sync_outputs, demo_run)
    )
    return made


def kept(demo: Path, run_id: str, into: Path) -> Synced:
    """The warehouse and the exports of ``demo``'s last sync (``run_id``), copied aside."""
    config = load_config(demo / "customer_master.yaml")
    into.mkdir()
    shutil.copy(config.warehouse_path, into / "warehouse.duckdb")
    shutil.copytree(config.exports_path, into / "exports")
    return Synced(run_id, into / "warehouse.duckdb", into / "exports")


def three_syncs(folder: Path, sync_outputs, demo_run):
    keep = folder / "kept"
    keep.mkdir()
    # the first sync is the shared demo's (a whole run with its checks): what it left is
    # what a first sync of these files leaves, so the copy carries on from it
    first = kept(demo_run.folder, demo_run.outcome.run_id, keep / "first")
    demo = Path(shutil.copytree(demo_run.folder, folder / "demo"))
    config_path = demo / "customer_master.yaml"
    second = sync_and_keep(config_path, sync_outputs, keep / "second", days=1)

    # single-record regional customers: one gets a new landline, one is entered a second time
    singles: dict[str, list[tuple[str, str]]] = {}
    for record_id, file, customer in first.sql(
        """SELECT s.source_record_id, s.source_file, x.customer_id
           FROM staging.customers s JOIN master.customer_xref x USING (record_key)
           JOIN master.customers c USING (customer_id)
           WHERE s.source = 'regional' AND x.valid_to IS NULL AND c.record_count = 1
             AND s.derived_from_record_key IS NULL AND s.phone IS NOT NULL
           ORDER BY s.source_file, s.source_record_id"""
    ):
        singles.setdefault(file, []).append((record_id, customer))
    file, ((phone_id, phone_customer), (twin_id, twin_customer), *_) = next(
        (f, records) for f, records in singles.items() if len(records) >= 2
    )
    export = demo / file
    twin = next(
        row
        for row in csv.DictReader(io.StringIO(export.read_text(encoding="utf-8-sig")))
        if row["编号"] == twin_id
    )
    stranger = {column: "" for column in twin} | {
        "编号": "FJ9000001",
        "客户名称": "欧阳文博",
        "客户类型": "个人",
        "出生日期": "1991/2/3",
        "手机": "13705990123",
        "省份": "福建省",
        "城市": "厦门市",
        "详细地址": "环岛东路1999号",
        "建档日期": "2026/10/15",
    }
    edit_regional_export(
        export,
        changes={phone_id: {"固定电话": NEW_LANDLINE}},
        new_rows=[twin | {"编号": "FJ9000002"}, stranger],
    )
    third = sync_and_keep(config_path, sync_outputs, keep / "third", days=2)
    return (
        first,
        second,
        third,
        {
            "phone": phone_customer,
            "phone_id": phone_id,
            "twin": twin_customer,
            "twin_key": f"regional:{twin_id}",
        },
    )


def test_an_unchanged_sync_a_day_later_changes_nothing(syncs):
    first, second, _, _ = syncs
    assert first.run_id != second.run_id
    # the files were not read again: their rows keep the time they were first read
    ingested = "SELECT max(ingested_at) FROM staging.customers"
    assert second.sql(ingested) == first.sql(ingested)
    assert second.current_ids() == first.current_ids()
    for table in ("customers", "customer_xref", "relationships", "customer_roles", "customer_ids"):
        query = f"SELECT * FROM master.{table} ORDER BY ALL"
        assert second.sql(query) == first.sql(query), f"master.{table} changed"
    assert second.sql("SELECT count(*) FROM master.customer_id_events") == first.sql(
        "SELECT count(*) FROM master.customer_id_events"
    )

    before, after = read_manifest(first.exports), read_manifest(second.exports)
    assert (after["run_id"], before["run_id"]) == (second.run_id, first.run_id)
    assert after["published_at"] > before["published_at"]
    for manifest in (before, after):
        del manifest["run_id"], manifest["published_at"]
    assert after == before  # same files, rows, columns, checksums
    for entry in after["tables"].values():
        assert (second.exports / entry["file"]).read_bytes() == (
            first.exports / entry["file"]
        ).read_bytes(), entry["file"]


def test_new_and_changed_records_update_only_their_customers(syncs):
    _, second, third, touched = syncs
    before, after = second.current_ids(), third.current_ids()
    # every record keeps its customer ID; the new keys are the two new rows (and a contact
    # person named on one of them), each joining the customer its original belongs to
    assert {k: after[k] for k in before} == before
    new_keys = set(after) - set(before)
    assert {"regional:FJ9000001", "regional:FJ9000002"} <= new_keys
    assert all(k.startswith(("regional:FJ9000001", "regional:FJ9000002")) for k in new_keys)
    twin = touched["twin_key"]
    for key in new_keys - {"regional:FJ9000001"}:
        assert after[key] == after[key.replace("regional:FJ9000002", twin)], key
    newcomer = after["regional:FJ9000001"]
    assert newcomer not in set(before.values())

    # the customers whose rows changed are exactly those with a new or changed record
    records = "SELECT record_key, record_hash FROM staging.customers"
    edited = {k for k, _ in set(third.sql(records)) - set(second.sql(records))}
    assert f"regional:{touched['phone_id']}" in edited and new_keys <= edited
    expected = {after[k] for k in edited}
    assert (
        changed_ids(second.exports / "customers.parquet", third.exports / "customers.parquet")
        == expected
    )
    assert {touched["phone"], touched["twin"], newcomer} <= expected
    # the marts follow: a row changes only for those customers and the ones related to them
    # (a relationship gains evidence, a count in the 360 view moves)
    related = {
        other
        for pair in third.sql("SELECT from_customer_id, to_customer_id FROM master.relationships")
        if set(pair) & expected
        for other in pair
    }
    for mart in ("customer_value", "customer_lifecycle", "customer_360", "relationships"):
        changed = changed_ids(
            second.exports / f"{mart}.parquet",
            third.exports / f"{mart}.parquet",
            "from_customer_id" if mart == "relationships" else "customer_id",
        )
        assert changed <= expected | related, mart
    phone, count = third.sql(
        f"SELECT phone, record_count FROM master.customers WHERE customer_id = '{touched['phone']}'"
    )[0]
    assert (phone, count) == ("+8659187654321", 1)
    assert third.sql(
        f"SELECT record_count FROM master.customers WHERE customer_id = '{touched['twin']}'"
    ) == [(2,)]
    # the newcomer dates from its own creation date; nobody else's dates moved
    assert third.sql(
        f"SELECT first_seen FROM master.customers WHERE customer_id = '{newcomer}'"
    ) == [(date(2026, 10, 15),)]

    # the cross-reference gains rows for the new records, opened by this sync; other rows
    # change only for customers that gained a record (their probability is refreshed)
    xref_changes = changed_ids(
        second.exports / "customer_xref.parquet",
        third.exports / "customer_xref.parquet",
        "record_key",
    )
    assert new_keys <= xref_changes
    assert {after[k] for k in xref_changes - new_keys} <= {after[k] for k in new_keys}
    opened = third.sql(
        f"SELECT record_key FROM master.customer_xref WHERE run_id = '{third.run_id}' ORDER BY 1"
    )
    assert {k for (k,) in opened} == new_keys

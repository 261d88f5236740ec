"""Write the demo: exports as the departments send them, the truth behind them, and a config.

Layout under the output folder::

    exports/dealers/dealer_<code>.csv      GB18030 (legacy dealers: GBK), Chinese headers
    exports/key_accounts/key_accounts.xlsx  sheet 'Accounts', English headers, HK/TW rows in traditional
    exports/regional/<province>.csv         UTF-8 with BOM, Chinese headers, the office's date habit
    exports/orders/<source>.csv             UTF-8, one per customer source
    exports/interactions/<source>.csv       UTF-8, one per customer source
    exports/receivables/<source>.csv        UTF-8, open invoices per customer source
    truth/records.csv                       record_key → true customer_id (contact persons included)
    truth/customers.csv                     the true customers
    truth/relationships.csv                 employment, holding, branch, owned_by, family, referral,
                                            served_by_dealer
    truth/planted_cases.csv                 record_key → each planted case it carries (sources.demo.cases)
    customer_master.yaml                    the deployment config for these exports

Same seed, same bytes: one ``random.Random`` drives every choice the demo always made, a
second one (seeded from the same seed) what gives the sales marts their signal: seasons,
acquisition channels, complaint closing days, drifting satisfaction. Nothing depends on
the clock or on hash order.
"""

from __future__ import annotations

import csv
import io
import logging
import random
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import xlsxwriter

from sources.demo import activity, cases, channels, dealers, key_accounts, regional
from sources.demo.config import write_demo_config
from sources.demo.places import PROVINCE_OFFICES, PROVINCE_PREFIX
from sources.demo.world import Customer, World, build_world

log = logging.getLogger(__name__)

#: "Today" in the demo's world: every date in the exports lies on or before it.
REFERENCE_DATE = activity.REFERENCE_DATE
MIN_CUSTOMERS = 100
SOURCES = ("dealers", "key_accounts", "regional")
#: Share of records per source, by entity type (key accounts hold the big companies).
_SOURCE_WEIGHTS = {"company": (50, 20, 30), "person": (55, 5, 40)}
#: Every third dealer runs legacy software that writes GBK (and cannot store rarer characters).
_LEGACY_EVERY = 3


@dataclass
class DemoSummary:
    """What was written: counts per source and per file (data rows), for the run's log."""

    customers: int
    seed: int
    dealers: int
    records: dict[str, int]
    contact_records: int
    orders: int
    interactions: int
    open_invoices: int
    relationships: dict[str, int]
    files: dict[str, int] = field(default_factory=dict)
    planted_cases: dict[str, int] = field(default_factory=dict)  # records carrying each case

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["files"] = len(self.files)
        return out


@dataclass
class _PlannedRecord:
    customer: Customer
    carry_contact: bool
    created: date
    old_name: bool = False  # a renamed company's record that still has its old name
    duplicate: bool = False  # one of two records of the customer in one source file


def generate_demo(out: str | Path, customers: int = 2000, seed: int = 7) -> DemoSummary:
    """Write demo exports for ``customers`` true customers, their truth and a config, into ``out``."""
    if customers < MIN_CUSTOMERS:
        raise ValueError(f"a demo needs at least {MIN_CUSTOMERS} customers (got {customers})")
    out = Path(out)
    rng = random.Random(seed)
    signal = random.Random(f"{seed}:sales-signal")
    world = build_world(customers, rng)
    people = world.by_id()
    planned = _plan_records(world, rng)

    files: dict[str, int] = {}
    contacts: list[tuple[str, str]] = []  # (record_key, contact customer_id)
    planted_rows: list[tuple[str, str, str]] = []  # (record_key, customer_id, case)
    records: dict[str, int] = {}
    dealer_by_code = {d.dealer_code: d for d in world.dealers}

    # Customer CSVs are written once the activity is known: their channel column depends on
    # who bought. (path, headers, rows, the customer of each row, encoding, BOM)
    pending: list[tuple[str, tuple[str, ...], list[list], list[str], str, bool]] = []
    count = 0
    for index, dealer_code in enumerate(sorted(planned["dealers"])):
        rows, owners = [], []
        dealer = dealer_by_code[dealer_code]
        for seq, p in enumerate(_shuffled(planned["dealers"][dealer_code], rng), start=1):
            record_id = f"{dealer_code}-{seq:06d}"
            created = p.created.isoformat() if rng.random() < 0.7 else f"{p.created:%Y/%m/%d}"
            marks = _marks(p)
            rows.append(
                dealers.row(
                    p.customer,
                    record_id,
                    dealer,
                    people,
                    p.carry_contact,
                    created,
                    rng,
                    marks,
                    p.old_name,
                )
            )
            owners.append(p.customer.customer_id)
            _book(p, "dealers", record_id, rows[-1][4], contacts, marks, planted_rows)
        name = f"exports/dealers/dealer_{dealer_code}.csv"
        encoding = "gbk" if index % _LEGACY_EVERY == 1 else "gb18030"
        pending.append((name, dealers.HEADERS, rows, owners, encoding, False))
        files[name] = len(rows)
        count += len(rows)
    records["dealers"] = count

    workbook_rows: list[list[object]] = []
    for seq, p in enumerate(_shuffled(planned["key_accounts"][""], rng), start=1):
        record_id = f"KA{seq:07d}"
        marks = _marks(p)
        workbook_rows.append(
            key_accounts.row(
                p.customer, record_id, people, p.carry_contact, p.created, rng, marks, p.old_name
            )
        )
        _book(p, "key_accounts", record_id, workbook_rows[-1][14], contacts, marks, planted_rows)
    name = "exports/key_accounts/key_accounts.xlsx"
    _write_xlsx(out / name, key_accounts.SHEET, key_accounts.HEADERS, workbook_rows)
    files[name] = records["key_accounts"] = len(workbook_rows)

    count = 0
    for office in sorted(planned["regional"]):
        rows, owners = [], []
        for seq, p in enumerate(_shuffled(planned["regional"][office], rng), start=1):
            record_id = f"{PROVINCE_PREFIX[office]}{seq:07d}"
            marks = _marks(p)
            rows.append(
                regional.row(
                    p.customer,
                    record_id,
                    office,
                    people,
                    p.carry_contact,
                    p.created,
                    rng,
                    marks,
                    p.old_name,
                )
            )
            owners.append(p.customer.customer_id)
            _book(p, "regional", record_id, rows[-1][13], contacts, marks, planted_rows)
        name = f"exports/regional/{office}.csv"
        pending.append((name, regional.HEADERS, rows, owners, "utf-8", True))
        files[name] = len(rows)
        count += len(rows)
    records["regional"] = count

    simulated = activity.simulate_activity(world.customers, rng, REFERENCE_DATE, signal)
    channel = channels.draw_channels(
        [c.customer_id for c in world.customers if c.records], simulated.buyers, signal
    )
    for name, headers, rows, owners, encoding, bom in pending:
        with_channel = [[*row, channel[owner]] for row, owner in zip(rows, owners, strict=True)]
        _write_csv(out / name, headers, with_channel, encoding=encoding, bom=bom)
    n_orders = n_interactions = n_invoices = 0
    for source in SOURCES:
        order_rows = activity.order_rows(source, simulated.orders[source])
        name = f"exports/orders/{source}.csv"
        _write_csv(out / name, activity.ORDER_HEADERS, order_rows, encoding="utf-8", bom=False)
        files[name] = len(order_rows)
        n_orders += len(order_rows)
        interaction_rows = activity.interaction_rows(source, simulated.interactions[source])
        name = f"exports/interactions/{source}.csv"
        _write_csv(
            out / name, activity.INTERACTION_HEADERS, interaction_rows, encoding="utf-8", bom=False
        )
        files[name] = len(interaction_rows)
        n_interactions += len(interaction_rows)
        invoice_rows = activity.receivable_rows(source, order_rows, rng, REFERENCE_DATE)
        name = f"exports/receivables/{source}.csv"
        _write_csv(
            out / name, activity.RECEIVABLE_HEADERS, invoice_rows, encoding="utf-8", bom=False
        )
        files[name] = len(invoice_rows)
        n_invoices += len(invoice_rows)

    relationships = _relationships(world)
    _write_truth(out / "truth", world, contacts, relationships)
    _write_planted(out / "truth" / "planted_cases.csv", planted_rows)
    planted_counts: dict[str, int] = defaultdict(int)
    for _, _, case in planted_rows:
        planted_counts[case] += 1
    write_demo_config(out / "customer_master.yaml")
    kinds: dict[str, int] = defaultdict(int)
    for _, _, kind in relationships:
        kinds[kind] += 1
    return DemoSummary(
        customers=customers,
        seed=seed,
        dealers=len(planned["dealers"]),
        records=records,
        contact_records=len(contacts),
        orders=n_orders,
        interactions=n_interactions,
        open_invoices=n_invoices,
        relationships=dict(sorted(kinds.items())),
        files=files,
        planted_cases={case: planted_counts[case] for case in cases.CASES},
    )


def _plan_records(world: World, rng: random.Random) -> dict[str, dict[str, list[_PlannedRecord]]]:
    """Decide which source (and which dealer or office) holds each record of each customer."""
    planned: dict[str, dict[str, list[_PlannedRecord]]] = {s: defaultdict(list) for s in SOURCES}
    dealers_in: dict[str, list[Customer]] = defaultdict(list)
    for d in world.dealers:
        dealers_in[d.city.name].append(d)
    for c in world.customers:
        if not c.has_records:
            continue
        local_dealers = dealers_in.get(c.city.name) or world.dealers
        used_dealers: list[str] = []
        typed_twice = c.n_records >= 2 and not c.dealer_code and rng.random() < 0.05
        first: tuple[str, str] = ("", "")
        for i in range(c.n_records):
            created = REFERENCE_DATE - timedelta(days=rng.randint(0, 6 * 365))
            record = _PlannedRecord(
                c,
                carry_contact=i == 0,
                created=created,
                old_name=i == 0 and c.old_brand is not None,
                duplicate=typed_twice and i < 2,
            )
            if c.dealer_code:
                source = "key_accounts" if i == 0 else "regional"
            else:
                source = rng.choices(SOURCES, weights=_SOURCE_WEIGHTS[c.entity_type])[0]
            if typed_twice and i == 1:
                source, file = first  # the same customer typed twice into one source
                planned[source][file].append(record)
                continue
            if source == "dealers":
                fresh = [
                    d for d in local_dealers if d.dealer_code not in used_dealers
                ] or local_dealers
                dealer = rng.choice(fresh)
                used_dealers.append(dealer.dealer_code or "")
                file = dealer.dealer_code or ""
            elif source == "regional":
                file = PROVINCE_OFFICES[c.city.province]
            else:
                file = ""
            planned[source][file].append(record)
            if i == 0:
                first = (source, file)
    return planned


def _shuffled(items: list[_PlannedRecord], rng: random.Random) -> list[_PlannedRecord]:
    items = list(items)
    rng.shuffle(items)
    return items


def _marks(p: _PlannedRecord) -> cases.Marks:
    """The cases a record carries before its cells are typed: those of its customer."""
    marks = cases.Marks(record=list(p.customer.kinds))
    if p.duplicate:
        marks.add(cases.DUPLICATE_IN_SOURCE)
    return marks


def _book(
    p: _PlannedRecord,
    source: str,
    record_id: str,
    contact_cell: object,
    contacts: list,
    marks: cases.Marks,
    planted: list[tuple[str, str, str]],
) -> None:
    """Remember where the customer's record landed, the contact person it names, and the
    planted cases both carry."""
    p.customer.records.append((source, record_id))
    key = f"{source}:{record_id}"
    planted += [(key, p.customer.customer_id, case) for case in marks.record]
    if contact_cell and p.customer.contact_id:
        contacts.append((f"{key}:contact", p.customer.contact_id))
        planted += [(f"{key}:contact", p.customer.contact_id, case) for case in marks.contact]


def _relationships(world: World) -> list[tuple[str, str, str]]:
    """True relationships, plus served_by_dealer from each dealer's customers to the dealer."""
    served = []
    by_code = {d.dealer_code: d.customer_id for d in world.dealers}
    for c in world.customers:
        codes = dict.fromkeys(rid.split("-")[0] for source, rid in c.records if source == "dealers")
        served += [(c.customer_id, by_code[code], "served_by_dealer") for code in codes]
    return world.relationships + served


def _write_planted(path: Path, planted: list[tuple[str, str, str]]) -> None:
    """truth/planted_cases.csv: one row per record and planted case, sorted."""
    _write_csv(
        path,
        ("record_key", "customer_id", "case"),
        [list(r) for r in sorted(planted)],
        encoding="utf-8",
        bom=False,
    )


def _write_csv(
    path: Path, headers: tuple[str, ...], rows: list[list], encoding: str, bom: bool
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    data = buffer.getvalue().encode(encoding, errors="replace")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)


def _write_xlsx(path: Path, sheet: str, headers: tuple[str, ...], rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    workbook.set_properties({"created": datetime.combine(REFERENCE_DATE, datetime.min.time())})
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    worksheet = workbook.add_worksheet(sheet)
    worksheet.write_row(0, 0, headers)
    for r, values in enumerate(rows, start=1):
        for col, value in enumerate(values):
            if isinstance(value, date):
                worksheet.write_datetime(
                    r, col, datetime.combine(value, datetime.min.time()), date_format
                )
            elif value != "":
                worksheet.write(r, col, value)
    workbook.close()


def _write_truth(
    folder: Path,
    world: World,
    contacts: list[tuple[str, str]],
    relationships: list[tuple[str, str, str]],
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    types = {c.customer_id: c.entity_type for c in world.customers}
    record_rows = [
        [f"{source}:{rid}", c.customer_id, c.entity_type, source, rid]
        for c in world.customers
        for source, rid in c.records
    ]
    record_rows += [
        [key, cid, types[cid], key.split(":")[0], key.split(":", 1)[1]] for key, cid in contacts
    ]
    record_rows.sort()
    _write_csv(
        folder / "records.csv",
        ("record_key", "customer_id", "entity_type", "source", "source_record_id"),
        record_rows,
        encoding="utf-8",
        bom=False,
    )
    customer_rows = [
        [
            c.customer_id,
            c.entity_type,
            c.name,
            c.city.province,
            c.city.name,
            c.district,
            c.address,
            f"+86{c.city.area_code}{c.phone}" if c.phone else "",
            f"+86{c.mobile}" if c.mobile else "",
            c.email or "",
            c.uscc or "",
            c.parent_id or "",
            c.dealer_code or "",
            "yes" if c.records else "no",
        ]
        for c in world.customers
    ]
    _write_csv(
        folder / "customers.csv",
        (
            "customer_id",
            "entity_type",
            "name",
            "province",
            "city",
            "district",
            "address",
            "phone",
            "mobile",
            "email",
            "uscc",
            "parent_customer_id",
            "dealer_code",
            "has_records",
        ),
        customer_rows,
        encoding="utf-8",
        bom=False,
    )
    _write_csv(
        folder / "relationships.csv",
        ("from_customer_id", "to_customer_id", "relationship_type"),
        [list(r) for r in relationships],
        encoding="utf-8",
        bom=False,
    )

"""A day's changes to the demo exports: what the next morning's files look like.

On a normal day a few dealers and offices send a changed export and the order and
interaction books grow. :func:`apply_delta` rewrites the demo's exports in place the way
those departments would, for about ``share`` of the customer records in all:

* **edited** records: a new mobile, a new address (moved), a renamed company;
* **removed** records (the dealer dropped the customer);
* **new** records: an existing customer appearing at one more dealer or office (which
  should join that customer), and customers nobody had before;
* **new orders and interactions** dated the day after the demo's reference date, for
  existing records.

Only the files that carry a change are rewritten, each in its own encoding, with its
rows in the same order; every other file keeps its bytes (and its modification time).
Same exports, share and seed: same delta. The key-account workbook is left alone: the
team sends it monthly.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sources.demo import vocabulary as v
from sources.demo.activity import INTERACTION_HEADERS, ORDER_HEADERS, REFERENCE_DATE
from sources.demo.seasons import PRODUCT_LINES

#: The columns of the demo's customer CSVs a delta touches, per folder.
_COLUMNS = {
    "dealers": {"id": "客户编号", "name": "客户名称", "mobile": "手机", "address": "地址"},
    "regional": {"id": "编号", "name": "客户名称", "mobile": "手机", "address": "详细地址"},
}
_ENCODING = {"dealers": "gb18030", "regional": "utf-8-sig"}
#: Of the records a delta touches: edited, removed, new (the rest of each 1).
_EDITED, _REMOVED = 0.5, 0.15
#: Of the new records: an existing customer's record copied to another file.
_KNOWN_CUSTOMER = 0.5
#: Of the files of a folder: how many change on a given day.
_FILES_CHANGED = 0.25
#: New orders and interactions per customer record the delta touches.
_ACTIVITY_PER_CHANGE = 3


@dataclass
class DeltaSummary:
    """What the delta changed: record counts by kind, and the files rewritten."""

    edited: int = 0
    removed: int = 0
    new_records: int = 0
    new_orders: int = 0
    new_interactions: int = 0
    files: list[str] = field(default_factory=list)

    @property
    def records(self) -> int:
        return self.edited + self.removed + self.new_records

    def render(self) -> str:
        return (
            f"{self.records:,} customer records changed ({self.edited:,} edited, "
            f"{self.removed:,} removed, {self.new_records:,} new), {self.new_orders:,} new orders, "
            f"{self.new_interactions:,} new interactions, in {len(self.files)} files"
        )


@dataclass
class _Export:
    path: Path
    folder: str
    encoding: str
    headers: list[str]
    rows: list[list[str]]
    bom: bool = False


def apply_delta(demo_dir: str | Path, share: float = 0.01, seed: int = 1) -> DeltaSummary:
    """Change about ``share`` of the customer records under ``demo_dir/exports`` in place."""
    if not 0 < share < 0.5:
        raise ValueError(f"share must be between 0 and 0.5 (got {share})")
    exports = Path(demo_dir) / "exports"
    rng = random.Random(seed)
    files = [
        _read(path, folder)
        for folder in _COLUMNS
        for path in sorted((exports / folder).glob("*.csv"))
    ]
    if not files:
        raise FileNotFoundError(f"no demo customer exports under {exports}")
    total = sum(len(f.rows) for f in files)
    changes = max(1, round(total * share))
    chosen = rng.sample(files, max(1, round(len(files) * _FILES_CHANGED)))
    summary = DeltaSummary()
    changed: set[int] = set()
    touched: list[tuple[str, str]] = []  # (source, record id) for new activity
    day = REFERENCE_DATE + timedelta(days=1)
    tag = f"{day:%Y%m%d}S{seed}"  # new keys of another delta (another seed) never collide
    for n in range(changes):
        target = chosen[n % len(chosen)]
        cols = _COLUMNS[target.folder]
        index = {h: i for i, h in enumerate(target.headers)}
        roll = rng.random()
        if roll < _EDITED and target.rows:
            row = rng.choice(target.rows)
            _edit(row, index, cols, rng.choice(files), rng)
            summary.edited += 1
            touched.append((target.folder, row[index[cols["id"]]]))
        elif roll < _EDITED + _REMOVED and target.rows:
            target.rows.pop(rng.randrange(len(target.rows)))
            summary.removed += 1
        else:
            donor = rng.choice(files)
            if not donor.rows:
                continue
            new = _new_record(donor, target, n, tag, rng, known=rng.random() < _KNOWN_CUSTOMER)
            target.rows.append(new)
            summary.new_records += 1
        changed.add(id(target))
    for export in files:
        if id(export) in changed:
            _write(export)
            summary.files.append(str(export.path.relative_to(exports)))
    summary.new_orders, summary.new_interactions = _add_activity(
        exports, touched, day, tag, rng, summary.files
    )
    return summary


def _edit(row: list[str], index: dict[str, int], cols: dict[str, str], donor: _Export, rng) -> None:
    """A new mobile, a new address, or (for a company) a new trade name."""
    kind = rng.choice(("mobile", "address", "name"))
    if kind == "mobile":
        row[index[cols["mobile"]]] = _mobile(rng)
    elif kind == "address" and donor.rows:
        donor_index = {h: i for i, h in enumerate(donor.headers)}
        row[index[cols["address"]]] = rng.choice(donor.rows)[
            donor_index[_COLUMNS[donor.folder]["address"]]
        ]
    else:
        name = row[index[cols["name"]]]
        if "公司" in name and len(name) > 6:
            # the trade name follows the two-character city: 厦门快信电脑有限公司 → 厦门恒达电脑有限公司
            row[index[cols["name"]]] = name[:2] + _trade_name(rng) + name[4:]
        else:
            row[index[cols["mobile"]]] = _mobile(rng)


def _new_record(
    donor: _Export, target: _Export, n: int, tag: str, rng: random.Random, known: bool
) -> list[str]:
    """A row for ``target``: a donor customer's record, or a customer nobody had before."""
    donor_index = {h: i for i, h in enumerate(donor.headers)}
    source = rng.choice(donor.rows)
    values = {h: source[i] for h, i in donor_index.items()}
    dcols, tcols = _COLUMNS[donor.folder], _COLUMNS[target.folder]
    row = ["" for _ in target.headers]
    for position, header in enumerate(target.headers):
        if header in values:
            row[position] = values[header]
    index = {h: i for i, h in enumerate(target.headers)}
    for key in ("name", "mobile", "address"):
        row[index[tcols[key]]] = values[dcols[key]]
    row[index[tcols["id"]]] = f"NEW{tag}-{n:07d}"
    if not known:
        row[index[tcols["name"]]] = _new_name(values[dcols["name"]], rng)
        row[index[tcols["mobile"]]] = _mobile(rng)
        for header in ("统一社会信用代码", "统一信用代码", "身份证号", "邮箱", "电话", "固定电话"):
            if header in index:
                row[index[header]] = ""
    return row


def _new_name(name: str, rng: random.Random) -> str:
    if "公司" in name and len(name) > 6:
        return name[:2] + _trade_name(rng) + _trade_name(rng) + name[4:]
    return rng.choice(v.SURNAMES) + rng.choice(v.GIVEN_CHARS) + rng.choice(v.GIVEN_CHARS)


def _mobile(rng: random.Random) -> str:
    return f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"


def _add_activity(
    exports: Path,
    touched: list[tuple[str, str]],
    day,
    tag: str,
    rng: random.Random,
    rewritten: list[str],
) -> tuple[int, int]:
    """Append new orders and interactions of the touched records to their sources' books."""
    orders = interactions = 0
    by_source: dict[str, list[str]] = {}
    for source, record_id in touched:
        by_source.setdefault(source, []).append(record_id)
    for source, record_ids in sorted(by_source.items()):
        for book, make in (("orders", _order), ("interactions", _interaction)):
            path = exports / book / f"{source}.csv"
            if not path.exists():
                continue
            # as written, line breaks untranslated: the book only grows at its end, as a
            # real order system's export does (read_text turned an earlier day's "\r\n"
            # into "\n", rewriting the rows above the new ones)
            with path.open(encoding="utf-8", newline="") as handle:
                text = handle.read()
            rows = [
                make(record_id, day, f"{book[0].upper()}{tag}-{i:06d}{j}", rng)
                for i, record_id in enumerate(record_ids)
                for j in range(rng.randint(1, _ACTIVITY_PER_CHANGE))
            ]
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\r\n").writerows(rows)
            path.write_text(text + buffer.getvalue(), encoding="utf-8", newline="")
            rewritten.append(f"{book}/{source}.csv")
            if book == "orders":
                orders += len(rows)
            else:
                interactions += len(rows)
    return orders, interactions


def _order(record_id: str, day, order_id: str, rng: random.Random) -> list[object]:
    """A new order line with the columns of the demo's order books (``ORDER_HEADERS``)."""
    product, price, _service = rng.choice(v.EQUIPMENT)
    quantity = rng.randint(1, 20)
    return _in_columns(
        ORDER_HEADERS,
        order_id=order_id,
        customer_record_id=record_id,
        order_date=day.isoformat(),
        product=product,
        product_line=PRODUCT_LINES[product],
        quantity=quantity,
        amount=f"{quantity * price:.2f}",
    )


def _interaction(record_id: str, day, interaction_id: str, rng: random.Random) -> list[object]:
    """A new call with the columns of the demo's interaction books (``INTERACTION_HEADERS``)."""
    return _in_columns(
        INTERACTION_HEADERS,
        interaction_id=interaction_id,
        customer_record_id=record_id,
        interaction_date=day.isoformat(),
        interaction_type="call",
        note=rng.choice(v.CALL_NOTES),
    )


def _in_columns(headers: tuple[str, ...], **values: object) -> list[object]:
    """A book's row: ``values`` in the order of its ``headers``, empty where not given.
    Raises KeyError for a value the book has no column for."""
    unknown = set(values) - set(headers)
    if unknown:
        raise KeyError(f"no column {sorted(unknown)} in {headers}")
    return [values.get(h, "") for h in headers]


def _read(path: Path, folder: str) -> _Export:
    data = path.read_bytes()
    bom = data.startswith(b"\xef\xbb\xbf")
    encoding = "utf-8-sig" if bom else _ENCODING[folder]
    reader = csv.reader(io.StringIO(data.decode(encoding), newline=""))
    headers = next(reader)
    return _Export(path, folder, encoding, headers, [list(r) for r in reader], bom)


def _write(export: _Export) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(export.headers)
    writer.writerows(export.rows)
    data = buffer.getvalue().encode(export.encoding, errors="replace")
    temporary = export.path.with_suffix(".csv.partial")
    temporary.write_bytes(data)
    temporary.replace(export.path)


def _trade_name(rng: random.Random) -> str:
    """Two brand characters, as the demo's company names are made."""
    return rng.choice(v.BRAND_CHARS) + rng.choice(v.BRAND_CHARS)

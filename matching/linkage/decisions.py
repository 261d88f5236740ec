"""Steward decisions: a person's verdict on a pair of records, kept for ever.

Stewards work through the review queue and write their verdicts into one CSV file the
pipeline reads on every run::

    record_key_l,record_key_r,decision,decided_by,decided_at,note
    dealers:XM01-000123,regional:FJ0000456,match,林小燕,2026-11-20,same shop, new phone
    dealers:XM01-000777,dealers:FZ01-000031,no_match,林小燕,2026-11-20,branch in another city

A ``match`` joins the two records' clusters; a ``no_match`` keeps them apart whatever the
model says (see ``matching.linkage.clustering``). Decisions name records, not clusters or customer
IDs, so they survive reruns and retraining. The order of the two keys does not matter;
when a pair is decided twice, the latest decision (by ``decided_at``, then file order)
wins. A malformed row is an error naming the file, row and field: a steward's decision
is never dropped silently.

The review page (``service``) writes this file through ``append_decisions`` and
``remove_decisions`` (undo): each rewrites the whole file under a temporary name and
renames it into place, so a sync reading it never sees half a row.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from warehouse.files import write_atomically

logger = logging.getLogger(__name__)

DECISION_COLUMNS = ("record_key_l", "record_key_r", "decision", "decided_by", "decided_at", "note")
REQUIRED_COLUMNS = ("record_key_l", "record_key_r", "decision")
DECISIONS = ("match", "no_match")


class DecisionFileError(ValueError):
    """The steward decisions file cannot be used as written; the message names file, row and field."""


@dataclass(frozen=True)
class Decisions:
    """Steward decisions, one row per decided pair (``record_key_l < record_key_r``)."""

    table: pd.DataFrame

    @property
    def matches(self) -> pd.DataFrame:
        return self.table[self.table["decision"] == "match"]

    def __len__(self) -> int:
        return len(self.table)


def empty_decisions() -> Decisions:
    return Decisions(pd.DataFrame({c: pd.Series(dtype=object) for c in DECISION_COLUMNS}))


def order_pairs(
    frame: pd.DataFrame, left: str = "record_key_l", right: str = "record_key_r"
) -> pd.DataFrame:
    """The same pairs with the smaller record key on the left."""
    swap = frame[left] > frame[right]
    out = frame.copy()
    out.loc[swap, [left, right]] = frame.loc[swap, [right, left]].to_numpy()
    return out


def read_decisions(path: str | Path | None) -> Decisions:
    """Read the steward decisions file; a missing file means no decisions yet.

    Raises:
        DecisionFileError: a required column is missing, or a row lacks a record key, names
            the same record twice or has a decision other than match / no_match.
    """
    if path is None or not Path(path).exists():
        return empty_decisions()
    path = Path(path)
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise DecisionFileError(
                f"{path}: missing column(s) {', '.join(missing)}; the file has: {', '.join(header)}"
            )
        rows = []
        for row_number, row in enumerate(reader, start=2):
            rows.append(_checked(path, row_number, row))
    if not rows:
        return empty_decisions()
    table = order_pairs(pd.DataFrame(rows, columns=[*DECISION_COLUMNS, "row"]))
    # latest decision per pair wins: by decided_at (ISO dates sort as text), then file order
    table = table.sort_values(["decided_at", "row"], na_position="first", kind="stable")
    table = table.drop_duplicates(["record_key_l", "record_key_r"], keep="last")
    table = (
        table.sort_values(["record_key_l", "record_key_r"])
        .drop(columns="row")
        .reset_index(drop=True)
    )
    logger.info(
        "%s: %d steward decisions (%d match, %d no_match)",
        path,
        len(table),
        int((table["decision"] == "match").sum()),
        int((table["decision"] == "no_match").sum()),
    )
    return Decisions(table)


def _checked(path: Path, row_number: int, row: dict[str, str | None]) -> list[object]:
    values = {c: (row.get(c) or "").strip() for c in DECISION_COLUMNS}
    for column in ("record_key_l", "record_key_r"):
        if not values[column]:
            raise DecisionFileError(f"{path}: row {row_number}, field {column}: empty record key")
    if values["record_key_l"] == values["record_key_r"]:
        raise DecisionFileError(
            f"{path}: row {row_number}: a record cannot be decided against itself"
        )
    decision = values["decision"].lower().replace("-", "_").replace(" ", "_")
    if decision not in DECISIONS:
        raise DecisionFileError(
            f"{path}: row {row_number}, field decision: {values['decision']!r} is not one of {', '.join(DECISIONS)}"
        )
    values["decision"] = decision
    return [*(values[c] or None for c in DECISION_COLUMNS), row_number]


def unknown_records(decisions: Decisions, record_keys: pd.Index) -> list[str]:
    """Record keys named by decisions that are not (or no longer) staged."""
    named = pd.Index(
        pd.concat([decisions.table["record_key_l"], decisions.table["record_key_r"]]).unique()
    )
    return sorted(named.difference(record_keys))


def append_decisions(path: str | Path, rows: list[dict[str, str]]) -> None:
    """Add steward decisions (``DECISION_COLUMNS``) to the end of the file, atomically.

    The file is rewritten whole under a temporary name and renamed over the old one, so the
    pipeline never reads half a row; the header gets every decision column (a file a
    steward started with fewer keeps its rows and any column of its own). Rows are checked
    as ``read_decisions`` checks them before anything is written.

    Raises:
        DecisionFileError: a row would not read back (no record key, same record twice,
            a decision other than match / no_match).
    """
    path = Path(path)
    for number, row in enumerate(rows, start=1):
        _checked(path, number, {c: row.get(c) for c in DECISION_COLUMNS})
    header, kept = _rows(path)
    _rewrite(path, header, kept + [{c: row.get(c) or "" for c in DECISION_COLUMNS} for row in rows])


def remove_decisions(path: str | Path, rows: list[dict[str, str]]) -> int:
    """Take back decisions: remove the file's rows equal to ``rows`` (every column), atomically.

    Returns:
        How many rows were removed (a row already gone is not an error).
    """
    path = Path(path)
    if not path.exists():
        return 0
    header, kept = _rows(path)
    wanted = [tuple((r.get(c) or "") for c in DECISION_COLUMNS) for r in rows]
    remaining = []
    for row in kept:
        key = tuple((row.get(c) or "") for c in DECISION_COLUMNS)
        if key in wanted:
            wanted.remove(key)
        else:
            remaining.append(row)
    _rewrite(path, header, remaining)
    return len(kept) - len(remaining)


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The file's header (every decision column, then any column of its own) and rows."""
    if not path.exists():
        return list(DECISION_COLUMNS), []
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        own = [c for c in reader.fieldnames or [] if c not in DECISION_COLUMNS]
        return [*DECISION_COLUMNS, *own], list(reader)


def _rewrite(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    text = buffer.getvalue()
    write_atomically(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))

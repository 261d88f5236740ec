"""One customer explained: why its records are one customer, where each golden value came
from, and what happened to it over time. The engine behind ``custmaster explain``.

- **records and links**: the customer's current source records and the links that hold them
  together (the fewest that do, strongest first, as the clustering took them), each with its
  evidence in words (``matching.master.link_evidence``);
- **golden values**: every attribute of the golden record with the source record that
  supplied it and the survivorship rule that chose it (``master.attribute_lineage``);
- **history**: its ID events (created, split from, merged into, absorbed), records joining
  and leaving it (``master.customer_xref``), lifecycle stage changes
  (``marts.lifecycle_history``), oldest first, from ``since`` on.

An ID that was merged is explained as the customer it now resolves to, and says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb
import pandas as pd

from matching.linkage.decisions import Decisions
from matching.master.link_evidence import holding_links, spanning_links
from warehouse.store import table_exists
from warehouse.views import CURRENT_XREF


class UnknownCustomer(LookupError):
    """No customer ID like this was ever issued."""


@dataclass(frozen=True)
class Explanation:
    """Everything ``custmaster explain`` says about one customer (``as_dict`` for ``--json``)."""

    asked: str
    customer_id: str
    status: str  # active / merged (asked is merged into customer_id) / retired
    entity_type: str
    name: str | None
    records: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    other_links: int = 0
    golden_values: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def render(self) -> str:
        """The explanation for a person, in plain text."""
        lines = [f"{self.customer_id} ({self.entity_type}) {self.name or ''}".rstrip()]
        if self.status == "merged":
            lines.append(f"  {self.asked} was merged into {self.customer_id}")
        elif self.status == "retired":
            lines.append(f"  {self.asked} is retired: its records left the sources")
        lines.append(f"\nrecords ({len(self.records)}):")
        lines += [
            f"  {r['record_key']:<32} {r['source']:<14} {r['name'] or ''}" for r in self.records
        ]
        if len(self.records) > 1:
            lines.append("\nwhy they are one customer:")
            for link in self.links:
                p = (
                    ""
                    if link["match_probability"] is None
                    else f" p={link['match_probability']:.3f}"
                )
                lines.append(
                    f"  {link['record_key_l']} — {link['record_key_r']}: {link['kind']}{p}\n"
                    f"      {link['evidence']}"
                )
            if self.other_links:
                lines.append(f"  (and {self.other_links} more links among these records)")
        lines.append("\ngolden values:")
        lines += [
            f"  {g['attribute']:<18} {g['value']!s:<28} from {g['record_key']} ({g['rule']})"
            for g in self.golden_values
        ]
        lines.append("\nhistory:")
        lines += [f"  {h['at']}  {h['what']}" for h in self.history] or ["  nothing"]
        return "\n".join(lines)


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> pd.DataFrame:
    return con.execute(sql, params).df()


def _records(con: duckdb.DuckDBPyConnection, customer_id: str) -> pd.DataFrame:
    return _frame(
        con,
        f"""SELECT x.record_key, s.source, s.name, s.source_file, s.source_row
            FROM {CURRENT_XREF} x JOIN staging.customers s USING (record_key)
            WHERE x.customer_id = ? ORDER BY x.record_key""",
        [customer_id],
    )


def _history(
    con: duckdb.DuckDBPyConnection, customer_id: str, since: date | None
) -> list[dict[str, Any]]:
    items: list[tuple[datetime, str]] = []
    events = _frame(
        con,
        """SELECT event, customer_id, related_customer_id, records, event_at, run_id
           FROM master.customer_id_events WHERE ? IN (customer_id, related_customer_id)""",
        [customer_id],
    )
    for e in events.itertuples():
        mine = e.customer_id == customer_id
        what = {
            ("created", True): f"created with {e.records} record(s)",
            ("split", True): f"split from {e.related_customer_id} with {e.records} record(s)",
            ("split", False): f"{e.customer_id} split from it ({e.records} record(s))",
            ("merged", True): f"merged into {e.related_customer_id}",
            ("merged", False): f"absorbed {e.customer_id} ({e.records} record(s) merged into it)",
            ("retired", True): "retired: its records left the sources",
        }.get((e.event, mine), e.event)
        items.append((e.event_at, f"{what} (run {e.run_id})"))
    xref = _frame(
        con,
        "SELECT record_key, valid_from, valid_to FROM master.customer_xref WHERE customer_id = ?",
        [customer_id],
    )
    for row in xref.itertuples():
        items.append((row.valid_from, f"record {row.record_key} joined"))
        if not pd.isna(row.valid_to):
            items.append((row.valid_to, f"record {row.record_key} left"))
    if table_exists(con, "marts", "lifecycle_history"):
        stages = _frame(
            con,
            """SELECT stage, previous_stage, recorded_at FROM marts.lifecycle_history
               WHERE customer_id = ?""",
            [customer_id],
        )
        for s in stages.itertuples():
            items.append((s.recorded_at, f"lifecycle: {s.previous_stage or '(none)'} → {s.stage}"))
    start = pd.Timestamp(since) if since else None
    return [
        {"at": pd.Timestamp(at).isoformat(sep=" ", timespec="seconds"), "what": what}
        for at, what in sorted(items, key=lambda i: (pd.Timestamp(i[0]), i[1]))
        if start is None or pd.Timestamp(at) >= start
    ]


def explain_customer(
    con: duckdb.DuckDBPyConnection,
    customer_id: str,
    decisions: Decisions,
    upper: float,
    since: date | None = None,
) -> Explanation:
    """Explain ``customer_id`` (any ID ever issued) from the warehouse.

    Raises:
        UnknownCustomer: no such ID was ever issued.
    """
    row = con.execute(
        "SELECT status, merged_into, entity_type FROM master.customer_ids WHERE customer_id = ?",
        [customer_id],
    ).fetchall()
    if not row:
        raise UnknownCustomer(f"no customer ID {customer_id} was ever issued")
    status, merged_into, entity_type = row[0]
    live = merged_into if status == "merged" and merged_into else customer_id
    name = con.execute("SELECT name FROM master.customers WHERE customer_id = ?", [live]).fetchall()
    records = _records(con, live)
    keys = set(records["record_key"])
    held = holding_links(con, keys, decisions, upper)
    spanning = spanning_links(held) if len(held) else held
    lineage = _frame(
        con,
        """SELECT attribute, value, source, record_key, rule FROM master.attribute_lineage
           WHERE customer_id = ? ORDER BY attribute""",
        [live],
    )

    def plain(frame: pd.DataFrame) -> list[dict[str, Any]]:
        frame = frame.astype(object)
        return frame.where(frame.notna(), None).to_dict(orient="records")

    return Explanation(
        asked=customer_id,
        customer_id=live,
        status=status,
        entity_type=entity_type,
        name=name[0][0] if name else None,
        records=plain(records),
        links=plain(spanning),
        other_links=len(held) - len(spanning),
        golden_values=plain(lineage),
        history=_history(con, live, since),
    )

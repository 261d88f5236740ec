"""Orders, interactions and open invoices of the demo's customers, as each source's systems export them.

Spend follows the customers' Pareto-shaped value (a fifth of the customers bring most of
the revenue). Print shops and offices re-order consumables on their own rhythm (every
30-120 days, a few days early or late: the ink-cartridge pattern a dealer predicts);
equipment is bought now and then. Order sizes follow the seasons of
``sources.demo.seasons`` (per product line and region), and some quarterly surveyed
customers drift in satisfaction (``sources.demo.surveys``); both draw from their own random
stream (``signal``), so that the rest of the demo is the same with or without them. Some customers went quiet months ago (dormant) or
more than a year ago (churned), and some never ordered (prospects). Each order and
interaction is booked on one of the customer's records, in that record's source.

The receivables ledger lists the invoices still open: most customers pay on time (only
invoices not yet due are open), some pay late (invoices up to two months past due) and a
few have stopped paying (everything since some point is open and overdue).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from sources.demo import vocabulary as v
from sources.demo.seasons import PRODUCT_LINES, season_factor
from sources.demo.surveys import survey_trail
from sources.demo.world import Customer

#: "Today" in the demo's world: activity is simulated up to it, and the demo's marts
#: describe this day (``marts.as_of`` in the demo config).
REFERENCE_DATE = date(2026, 9, 30)
ORDER_HEADERS = (
    "order_id",
    "customer_record_id",
    "order_date",
    "product",
    "product_line",
    "quantity",
    "amount",
)
INTERACTION_HEADERS = (
    "interaction_id",
    "customer_record_id",
    "interaction_date",
    "interaction_type",
    "satisfaction_score",
    "status",
    "closed_date",
    "note",
)
RECEIVABLE_HEADERS = ("invoice_no", "customer_record_id", "invoice_date", "due_date", "open_amount")
#: Payment terms in days per source: key accounts buy on longer credit than dealers' shops.
PAYMENT_TERMS = {"dealers": 30, "key_accounts": 60, "regional": 30}
#: Invoices older than this are settled or written off and no longer in the ledger.
LEDGER_DAYS = 240
ORDER_PREFIX = {"dealers": "SO", "key_accounts": "KO", "regional": "RO"}
HISTORY_DAYS = 3 * 365
#: Cap on a customer's relative value, so that one order book stays plausible.
MAX_VALUE = 150.0


@dataclass
class Activity:
    """Rows per source, before IDs are assigned: (date, record id, product, qty, amount), and
    the customers who ordered at all."""

    orders: dict[str, list[tuple]] = field(default_factory=dict)
    interactions: dict[str, list[tuple]] = field(default_factory=dict)
    buyers: set[str] = field(default_factory=set)


def _window(rng: random.Random, today: date) -> tuple[date, date] | None:
    """First and last day the customer ordered, by lifecycle; None for a prospect."""
    roll = rng.random()
    if roll < 0.12:
        return None
    start = today - timedelta(days=rng.randint(30, HISTORY_DAYS - 5))
    if roll < 0.70:
        end = today
    elif roll < 0.88:
        end = today - timedelta(days=rng.randint(91, 364))
    else:
        end = today - timedelta(days=rng.randint(366, HISTORY_DAYS - 10))
    return (start, end) if end > start else (start, today)


def _orders_of(c: Customer, rng: random.Random, today: date) -> list[tuple[date, str, int, float]]:
    window = _window(rng, today)
    if window is None:
        return []
    start, end = window
    value = min(c.value, MAX_VALUE)
    orders: list[tuple[date, str, int, float]] = []
    if rng.random() < (0.55 if c.entity_type == "company" else 0.25):
        product, price = rng.choice(v.CONSUMABLES)
        interval = rng.randint(30, 120)
        quantity = max(1, round(value * rng.uniform(0.5, 1.5)))
        day = start + timedelta(days=rng.randint(0, interval))
        while day <= end:
            orders.append((day, product, quantity, round(quantity * price, 2)))
            day += timedelta(days=interval + rng.randint(-5, 5))
    for _ in range(1 + min(int(value), 12) + (rng.random() < 0.3)):
        product, price, _service = rng.choice(v.EQUIPMENT)
        quantity = max(1, round(value * rng.uniform(0.2, 1.0)))
        day = start + timedelta(days=rng.randint(0, (end - start).days))
        orders.append((day, product, quantity, round(quantity * price, 2)))
    return orders


def _in_season(
    orders: list[tuple[date, str, int, float]], province: str, signal: random.Random
) -> list[tuple[date, str, int, float]]:
    """The orders with their quantity times the season's factor, rounded at random so that it
    keeps its mean, and at least 1: every order is still placed on its day, so who orders
    what and when is the same with or without seasons (the follow-up lists read that)."""
    seasonal = []
    for day, product, quantity, amount in orders:
        scaled = quantity * season_factor(day, province, product)
        new = max(1, int(scaled) + (signal.random() < scaled - int(scaled)))
        seasonal.append((day, product, new, round(amount / quantity * new, 2)))
    return seasonal


def _interactions_of(rng: random.Random, today: date) -> list[tuple[date, str, str, str, str]]:
    rows = []
    for _ in range(rng.choice((0, 0, 1, 1, 2, 3, 4))):
        kind = rng.choices(v.INTERACTION_TYPES, weights=(50, 25, 10, 15))[0]
        day = today - timedelta(days=rng.randint(0, 720))
        score = status = note = ""
        if kind == "survey":
            score = str(rng.choices((1, 2, 3, 4, 5), weights=(3, 5, 15, 40, 37))[0])
        elif kind == "complaint":
            status = "open" if rng.random() < 0.3 else "closed"
            note = rng.choice(v.COMPLAINT_NOTES)
        else:
            note = rng.choice(v.CALL_NOTES)
        rows.append((day, kind, score, status, note))
    return rows


def simulate_activity(
    customers: list[Customer], rng: random.Random, today: date, signal: random.Random
) -> Activity:
    """Orders and interactions for every customer that has records, booked on those records.

    ``rng`` draws what the demo always had; ``signal`` the seasons, the complaint closing
    days and the quarterly surveys."""
    activity = Activity(
        orders={s: [] for s in ORDER_PREFIX}, interactions={s: [] for s in ORDER_PREFIX}
    )
    for c in customers:
        if not c.records:
            continue
        orders = _orders_of(c, rng, today)
        for day, product, quantity, amount in _in_season(orders, c.city.province, signal):
            source, record_id = rng.choice(c.records)
            activity.orders[source].append((day, record_id, product, quantity, amount))
            activity.buyers.add(c.customer_id)
        for day, kind, score, status, note in _interactions_of(rng, today):
            source, record_id = rng.choice(c.records)
            closed = ""
            if status == "closed":
                closed = min(day + timedelta(days=signal.randint(1, 45)), today).isoformat()
            activity.interactions[source].append(
                (day, record_id, kind, score, status, closed, note)
            )
        for day, rating in survey_trail(signal, today):
            source, record_id = signal.choice(c.records)
            activity.interactions[source].append(
                (day, record_id, "survey", str(rating), "", "", "")
            )
    return activity


def order_rows(source: str, orders: list[tuple]) -> list[list[object]]:
    """Orders of one source in date order with their order numbers."""
    ordered = sorted(orders, key=lambda o: (o[0], o[1], o[2]))
    prefix = ORDER_PREFIX[source]
    return [
        [
            f"{prefix}{i:08d}",
            record_id,
            day.isoformat(),
            product,
            PRODUCT_LINES[product],
            quantity,
            f"{amount:.2f}",
        ]
        for i, (day, record_id, product, quantity, amount) in enumerate(ordered, start=1)
    ]


def interaction_rows(source: str, interactions: list[tuple]) -> list[list[object]]:
    ordered = sorted(interactions, key=lambda o: (o[0], o[1], o[2]))
    prefix = ORDER_PREFIX[source][0] + "I"
    return [
        [f"{prefix}{i:08d}", record_id, day.isoformat(), kind, score, status, closed, note]
        for i, (day, record_id, kind, score, status, closed, note) in enumerate(ordered, start=1)
    ]


def receivable_rows(
    source: str, orders: list[list[object]], rng: random.Random, today: date
) -> list[list[object]]:
    """The open invoices of one source on ``today``: one invoice per order, partly paid or not.

    ``orders`` are the source's order rows as written (``order_rows``); a record's payment
    habit (punctual, late, defaulting) is drawn once per record, in the order records appear.
    """
    terms = PAYMENT_TERMS[source]
    habit: dict[str, tuple[str, int]] = {}
    rows: list[list[object]] = []
    for order_id, record_id, day, _product, _line, _quantity, amount in orders:
        record = str(record_id)
        if record not in habit:
            roll = rng.random()
            kind = "punctual" if roll < 0.78 else "late" if roll < 0.94 else "defaulting"
            habit[record] = (kind, rng.randint(5, 60))
        kind, lateness = habit[record]
        invoiced = date.fromisoformat(str(day))
        due = invoiced + timedelta(days=terms)
        age = (today - invoiced).days
        if age > LEDGER_DAYS:
            continue
        if kind == "punctual":
            still_open = due >= today and rng.random() < 0.7
        elif kind == "late":
            still_open = (today - due).days < lateness
        else:
            still_open = age > 0 and (today - due).days < 4 * lateness
        if not still_open:
            continue
        total = float(str(amount))
        share = 1.0 if kind != "late" or rng.random() < 0.6 else rng.choice((0.3, 0.5, 0.8))
        invoice_no = f"INV-{order_id}"
        rows.append(
            [invoice_no, record, invoiced.isoformat(), due.isoformat(), f"{total * share:.2f}"]
        )
    return rows

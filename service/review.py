"""The stewards' review page: decide the review queue in a browser instead of editing a CSV.

``GET /review`` lists the last sync's review queue, the pairs whose decision moves most
records first (``CustomerStore.review_queue``), each pair side by side with the evidence
in the model's words. A steward marks several pairs match / no match (skip is the
default), names themself and sends them at once; ``POST /review`` appends them to the
deployment's decisions file (config ``matching.decisions``) with who and when, atomically
(``matching.linkage.decisions.append_decisions``), and the page offers to undo that batch
(``POST /review/undo``). Pairs already in the file leave the page at once; the next sync
applies the decisions as it applies every steward decision.

The page is plain HTML forms (no script), so it works offline and in any browser. A
steward's name and a note are free text, escaped on the page and written as CSV fields.
"""

from __future__ import annotations

import secrets
import threading
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from matching.linkage.decisions import (
    DecisionFileError,
    append_decisions,
    read_decisions,
    remove_decisions,
)
from service.access import principal_of
from service.pages import page_html
from service.reload import SnapshotHolder
from service.scoped import customers_of

SIDE_BY_SIDE = ("source", "name", "uscc", "id_number", "birth_date", "phone", "mobile", "email",
                "city", "district", "address_detail")  # fmt: skip
FORM_LIMIT = 1_000_000  # bytes of one form; a queue page of 500 pairs is about 60 kB


def review_router(holder: SnapshotHolder, decisions_path: Path) -> APIRouter:
    """The review page, writing to ``decisions_path``."""
    router = APIRouter(include_in_schema=False)
    writing = threading.Lock()  # one read-modify-write of the file at a time
    batches: dict[str, list[dict[str, str]]] = {}  # undo tokens of this process

    @router.get("/review", response_class=HTMLResponse)
    def review(
        request: Request, batch: str = "", undone: int = -1, error: str = ""
    ) -> HTMLResponse:
        decided = _decided(decisions_path)
        with holder.use() as snapshot:
            queue = [
                pair
                for pair in customers_of(request, snapshot).review_queue()
                if (pair["record_key_l"], pair["record_key_r"]) not in decided
            ]
            run_id = snapshot.run_id
        notes = ""
        if error:
            notes += f"<p class='note'>{escape(error[:300])}</p>"
        if batch in batches:
            notes += (
                f"<form method='post' action='/review/undo' class='note'>"
                f"Decided {len(batches[batch])} pair(s); the next sync applies them. "
                f"<input type='hidden' name='batch' value='{escape(batch)}'>"
                "<button>Undo</button></form>"
            )
        if undone >= 0:
            notes += f"<p class='note'>Took back {undone} decision(s).</p>"
        body = (
            f"<h1>Review queue</h1>{notes}<p>{len(queue)} pair(s) to decide, the pairs whose "
            f"decision moves most records first. Decisions go to {escape(decisions_path.name)}."
            "</p>" + _form(queue)
        )
        return page_html("Review queue", body, run_id)

    @router.post("/review")
    async def decide(request: Request) -> RedirectResponse:
        form = await _form_fields(request)
        who = (form.get("who") or "").strip()
        note = (form.get("note") or "").strip()
        decided_at = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
        rows = [
            {
                "record_key_l": left,
                "record_key_r": right,
                "decision": value,
                "decided_by": who,
                "decided_at": decided_at,
                "note": note,
            }  # fmt: skip
            for key, value in form.items()
            if key.startswith("pair:") and value in ("match", "no_match")
            for left, _, right in [key.removeprefix("pair:").partition("|")]
        ]
        if not who:
            return _back(error="Name yourself (who decides) before sending decisions.")
        if not rows:
            return _back(error="No pair was marked match or no match.")
        principal = principal_of(request)
        if principal is not None:  # a role decides only the pairs its page shows it
            with holder.use() as snapshot:
                mine = {
                    (pair["record_key_l"], pair["record_key_r"]): (
                        pair["customer_id_l"],
                        pair["customer_id_r"],
                    )
                    for pair in customers_of(request, snapshot).review_queue()
                }
            sent = [(row["record_key_l"], row["record_key_r"]) for row in rows]
            if any(pair not in mine for pair in sent):
                principal.customer_ids.clear()
                return _back(error="A pair sent is not in your review queue; nothing was written.")
            principal.customer_ids[:] = [c for pair in sent for c in mine[pair]]
        try:
            with writing:
                append_decisions(decisions_path, rows)
        except DecisionFileError as exc:
            return _back(error=str(exc))
        if principal is not None:
            principal.decisions.extend(
                {k: row[k] for k in ("record_key_l", "record_key_r", "decision")} for row in rows
            )
        token = secrets.token_urlsafe(12)
        batches[token] = rows
        return _back(batch=token)

    @router.post("/review/undo")
    async def undo(request: Request) -> RedirectResponse:
        form = await _form_fields(request)
        rows = batches.pop(form.get("batch") or "", [])
        with writing:
            removed = remove_decisions(decisions_path, rows) if rows else 0
        principal = principal_of(request)
        if principal is not None and removed:
            principal.decisions.extend(
                {
                    "record_key_l": r["record_key_l"],
                    "record_key_r": r["record_key_r"],
                    "decision": f"undo {r['decision']}",
                }  # fmt: skip
                for r in rows
            )
        return _back(undone=removed)

    return router


def _decided(path: Path) -> set[tuple[str, str]]:
    try:
        table = read_decisions(path).table
    except DecisionFileError:
        return set()  # the sync reports a broken file; the page still shows the queue
    return set(zip(table["record_key_l"], table["record_key_r"], strict=True))


async def _form_fields(request: Request) -> dict[str, str]:
    """An urlencoded form as name → last value (no python-multipart needed for it)."""
    body = await request.body()
    parsed = parse_qs(body[:FORM_LIMIT].decode("utf-8", errors="replace"), keep_blank_values=True)
    return {key: values[-1] for key, values in parsed.items()}


def _back(**query: Any) -> RedirectResponse:
    return RedirectResponse(f"/review?{urlencode(query)}", status_code=303)


def _form(queue: list[dict[str, Any]]) -> str:
    if not queue:
        return "<p class='muted'>Nothing to decide.</p>"
    pairs = "".join(_pair(number, pair) for number, pair in enumerate(queue, start=1))
    return (
        "<form method='post' action='/review'>"
        "<p><label>Who decides <input name='who' required></label> "
        "<label>Note <input name='note' size='40'></label> "
        "<button>Send decisions</button></p>"
        f"{pairs}<p><button>Send decisions</button></p></form>"
    )


def _pair(number: int, pair: dict[str, Any]) -> str:
    key = f"pair:{pair['record_key_l']}|{pair['record_key_r']}"
    choices = "".join(
        f"<label><input type='radio' name='{escape(key)}' value='{value}'"
        f"{' checked' if value == 'skip' else ''}> {label}</label> "
        for value, label in (("match", "match"), ("no_match", "no match"), ("skip", "skip"))
    )
    rows = "".join(
        f"<tr><th>{escape(a)}</th><td>{_text(pair.get(f'{a}_l'))}</td>"
        f"<td>{_text(pair.get(f'{a}_r'))}</td></tr>"
        for a in SIDE_BY_SIDE
        if pair.get(f"{a}_l") is not None or pair.get(f"{a}_r") is not None
    )
    probability = pair.get("match_probability")
    shown = f"{probability:.2f}" if isinstance(probability, float) else "?"
    return (
        f"<fieldset class='pair' data-left='{escape(pair['record_key_l'])}' "
        f"data-right='{escape(pair['record_key_r'])}'>"
        f"<legend>{number}. probability {shown} · {escape(str(pair.get('reason') or ''))} · "
        f"{_text(pair.get('records_affected'))} record(s) affected</legend>"
        f"<table><tr><th></th><th>{escape(pair['record_key_l'])} "
        f"({_text(pair.get('customer_id_l'))})</th><th>{escape(pair['record_key_r'])} "
        f"({_text(pair.get('customer_id_r'))})</th></tr>{rows}</table>"
        f"<p>Evidence: {_text(pair.get('evidence'))}</p><p>{choices}</p></fieldset>"
    )


def _text(value: Any) -> str:
    return "" if value is None else escape(str(value))

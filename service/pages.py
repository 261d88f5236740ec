"""Web pages for sales and service: customer search and one customer's page.

Served by the same process from the same snapshot as the API (``/customers``,
``/customers/{id}``), rendered on the server as plain HTML with the style inline: no
script, no font, no file from another host, so the pages open offline and in any browser.
Every value is escaped (``html.escape``): names come from customers' own exports.
"""

from __future__ import annotations

from html import escape
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from service.reload import SnapshotHolder
from service.scoped import customers_of

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:72rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}.note{background:#fff6d5;padding:.5rem;border:1px solid #e6c200}
.muted{color:#777;font-size:.85rem}fieldset.pair{margin:0 0 1rem;border:1px solid #bbb}form input[type=search]{width:24rem;padding:.3rem}
"""

GOLDEN_SHOWN = ("name", "entity_type", "uscc", "phone", "mobile", "email", "province", "city",
                "district", "address_detail", "industry", "owner", "credit_limit", "dealer_code",
                "sources", "record_count", "first_seen", "last_updated")  # fmt: skip
RECORD_SHOWN = ("record_key", "source", "name_raw", "phone", "mobile", "email", "address_raw",
                "updated_at")  # fmt: skip


def page_html(title: str, body: str, run_id: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html lang='zh'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<p class='muted'><a href='/customers'>Customer search</a> · "
        f"<a href='/review'>Review queue</a> · sync {escape(run_id)}</p>"
        f"{body}</body></html>"
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    return escape(str(value))


def _link(customer_id: str) -> str:
    return f"<a href='/customers/{quote(customer_id)}'>{escape(customer_id)}</a>"


def _table(rows: list[dict[str, Any]], columns: tuple[str, ...] | None = None) -> str:
    if not rows:
        return "<p class='muted'>none</p>"
    columns = columns or tuple(rows[0])
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(c, row.get(c))}</td>" for c in columns) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(column: str, value: Any) -> str:
    if column.endswith("customer_id") and isinstance(value, str):
        return _link(value)
    return _text(value)


def _search_form(q: str) -> str:
    return (
        "<form method='get' action='/customers'><input type='search' name='q' "
        f"value='{escape(q)}' placeholder='name, phone, e-mail or credit code' autofocus> "
        "<button>Search</button></form>"
    )


def customer_body(page: dict[str, Any], requested: str) -> str:
    """The HTML of one customer's page from the API's customer answer."""
    golden, customer_id = page["golden"], page["customer_id"]
    lineage = {line["attribute"]: line for line in page["lineage"]}
    merged = (
        f"<p class='note'>{escape(requested)} was merged into {escape(customer_id)}.</p>"
        if requested != customer_id
        else ""
    )
    golden_rows = "".join(
        f"<tr><th>{escape(column)}</th><td>{_text(golden.get(column))}</td>"
        f"<td class='muted'>{_text(lineage.get(column, {}).get('record_key'))}</td>"
        f"<td class='muted'>{_text(lineage.get(column, {}).get('rule'))}</td></tr>"
        for column in GOLDEN_SHOWN
        if golden.get(column) not in (None, [], "")
    )
    value, lifecycle = page["value"] or {}, page["lifecycle"] or {}
    summary = (
        f"<p>Value tier <b>{_text(value.get('value_tier'))}</b> · ABC "
        f"{_text(value.get('abc_class'))} · revenue {_text(value.get('revenue'))} · "
        f"lifetime {_text(value.get('lifetime_revenue'))} · credit "
        f"{_text(value.get('credit_tier'))} · lifecycle <b>{_text(lifecycle.get('stage'))}</b>"
        f" since {_text(lifecycle.get('stage_since'))}</p>"
    )
    return (
        f"<h1>{_text(golden.get('name'))} <span class='muted'>{escape(customer_id)}</span></h1>"
        f"{merged}{summary}"
        "<h2>Golden record</h2><table><tr><th>attribute</th><th>value</th>"
        f"<th>from record</th><th>rule</th></tr>{golden_rows}</table>"
        "<h2>Today's follow-ups</h2>"
        + _table(
            page["followups"], ("reason", "due_date", "detail", "contact_name", "contact_phone")
        )
        + "<h2>Roles</h2>"
        + _table(page["roles"], ("role", "evidence"))
        + "<h2>Relationships</h2>"
        + _table(
            page["relationships"],
            ("relationship_type", "from_customer_id", "to_customer_id", "confidence", "inferred"),
        )
        + "<h2>Source records</h2>"
        + _table(page["records"], RECORD_SHOWN)
    )


def pages_router(holder: SnapshotHolder) -> APIRouter:
    """The pages, answering from ``holder``'s current snapshot."""
    router = APIRouter(include_in_schema=False)

    @router.get("/customers", response_class=HTMLResponse)
    def search_page(
        request: Request, q: Annotated[str, Query(max_length=200)] = ""
    ) -> HTMLResponse:
        with holder.use() as snapshot:
            hits = customers_of(request, snapshot).search(q, 50) if q.strip() else []
            found = (
                _table(hits, ("customer_id", "name", "city", "phone", "mobile", "email"))
                if q.strip()
                else ""
            )
            return page_html(
                "Customer search", f"<h1>Customers</h1>{_search_form(q)}{found}", snapshot.run_id
            )

    @router.get("/customers/{customer_id}", response_class=HTMLResponse)
    def customer_page(
        customer_id: Annotated[str, Path(max_length=64)], request: Request
    ) -> HTMLResponse:
        with holder.use() as snapshot:
            resolved, page = customers_of(request, snapshot).lookup(customer_id)
            if page is None or resolved.customer_id is None:
                response = page_html(
                    "Unknown customer",
                    f"<h1>No customer {escape(customer_id)}</h1>{_search_form('')}",
                    snapshot.run_id,
                )
                response.status_code = 404
                return response
            body = customer_body({"customer_id": resolved.customer_id, **page}, customer_id)
            return page_html(str(page["golden"].get("name") or customer_id), body, snapshot.run_id)

    return router

"""Open an HTML file in real headless Chromium (Debian's ``chromium``, driven by Playwright)
with every network request refused, and say what happened: requests tried, console errors,
page errors, a full-page screenshot and one screenshot per chart.

``playwright install`` is never run (it downloads a browser build): the system's chromium is
used, and a test skips, saying why, where it is missing.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

import numpy as np
from PIL import Image

CHROMIUM_NAMES = ("chromium", "chromium-browser")


def chromium_path() -> str | None:
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


@dataclass
class Rendered:
    requests_refused: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    screenshot: bytes = b""
    charts: list[Image.Image] = field(default_factory=list)


def render(page_file: Path, executable: str, width: int = 1300) -> Rendered:
    from playwright.sync_api import sync_playwright

    seen = Rendered()
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})

            def refuse_network(route):
                if route.request.url.startswith("file://"):
                    route.continue_()
                else:
                    seen.requests_refused.append(route.request.url)
                    route.abort()

            page.route("**/*", refuse_network)
            page.on(
                "console",
                lambda m: seen.console_errors.append(m.text) if m.type == "error" else None,
            )
            page.on("pageerror", lambda e: seen.page_errors.append(str(e)))
            page.goto(page_file.resolve().as_uri(), wait_until="load")
            seen.screenshot = page.screenshot(full_page=True)
            boxes = page.eval_on_selector_all(
                ".chart",
                """charts => charts.map(c => { const r = c.getBoundingClientRect();
                     return [r.left + scrollX, r.top + scrollY, r.right + scrollX, r.bottom + scrollY]; })""",
            )
            whole = Image.open(BytesIO(seen.screenshot))
            seen.charts = [whole.crop(tuple(round(v) for v in box)) for box in boxes]
        finally:
            browser.close()
    return seen


def coloured_share(image: Image.Image) -> float:
    """Share of pixels in a colour, not grey: the marks of a chart (bars, lines, points), not
    its axes, grid lines and text, which Vega draws in greys and black."""
    pixels = np.asarray(image.convert("RGB")).astype(int)
    return float(((pixels.max(axis=2) - pixels.min(axis=2)) > 60).mean())


def png(image: Image.Image) -> bytes:
    out = BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()

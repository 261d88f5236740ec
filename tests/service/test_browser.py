"""In a real browser (Debian's Chromium, driven by Playwright): a steward decides two pairs on
the review page, a sync runs, and the customer page shows each pair's records as one customer.
"""

import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from service.api import create_app
from service.reload import SnapshotHolder
from sources.config import load_config

CHROMIUM = Path("/usr/bin/chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.writes_demo
@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install chromium)"
)
def test_a_steward_decides_two_pairs_a_sync_runs_and_the_customer_page_shows_them_merged(
    demo_run, demo_for, sync_outputs
):
    from playwright.sync_api import sync_playwright

    folder = demo_for(demo_run.folder)
    config = load_config(folder / "customer_master.yaml")
    holder = SnapshotHolder(config.serving_path, reload_seconds=0.2)
    holder.start()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(holder, config.decisions_path), port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        first = holder.current.run_id
        pairs, seen = [], set()
        for pair in holder.current.customers.review_queue():
            customers = {pair["customer_id_l"], pair["customer_id_r"]}
            if len(customers) == 2 and not customers & seen:
                pairs.append(pair)
                seen |= customers
        pairs = pairs[:2]
        assert len(pairs) == 2, "the demo's queue has no two separate pairs to decide"

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=["--no-sandbox"]
            )
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/review")
            page.fill("input[name=who]", "林小燕")
            for pair in pairs:
                page.check(
                    f"fieldset[data-left='{pair['record_key_l']}'][data-right='{pair['record_key_r']}'] "
                    "input[value=match]"
                )
            page.locator("button", has_text="Send decisions").first.click()
            assert "Decided 2 pair(s)" in page.content()

            sync_outputs(folder / "customer_master.yaml")
            deadline = time.monotonic() + 60
            while holder.current.run_id == first and time.monotonic() < deadline:
                time.sleep(0.1)
            assert holder.current.run_id != first, "the service did not swap to the new sync"

            for pair in pairs:
                page.goto(f"http://127.0.0.1:{port}/customers/{pair['customer_id_l']}")
                text = page.content()
                assert pair["record_key_l"] in text and pair["record_key_r"] in text
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        holder.close()

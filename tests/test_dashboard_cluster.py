"""The dashboard's Cluster section in Chromium: shown on `--workers`'s front, hidden on a lone process."""
from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from live_server import Live, live_server
from mock_api.config import MockConfig
from mock_api.service.dataset import Dataset
from mock_api.state import MockState
from nginx_cluster import nginx_binary
from support import running_server
from test_dashboard_browser import LAPTOP, WAIT_MS, browser

pytestmark = pytest.mark.slow
__all__ = ["browser"]  # the browser fixture, shared with the other dashboard tests


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=LAPTOP)  # type: ignore[arg-type]
    context.set_default_timeout(WAIT_MS)
    yield context.new_page()
    context.close()


def test_the_front_shows_every_process_and_which_is_down(page: Page) -> None:
    if nginx_binary() is None:
        pytest.skip("nginx is not installed")
    with running_server("--workers", "2", "--quiet", timeout=90) as front:
        requests.post(f"{front.url}/s/shown/_mock/clock/advance", json={"seconds": 1}, timeout=30)
        page.goto(f"{front.url}/_mock/")
        expect(page.locator("body")).to_have_attribute("data-loads", "1", timeout=WAIT_MS)
        workers = requests.get(f"{front.url}/_mock/cluster", timeout=30).json()["workers"]
        # The one that does not hold `default` (the page's own calls) is the one stopped below.
        workers.sort(key=lambda w: any(s["name"] == "default" and s["requests"] for s in w["sessions"]))
        expect(page.get_by_role("heading", name="Cluster", level=2)).to_be_visible()
        expect(page.locator("#worker-list > tr")).to_have_count(2)
        expect(page.locator("#cluster-note")).to_have_text("2 processes, all up.")
        expect(page.locator("#worker-list")).to_contain_text("shown (1)")
        for worker in workers:
            expect(page.locator("#worker-list")).to_contain_text(str(worker["pid"]))
        os.kill(workers[0]["pid"], signal.SIGSTOP)  # alive, not answering: down until it is continued
        try:
            expect(page.locator("#cluster-note")).to_have_text("2 processes, 1 down.")
            row = page.locator("#worker-list > tr").filter(has_text=str(workers[0]["pid"]))
            expect(row.locator("td.down")).to_have_text("down")
        finally:
            os.kill(workers[0]["pid"], signal.SIGCONT)


def test_a_lone_process_has_no_cluster_section(page: Page, dataset: Dataset) -> None:
    live: Live
    with live_server(MockState(MockConfig(), dataset=dataset)) as live:
        page.goto(f"{live.url}/_mock/")
        expect(page.locator("body")).to_have_attribute("data-loads", "1", timeout=WAIT_MS)
        expect(page.locator("#cluster")).to_be_hidden()

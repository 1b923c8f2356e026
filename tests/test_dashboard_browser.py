"""The dashboard in a real browser: Playwright drives Debian's Chromium (headless) against a live server."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, Dialog, Page, expect, sync_playwright

from live_server import TIMEOUT, Live, live_server
from mock_api.config import MockConfig
from mock_api.http.app import create_app
from mock_api.service.dataset import Dataset
from mock_api.state import MockState
from mock_api.testing.harness import ServerThread
from support import ROOT, SEED_PAYLOAD

pytestmark = pytest.mark.slow  # a browser and a server per test
CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; `make test` installs it when missing
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
ARTIFACTS = ROOT / "artifacts"
# Playwright's auto-waiting bound: generous, other suites load the two cores. Never a measured time.
WAIT_MS = 20_000
LAPTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install -y chromium; `make test` does it as root)"
        if os.environ.get("CI"):
            pytest.fail(message)  # in CI a missing browser fails, it never skips the browser tests
        pytest.skip(message)
    # launch() gives the browser a new, empty user-data dir of its own; never `playwright install`.
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def server(dataset: Dataset) -> Iterator[Live]:
    with live_server(MockState(MockConfig(strict=True), dataset=dataset)) as live:
        yield live


@pytest.fixture
def guarded_url(dataset: Dataset) -> Iterator[str]:
    """A server with a control token. Bound at construction: the page's first request waits for the thread."""
    thread = ServerThread(create_app(state=MockState(MockConfig(control_token="s3cret"), dataset=dataset)))
    thread.thread.start()  # not start(): its health check reads /_mock/health, which needs the token
    try:
        yield thread.url
    finally:
        thread.stop()


@dataclass
class Dashboard:
    """An open page and what it reported: console errors, uncaught errors, dialogs it raised."""

    page: Page
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def loaded(self) -> None:
        """Wait for the first complete read of the control API."""
        expect(self.page.locator("body")).to_have_attribute("data-loads", "1", timeout=WAIT_MS)


Opener = Callable[..., Dashboard]


@pytest.fixture
def open_page(browser: Browser, server: Live) -> Iterator[Opener]:
    contexts = []

    def opener(url: str = "", viewport: dict[str, int] | None = None, fake_clock: bool = False,
               dialogs: str = "accept") -> Dashboard:
        context = browser.new_context(viewport=viewport or LAPTOP)  # type: ignore[arg-type]
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        page = context.new_page()
        opened = Dashboard(page)
        page.on("console", lambda m: opened.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: opened.errors.append(str(e)))

        def answer(dialog: Dialog) -> None:
            opened.dialogs.append(dialog.message)
            if dialogs == "accept":
                dialog.accept()
            else:
                dialog.dismiss()
        page.on("dialog", answer)
        if fake_clock:
            page.clock.install()  # the page's timers run only when the test moves this clock
        page.goto(f"{url or server.url}/_mock/")
        return opened

    yield opener
    for context in contexts:
        context.close()


def token(live: Live) -> dict[str, str]:
    return live.token()


def post_petition(live: Live, auth: dict[str, str], payload: dict[str, str] | None = None) -> str:
    got = requests.post(f"{live.url}/api/academic/petitions", json={"petition": payload or SEED_PAYLOAD},
                        headers=auth, timeout=TIMEOUT)
    assert got.status_code == 202, got.text
    return got.headers["Location"].rsplit("/", 1)[1]


def test_the_page_loads_every_section_with_no_console_error(open_page: Opener, server: Live) -> None:
    dash = open_page()
    dash.loaded()
    for title in ("Requests", "Tasks", "Scenario", "Clock", "Coverage", "Violations"):
        expect(dash.page.get_by_role("heading", name=title, level=2)).to_be_visible()
    expect(dash.page.locator("#scenario-name")).to_have_text("default")
    expect(dash.page.locator("#clock-state")).to_have_text("running")
    assert dash.errors == []


def test_a_clients_request_appears_within_2_s_and_expands_to_its_body(open_page: Opener, server: Live) -> None:
    dash = open_page(fake_clock=True)
    dash.loaded()
    auth = token(server)
    task_id = post_petition(server, auth)
    dash.page.clock.run_for(2000)  # two seconds of the page's own timers: its polling must have run
    item = dash.page.locator("#request-list > li").filter(has_text="/api/academic/petitions")
    expect(item).to_have_count(1)
    assert dash.page.locator("body").get_attribute("data-loads") in ("2", "3")  # polled, never reloaded
    item.locator("summary").click()
    expect(item.locator("pre.body")).to_have_text('{"petition": {"netid": "f006s0b", "petition_code": "Q41", '
                                                  '"origin_code": "UREG", "school": "UG", "decision": "2023-2024", '
                                                  '"grade_term": "24W", "user_netid": "f006s0b"}}')
    expect(item.locator(".detail")).to_contain_text("Bearer ***")
    expect(dash.page.locator("#live")).to_have_text("Paused: 0 new")  # reading a row pauses the list
    assert auth["Authorization"].split()[1] not in dash.page.content()
    expect(dash.page.locator("#task-list tr").filter(has_text=task_id)).to_contain_text("accepted")
    assert dash.errors == []


def test_switching_the_scenario_in_the_page_changes_get_mock_scenario(open_page: Opener, server: Live) -> None:
    dash = open_page()
    dash.loaded()
    dash.page.get_by_label("Switch to").select_option("slow_tasks")
    dash.page.get_by_role("button", name="Switch scenario").click()
    expect(dash.page.locator("#scenario-name")).to_have_text("slow_tasks")
    expect(dash.page.locator("#scenario-description")).to_have_text(
        "Every POSTed task stays accepted for 30 s of clock time before it completes")
    got = requests.get(f"{server.url}/_mock/scenario", timeout=TIMEOUT).json()
    assert (got["name"], got["startup"]) == ("slow_tasks", "default")


def test_freeze_then_advance_30_s_completes_a_slow_tasks_task(open_page: Opener, server: Live) -> None:
    server.state.set_scenario("slow_tasks")
    auth = token(server)
    task_id = post_petition(server, auth)
    dash = open_page()
    row = dash.page.locator("#task-list tr").filter(has_text=task_id)
    expect(row).to_contain_text("accepted")
    expect(row).to_contain_text("pending")
    dash.page.get_by_role("button", name="Freeze", exact=True).click()
    expect(dash.page.locator("#clock-state")).to_have_text("frozen")
    dash.page.get_by_role("button", name="Advance 30 s").click()
    expect(row).to_contain_text("complete")
    expect(row.locator("td").nth(3)).to_have_text("0")
    expect(row.locator("td").nth(4)).to_contain_text("created /academic/petitions/")
    assert requests.get(f"{server.url}/_mock/clock", timeout=TIMEOUT).json()["frozen"] is True
    assert [t["status"] for t in server.state.backend.tasks(server.state.clock.now())] == ["complete"]
    assert requests.get(f"{server.url}/api/tasks/{task_id}", headers=auth, timeout=TIMEOUT).status_code == 200
    row.get_by_role("link", name=f"Requests of task {task_id}").click()  # the polls of this task
    expect(dash.page.get_by_label("Path contains")).to_have_value(task_id)
    expect(dash.page.locator("#request-list > li .path")).to_have_text([f"/api/tasks/{task_id}"])


def test_script_markup_in_path_header_and_body_shows_as_text_and_runs_nothing(open_page: Opener,
                                                                              server: Live) -> None:
    path = "/api/<script>window.pwned=1</script>"
    header = "<script>window.pwned=2</script>"
    body = '<img src=x onerror="window.pwned=3"><script>window.pwned=4</script>'
    got = requests.post(f"{server.url}{path}", data=body, headers={"X-Evil": header, "Content-Type": "text/plain"},
                        timeout=TIMEOUT)
    assert got.status_code == 404
    dash = open_page()
    item = dash.page.locator("#request-list > li").filter(has_text="window.pwned=1")
    expect(item.locator(".path")).to_have_text(path)
    item.locator("summary").click()
    expect(item.locator("dd").filter(has_text="window.pwned=2")).to_have_text(header)
    expect(item.locator("pre.body")).to_have_text(body)
    assert dash.page.evaluate("window.pwned") is None
    assert dash.page.locator("main script, main img").count() == 0
    assert dash.dialogs == [] and dash.errors == []


def test_reset_asks_first_and_a_dismissed_confirmation_changes_nothing(open_page: Opener, server: Live) -> None:
    post_petition(server, token(server))
    dismissing = open_page(dialogs="dismiss")
    expect(dismissing.page.locator("#request-list > li")).to_have_count(2)
    dismissing.page.get_by_role("button", name="Reset", exact=True).click()
    assert len(dismissing.dialogs) == 1 and dismissing.dialogs[0].startswith("Reset the emulator")
    assert len(server.state.journal.entries()) == 2 and len(server.state.backend.tasks(server.state.clock.now())) == 1
    accepting = open_page(dialogs="accept")
    expect(accepting.page.locator("#request-list > li")).to_have_count(2)
    accepting.page.get_by_role("button", name="Reset", exact=True).click()
    expect(accepting.page.locator("#status")).to_have_text("Reset: done.")
    expect(accepting.page.locator("#request-list > li")).to_have_count(0)
    expect(accepting.page.locator("#task-list tr")).to_have_count(0)
    assert server.state.journal.entries() == [] and accepting.errors == []


def test_with_a_control_token_the_page_asks_for_it_and_sends_it_as_a_header(open_page: Opener,
                                                                          guarded_url: str) -> None:
    dash = open_page(guarded_url)
    token_field = dash.page.get_by_label("Control token")
    expect(token_field).to_be_visible()
    expect(token_field).to_be_focused()
    token_field.fill("s3cret")
    dash.page.get_by_role("button", name="Use token").click()
    dash.loaded()
    expect(dash.page.locator("#clock-state")).to_have_text("running")
    assert dash.page.evaluate("sessionStorage.getItem('mock_api.control_token')") == "s3cret"
    assert "s3cret" not in dash.page.url and "s3cret" not in dash.page.content()
    expect(token_field).to_be_hidden()


def test_on_a_phone_nothing_overflows_and_the_keyboard_opens_a_request(open_page: Opener, server: Live) -> None:
    requests.get(f"{server.url}/api/{'very-long-segment-' * 12}", timeout=TIMEOUT)
    dash = open_page(viewport=PHONE)
    summary = dash.page.locator("#request-list > li summary").first
    expect(summary).to_contain_text("very-long-segment-")
    assert dash.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    summary.focus()
    dash.page.keyboard.press("Enter")
    expect(dash.page.locator("#request-list details").first).to_have_attribute("open", "")
    pause = dash.page.get_by_role("button", name="Pause")
    pause.focus()
    dash.page.keyboard.press("Space")
    expect(dash.page.get_by_role("button", name="Resume")).to_have_attribute("aria-pressed", "true")
    assert dash.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    ARTIFACTS.mkdir(exist_ok=True)
    dash.page.screenshot(path=str(ARTIFACTS / "dashboard-phone.png"), full_page=True)
    assert dash.errors == []


def test_a_screenshot_of_the_dashboard_is_written_to_artifacts(open_page: Opener, server: Live) -> None:
    auth = token(server)
    server.state.set_scenario("slow_tasks")
    post_petition(server, auth)
    post_petition(server, auth, {**SEED_PAYLOAD, "school": "XX"})
    server.state.set_scenario("default")
    requests.get(f"{server.url}/api/academic/petitions", params={"netid": "f0027k4", "pagesize": "2"}, headers=auth,
                 timeout=TIMEOUT)
    requests.get(f"{server.url}/api/academic/petitions", headers={"Authorization": "dev-readwrite"}, timeout=TIMEOUT)
    dash = open_page()
    expect(dash.page.locator("#violation-list tr")).not_to_have_count(0)
    dash.page.locator("#request-list > li summary").first.click()
    expect(dash.page.locator("#request-list .detail").first).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "dashboard.png"
    full = ARTIFACTS / "dashboard-full.png"
    for path in (shot, full):
        path.unlink(missing_ok=True)
    dash.page.screenshot(path=str(shot))  # the first screen: docs/dashboard.png in the README is a copy
    dash.page.screenshot(path=str(full), full_page=True)
    for path in (shot, full):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    assert dash.errors == []


def test_filters_narrow_the_requests_and_a_violation_opens_its_request(open_page: Opener, server: Live) -> None:
    auth = token(server)
    post_petition(server, auth)
    requests.get(f"{server.url}/api/petition_types", headers=auth, timeout=TIMEOUT)
    requests.get(f"{server.url}/api/petition_types", headers={"Authorization": "dev-readwrite"}, timeout=TIMEOUT)
    dash = open_page()
    rows = dash.page.locator("#request-list > li")
    expect(rows).to_have_count(4)
    dash.page.get_by_label("Status").select_option("4")
    expect(rows).to_have_count(1)
    expect(rows.locator(".code")).to_have_text("401")
    dash.page.get_by_label("Status").select_option("")
    dash.page.get_by_label("Method").select_option("POST")
    expect(rows.locator(".path")).to_have_text(["/api/academic/petitions", "/api/jwt"])
    dash.page.get_by_label("Path contains").fill("JWT")
    expect(rows.locator(".path")).to_have_text(["/api/jwt"])
    expect(dash.page.locator("#requests-count")).to_have_text("1 of the 4 newest requests shown")
    dash.page.get_by_role("button", name="Show request 4").click()  # strict mode: Authorization without Bearer
    opened = dash.page.locator("#request-list > li[data-seq='4']")
    expect(rows).to_have_count(4)
    expect(opened.locator("details")).to_have_attribute("open", "")
    expect(opened.locator("summary")).to_be_focused()
    expect(opened.locator(".detail li")).to_have_text(
        "auth_header: GET /api/petition_types needs 'Authorization: Bearer {jwt}' (documented)")
    assert dash.errors == []


def test_under_a_session_prefix_the_page_shows_that_sessions_requests_only(open_page: Opener, server: Live) -> None:
    # /s/{name}/_mock/ is the dashboard of session {name}: its relative fetches stay under the prefix.
    session = f"{server.url}/s/alice"
    auth = token(server)  # one signing key for every session: a default-session token works in alice
    got = requests.get(f"{session}/api/petition_types/Q25", headers=auth, timeout=10)
    assert got.status_code == 200, got.text
    dash = open_page(session)
    dash.loaded()
    rows = dash.page.locator("#request-list > li")
    expect(rows.filter(has_text="/api/petition_types/Q25")).to_have_count(1)
    expect(rows.filter(has_text="/api/jwt")).to_have_count(0)  # the token was asked of `default`
    default = open_page()
    default.loaded()
    expect(default.page.locator("#request-list > li").filter(has_text="/api/jwt")).to_have_count(1)
    expect(default.page.locator("#request-list > li").filter(has_text="/api/petition_types/Q25")).to_have_count(0)
    assert dash.errors == [] and default.errors == []


# Every word of the tables and the folded rows (a run of letters, digits and _) whose glyphs sit on more than
# one line: a word split by the wrapping. Breaks at - / ? & = and spaces are between words.
SPLIT_WORDS = """() => {
  const split = [];
  for (const box of document.querySelectorAll("td, th, #request-list summary")) {
    const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const m of node.data.matchAll(/[\\p{L}\\p{N}_]+/gu)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const lines = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.bottom)));
        if (lines.size > 1) split.push(m[0]);
      }
    }
  }
  return split;
}"""


def _busy_server(server: Live) -> dict[str, str]:
    """Long paths, queries, violation kinds and a bad POST with several violations, as a trial had them."""
    auth = token(server)
    bad = {**SEED_PAYLOAD, "school": 7, "decision": None, "grade_term": ["24W"], "unexpected_field": "x"}
    got = requests.post(f"{server.url}/api/academic/petitions", json={"petition": bad}, headers=auth, timeout=TIMEOUT)
    assert got.status_code == 202, got.text
    requests.get(f"{server.url}/api/academic/petitions", headers=auth, timeout=TIMEOUT,
                 params={"netd": "f0027k4", "petition_codee": "Q25", "pagesize": "2", "grade_term": "24W"})
    requests.get(f"{server.url}/api/petition_types", headers={"Authorization": "dev-readwrite"}, timeout=TIMEOUT)
    post_petition(server, auth)
    server.state.clock.advance(2)
    return auth


@pytest.mark.parametrize("viewport", [{"width": 1400, "height": 900}, PHONE], ids=["1400px", "390px"])
def test_tables_and_rows_wrap_between_words_never_inside_one(open_page: Opener, server: Live,
                                                             viewport: dict[str, int]) -> None:
    _busy_server(server)
    dash = open_page(viewport=viewport)
    dash.loaded()
    expect(dash.page.locator("#violation-list tr")).to_have_count(3)
    dash.page.locator("#request-list > li summary").nth(2).click()  # an open row: its facts too
    expect(dash.page.locator("#request-list details[open]")).to_have_count(1)
    assert dash.page.evaluate(SPLIT_WORDS) == []
    assert dash.page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")  # the page never scrolls
    assert dash.errors == []


def test_a_folded_row_shows_its_query_and_its_violations(open_page: Opener, server: Live) -> None:
    _busy_server(server)
    dash = open_page()
    dash.loaded()
    read = dash.page.locator("#request-list > li[data-seq='3'] summary")
    expect(read.locator(".path")).to_have_text("/api/academic/petitions")
    expect(read.locator(".query")).to_have_text("?netd=f0027k4&petition_codee=Q25&pagesize=2&grade_term=24W")
    expect(read.locator(".flag")).to_have_text("\u26a0 dropped_filter, dropped_filter")
    expect(read.locator(".flag")).to_have_attribute("aria-label", "2 violations: dropped_filter, dropped_filter")
    clean = dash.page.locator("#request-list > li[data-seq='5'] summary")  # the good POST: no query, no flag
    expect(clean.locator(".query")).to_have_count(0)
    expect(clean.locator(".flag")).to_have_count(0)
    assert dash.errors == []


def test_violations_are_grouped_one_row_per_request(open_page: Opener, server: Live) -> None:
    _busy_server(server)
    kinds = requests.get(f"{server.url}/_mock/violations", timeout=TIMEOUT).json()
    by_request: dict[int, list[str]] = {}
    for v in kinds:
        by_request.setdefault(v["first_seq"], []).append(v["kind"])
    assert len(by_request[2]) >= 4  # the bad POST: one request, several violations
    dash = open_page()
    dash.loaded()
    rows = dash.page.locator("#violation-list > tr")
    expect(rows).to_have_count(len(by_request))
    expect(rows.locator("td:first-child")).to_have_text([f"#{seq}" for seq in sorted(by_request)])
    post = rows.nth(0)
    expect(post.locator("td").nth(1)).to_have_text("POST /api/academic/petitions")
    expect(post.locator("ul.kinds > li > strong")).to_have_text(by_request[2])
    assert dash.errors == []

"""Start-up settings of one emulator instance, with the embedded defaults."""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

# A local development key, committed on purpose: it signs tokens that only this emulator accepts.
# It is not a secret and must never be used for anything real.
DEV_SIGNING_KEY = "mock_api-local-dev-signing-key-NOT-A-SECRET-0000"

PACKAGE_DIR = Path(__file__).resolve().parent
# Seconds the in-process server (mock_api.testing) may take to pass its health check: the
# harness's default and the pytest plugin's ini default alike.
DEFAULT_STARTUP_TIMEOUT = 10.0


def default_fixtures_dir() -> Path:
    """The fixtures shipped with the project (source checkout) or the package (wheel install)."""
    source_tree = PACKAGE_DIR.parent / "fixtures"
    if (source_tree / "api_keys.yaml").is_file():
        return source_tree
    return PACKAGE_DIR / "_data" / "fixtures"


def default_scenarios_dir() -> Path:
    """The built-in scenarios: top-level scenarios/ (source checkout) or the package (wheel install)."""
    source_tree = PACKAGE_DIR.parent / "scenarios"
    if (source_tree / "default.yaml").is_file():
        return source_tree
    return PACKAGE_DIR / "_data" / "scenarios"



def _installed_version() -> str:
    """pyproject.toml holds the one version literal; the installed metadata carries it here. A checkout run
    uninstalled (`make serve`: the runtime dependencies only) reads its pyproject.toml; a source tree with
    neither still runs, and says its version is unknown."""
    import importlib.metadata

    try:
        return importlib.metadata.version("mock_api")
    except importlib.metadata.PackageNotFoundError:
        return _project_version(PACKAGE_DIR.parent / "pyproject.toml") or "0+unknown"


def _project_version(pyproject: Path) -> str | None:
    """[project] version of a checkout's pyproject.toml (its one `version = "..."` line), None without one."""
    try:
        text = pyproject.read_text(encoding="utf-8")
    except OSError:
        return None
    found = re.search(r'^version = "([^"]+)"$', text, flags=re.M)
    return found.group(1) if found else None


VERSION = _installed_version()

@dataclass(frozen=True)
class MockConfig:
    """Everything that decides how an instance behaves; immutable once the app is built."""

    fixtures_dir: Path = field(default_factory=default_fixtures_dir)
    seed: int | None = None  # None: the seed written in fixtures/generate.yaml
    students: int | None = None  # None: the count written in fixtures/generate.yaml
    signing_key: str = DEV_SIGNING_KEY
    token_lifetime: int = 10800  # seconds; the seed's requester has exp - iat = 10800
    task_seconds: float = 1.0  # the seed's sample task took 1.3 s
    cache_refresh_seconds: int = 3600  # portal: cache refresh interval 1 hour
    found_set_seconds: int = 12 * 3600  # portal: found sets are cached 12 hours
    found_set_limit: int = 64  # found sets kept at once, oldest dropped first (each may hold every record)
    default_pagesize: int = 100
    max_pagesize: int = 1000
    max_body_bytes: int = 1024 * 1024
    # Bounds of every store (docs/reference.md "Limits"; set by CLI flags and pytest ini options, mock_api/limits.py).
    journal_limit: int = 10000  # journal entries kept, oldest dropped first
    journal_bytes: int = 64 * 1024 * 1024  # journal text kept (estimated), oldest entries dropped first
    journal_header_bytes: int = 8192  # a header value longer than this is cut in the journal, with a marker
    journal_body_bytes: int = 65536  # a body longer than this is cut in the journal, with a marker
    coverage_limit: int = 100  # distinct values per coverage set (scopes, scenarios, undocumented requests)
    violations_limit: int = 1000  # distinct strict-mode violations kept; later new ones are only counted
    polled_tasks_limit: int = 10_000  # strict mode's poll-rate check: tasks whose last poll time is kept
    # Found sets hold references, 8 bytes an item: this bounds their memory whatever the data size.
    found_set_items: int = 4_000_000
    max_tasks: int = 100_000  # tasks held; past it the oldest, whatever their status, are dropped (then 404)
    max_written_petitions: int = 100_000  # petitions written since start/reset; past it the oldest is dropped (404)
    counters_limit: int = 10_000  # scenario rule counters (per rule, token sub or task); least recent dropped
    max_sessions: int = 1000  # sessions (/s/{name}/...) held at once, `default` included; past it 503, none evicted
    session_idle_seconds: int = 3600  # a session unused this long (real time) is ended; `default` never is
    # The names of this process's sessions, kept in a file: the ones a previous run left there answer 410.
    sessions_file: Path | None = None
    render_cache_limit: int = 20_000  # petition records kept as JSON bytes, oldest rendered dropped first
    memory_budget: int = 256  # MiB all sessions' stores may hold together; past it relief drops (state.py)
    frozen_clock_at: float | None = None  # epoch seconds; None: the clock follows real time
    control_api: bool = True
    control_token: str | None = None  # set: every /_mock call must send X-Mock-Control-Token with it
    # Host names a server on a loopback address answers besides localhost, 127.0.0.1, [::1] and its own
    # address (--allowed-host); any other Host is refused with 421 before any work (DNS rebinding).
    allowed_hosts: tuple[str, ...] = ()
    scenario_dirs: tuple[Path, ...] = ()  # PUT /_mock/scenario loads files under these only (resolved)
    scenario: str = "default"  # a built-in scenario's name or the path of a scenario file
    scenarios_dir: Path = field(default_factory=default_scenarios_dir)
    strict: bool = False  # record the consumer's contract violations (GET /_mock/violations)
    # One line per API request on stderr: "off" (tests, the library), "text", "color" (a terminal) or "json".
    request_log: str = "off"
    min_poll_seconds: float = 1.0  # strict mode: fastest task polling allowed; our choice, the real rate is unknown

    def with_overrides(self, **changes: Any) -> MockConfig:
        """A copy with the given fields changed; None values are ignored."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

"""The emulated server as one object: config, clock, ids, snapshot, backend and journal, with reset."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from mock_api.config import MockConfig
from mock_api.contract.coverage import Coverage
from mock_api.contract.journal import Journal
from mock_api.contract.requestlog import RequestLog
from mock_api.contract.strict import ViolationLog
from mock_api.data.fixtures import load_fixtures
from mock_api.scenarios.catalog import Scenario, ScenarioCatalog
from mock_api.scenarios.counters import RuleCounters
from mock_api.service.backend import Backend
from mock_api.service.budget import MIB, MemoryBudget
from mock_api.service.clock import Clock
from mock_api.service.dataset import Dataset, build_dataset
from mock_api.service.ids import IdSource
from mock_api.service.randomness import SeededRandom
from mock_api.service.taskqueue import TaskBehaviour
from mock_api.service.tokens import granted_scopes, issue

KEEPABLE = ("journal", "violations")  # what a reset may keep: evidence of what clients did, never state

# What a session's emulator holds before its first request (its stores, random sources, empty coverage), for
# the memory budget: measured with tracemalloc at ~16.5 KB, rounded up for what a used one adds beside the
# stores that charge their own.
SESSION_BYTES = 24 * 1024


class MockState:
    """Shared by every request thread; reset rebuilds the backend from the snapshot (no reload)."""

    def __init__(self, config: MockConfig, dataset: Dataset | None = None, *, parent: MockState | None = None,
                 seed: int | None = None, name: str = "default") -> None:
        self.config = config
        self.lock = threading.RLock()
        self.name = name
        # One budget per server, shared by every session's stores (docs/reference.md, Limits).
        self.budget: MemoryBudget = MemoryBudget(config.memory_budget * MIB) if parent is None else parent.budget
        # Its share of the budget beside the journal's and the backend's: its own, its counters', its violations'.
        self._accounts = [self.budget.account(name, store) for store in ("sessions", "counters", "violations")]
        if parent is not None:
            self._accounts[0].charge(SESSION_BYTES)
        if parent is None:
            # The scenario first: a wrong name or file fails before the slower dataset build.
            self.scenarios = ScenarioCatalog(config.scenarios_dir)
            self.startup_scenario = self.scenarios.get(config.scenario)
        else:  # a session: the parent's parsed built-ins and start-up scenario, nothing read again
            self.scenarios = parent.scenarios.for_session(keep=parent.startup_scenario)
            self.startup_scenario = parent.startup_scenario
        self.scenario: Scenario = self.startup_scenario
        self.clock = Clock(config.frozen_clock_at)
        self.dataset = dataset or build_dataset(load_fixtures(config.fixtures_dir), config.seed, config.students)
        seed = self.dataset.seed if seed is None else seed
        self.ids = IdSource(seed)
        self.dice = SeededRandom(seed)  # the one random source of scenario rules
        # Scenario rules' per/after/times; cleared by reset.
        self.counters = RuleCounters(config.counters_limit, self._accounts[1])
        self.sleep: Callable[[float], None] = time.sleep  # the latency effect's; tests may replace it
        self.journal = Journal(config.journal_limit, config.journal_bytes, config.journal_header_bytes,
                               config.journal_body_bytes, self.budget, name)
        self.backend = self._new_backend()
        self._default_behaviour = TaskBehaviour(seconds=config.task_seconds)
        # Strict mode's findings; cleared by reset.
        self.violations = ViolationLog(config.violations_limit, config.polled_tasks_limit, self._accounts[2])
        self.request_log = RequestLog(config.request_log)  # stderr, one line a request; "off" by default
        self.coverage = Coverage(config.coverage_limit)  # kept across resets: it describes a whole test session

    def new_session(self, seed: int, name: str) -> MockState:
        """A fresh emulator sharing this one's config, snapshot, parsed scenarios and memory budget; ids and dice
        from `seed`."""
        return MockState(self.config, self.dataset, parent=self, seed=seed, name=name)

    def _new_backend(self) -> Backend:
        return Backend(self.dataset, self.clock, self.ids, self.config, self.budget, self.name)

    def close(self) -> None:
        """The session ended: what its stores held is released from the memory budget."""
        with self.lock:
            self.journal.close()
            self.backend.close()
            for account in self._accounts:
                account.close()

    @property
    def scenario_name(self) -> str:
        return self.scenario.name

    def set_scenario(self, name_or_path: str) -> None:
        """Switch the active scenario; raises ScenarioError for an unknown name or a wrong file."""
        scenario = self.scenarios.get(name_or_path)
        with self.lock:
            self.scenario = scenario
            self.counters.clear()  # a scenario put in force counts from its first request

    def reset(self, keep: frozenset[str] = frozenset()) -> None:
        """Back to start-up: clock, ids, dice, scenario (user files forgotten) and its rules' counters, data,
        tasks, journal, violations; those of KEEPABLE named in `keep` stay (the attached pytest plugin keeps a
        whole run's evidence on a CI server)."""
        with self.lock:
            self.clock.reset()
            self.ids.reset()
            self.dice.reset()
            self.counters.clear()
            self.scenario = self.startup_scenario
            self.scenarios.forget_files(keep=self.startup_scenario)
            if "journal" not in keep:
                self.journal.clear()
            if "violations" not in keep:
                self.violations.clear()
            self.backend.close()
            self.backend = self._new_backend()

    def dev_token(self, key: str, scopes: Sequence[str] | None = None) -> str:
        """A JWT as POST /api/jwt would issue it now for `key`, without a journal entry: of `scopes` only those
        the key holds (all if None). ValueError naming the keys for an unknown one. The test handle's
        token() and POST /_mock/token."""
        account = self.dataset.accounts.get(key)
        if account is None:
            raise ValueError(f"unknown API key {key!r}; the fixtures have {', '.join(self.dataset.accounts)}")
        granted = granted_scopes(account, account.scopes if scopes is None else scopes)
        token, _ = issue(account, granted, self.clock.now(), self.config.token_lifetime, self.config.signing_key)
        self.coverage.note_granted(granted)  # the session summary's "scopes granted" counts these too
        return token

    def new_task_id(self) -> str:
        """An id for a task about to be created, reserved before its POST reaches the backend."""
        return self.ids.object_id(self.clock.now())

    def task_behaviour(self, **overrides: Any) -> TaskBehaviour:
        """How a task queued now runs: the configured duration, changed by the scenario's task effect.
        Without a change, one shared (immutable) instance: tasks held number up to --max-tasks."""
        return replace(self._default_behaviour, **overrides) if overrides else self._default_behaviour

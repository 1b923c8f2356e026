"""The emulated server as one object: config, clock, ids, snapshot, backend and journal, with reset."""
from __future__ import annotations

import threading

from mock_api.clock import Clock
from mock_api.config import MockConfig
from mock_api.contract import ViolationLog
from mock_api.coverage import Coverage
from mock_api.dataset import Dataset, build_dataset
from mock_api.fixtures import load_fixtures
from mock_api.ids import IdSource
from mock_api.journal import Journal
from mock_api.models import Backend, TaskBehaviour


class MockState:
    """Shared by every request thread; reset rebuilds the backend from the snapshot (no reload)."""

    def __init__(self, config: MockConfig, dataset: Dataset | None = None) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.clock = Clock(config.frozen_clock_at)
        self.dataset = dataset or build_dataset(load_fixtures(config.fixtures_dir), config.seed, config.students)
        self.ids = IdSource(self.dataset.seed)
        self.journal = Journal(config.journal_limit)
        self.backend = Backend(self.dataset, self.clock, self.ids, config)
        self.violations = ViolationLog()  # strict mode's findings; cleared by reset
        self.coverage = Coverage()  # kept across resets: it describes a whole test session

    def reset(self) -> None:
        """Everything back to start-up: clock mode, id sequence, written data, tasks, journal, violations."""
        with self.lock:
            self.clock.reset()
            self.ids.reset()
            self.journal.clear()
            self.violations.clear()
            self.backend = Backend(self.dataset, self.clock, self.ids, self.config)

    def task_behaviour(self) -> TaskBehaviour:
        return TaskBehaviour(seconds=self.config.task_seconds)

"""A scenario rule's counting (per, after, times); its targeting is scenarios/match.py's RequestMatch."""
from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass

from mock_api.scenarios.effects import TASK_PATH
from mock_api.service.requests import PlainRequest
from mock_api.service.tokens import TokenError

CREATE_PATH = "/api/academic/petitions"  # the POST that creates a task: `per: task` counts it for that task
PER_KEYS = ("all", "token", "task")


@dataclass(frozen=True)
class Counting:
    """Which of a rule's matching requests it applies to: counted per key, the first `after` let through,
    then the next `times` (None: every later one)."""

    per: str = "all"
    after: int = 0
    times: int | None = None

    @property
    def counts(self) -> bool:
        return (self.per, self.after, self.times) != ("all", 0, None)

    def applies(self, place: int) -> bool:
        return place > self.after and (self.times is None or place <= self.after + self.times)


def counting_key(per: str, request: PlainRequest, created_task: Callable[[], str]) -> Hashable | None:
    """The counter a request counts in under `per`; None: it cannot be counted so (the rule is skipped)."""
    if per == "all":
        return ""
    if per == "token":
        claims = request.claims_or_error()
        return None if isinstance(claims, TokenError) else str(claims["sub"])
    found = TASK_PATH.fullmatch(request.path)
    if found is not None:
        return found.group(1).lower()
    if request.method == "POST" and (request.path.rstrip("/") or "/") == CREATE_PATH:
        return created_task()
    return None

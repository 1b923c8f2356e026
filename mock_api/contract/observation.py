"""One API request and the answer, observed once after the view: the journal, strict mode and coverage read it."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mock_api.service.requests import PlainRequest


@dataclass(slots=True)
class Observation:
    """Built once per API request (not /_mock) by the http layer; the journal gives it its `seq`."""

    request: PlainRequest  # the request as plain data: its body, JSON and claims were read at most once
    template: str | None  # the documented path template (None: undocumented)
    time: float  # emulator clock, epoch seconds, when the answer was ready
    status: int
    answered: bool  # False when a fault dropped the connection: the client got no status at all
    reply: Any  # the response body as JSON where the checks read it (a token, a 403), else None
    scenario: str | None  # the scenario applied to it; None when refused before the scenario hook
    active_scenario: str  # the scenario in force, for a request refused before its own was chosen
    fault: str | None
    duration_seconds: float
    query_lists: dict[str, list[str]]  # every value of each query parameter, as the journal shows them
    unpromised: Sequence[tuple[str, str]] = ()  # (record id, promised from) of petitions served early
    injected: bool = False  # the scenario answered (a reply, a dropping fault), not the API: never the consumer's fault
    seq: int = 0  # given by the journal when recorded

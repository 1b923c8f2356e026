"""The settable bounds of every store: one list, read by the command line and the pytest plugin."""
from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from mock_api.config import MockConfig


@dataclass(frozen=True)
class Limit:
    """One bound: the MockConfig field it sets, and what it bounds (the help of its flag and ini option)."""

    field: str
    help: str

    @property
    def flag(self) -> str:
        return "--" + self.field.replace("_", "-")

    @property
    def ini(self) -> str:
        return "mock_api_" + self.field

    @property
    def default(self) -> int:
        value = next(f.default for f in fields(MockConfig) if f.name == self.field)
        assert isinstance(value, int)
        return value


LIMITS = (
    Limit("max_body_bytes", "largest request body in bytes; larger ones get 413"),
    Limit("found_set_limit", "found sets kept for continuation_key; the oldest is dropped first"),
    Limit("journal_limit", "journal entries kept; the oldest is dropped first"),
    Limit("journal_bytes", "journal bytes kept (estimated from its text); the oldest entries are dropped first"),
    Limit("journal_header_bytes", "a header value longer than this is cut in the journal, with a marker"),
    Limit("journal_body_bytes", "a request body longer than this is cut in the journal, with a marker"),
    Limit("coverage_limit", "distinct values kept per coverage set (scopes, scenarios, undocumented requests)"),
    Limit("violations_limit", "distinct strict-mode violations kept; later new ones are only counted"),
    Limit("polled_tasks_limit", "tasks whose last poll time strict mode keeps for its poll-rate check; the "
                                "least recently polled is forgotten first (its next poll counts as a first)"),
    Limit("found_set_items", "records held in all found sets together; past it the oldest sets are dropped "
                             "(the newest is always kept)"),
    Limit("max_tasks", "tasks held; past it the oldest are dropped whatever their status and answer 404 (a dropped "
                       "accepted task never completes)"),
    Limit("max_written_petitions", "petitions written by tasks or add_petition; past it the oldest is dropped: "
                                   "404 by id, gone from collections"),
    Limit("counters_limit", "scenario rule counters kept (one per rule, token sub or task); the least recently "
                            "counted is dropped first and counts from 1 again"),
    Limit("max_sessions", "sessions held at once (default included); past it a new session gets 503, none is evicted"),
    Limit("session_idle_seconds", "real seconds a session may stay unused before it is ended (never default)"),
    Limit("render_cache_limit", "petition records and accepted tasks kept rendered as JSON bytes; the oldest "
                                "rendered is dropped first and renders again when read"),
    Limit("memory_budget", "MiB that every store of every session may hold together; past it the oldest journal "
                           "entries are dropped first, then the oldest finished tasks, then idle sessions"),
)


def positive_int(text: str) -> int:
    """A whole number >= 1; ValueError (naming the rule) otherwise."""
    value = int(text)
    if value < 1:
        raise ValueError(f"must be >= 1, got {value}")
    return value


def add_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("limits", "bounds of what the emulator keeps (docs/reference.md: Limits)")
    for limit in LIMITS:
        group.add_argument(limit.flag, type=count_argument, metavar="N", help=f"{limit.help} (default {limit.default})")


def count_argument(text: str) -> int:
    """A limit's flag value: a whole number >= 1 (argparse's error otherwise)."""
    try:
        return positive_int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None


def from_args(args: argparse.Namespace) -> dict[str, int | None]:
    """MockConfig overrides from parsed flags (None: not given)."""
    return {limit.field: getattr(args, limit.field) for limit in LIMITS}


def add_ini_options(addini: Callable[..., Any]) -> None:
    for limit in LIMITS:
        addini(limit.ini, default="", help=f"mock_api: {limit.help} (default {limit.default})")


def from_ini(getini: Callable[[str], Any]) -> dict[str, int | None]:
    """MockConfig overrides from ini options (None: not set); ValueError naming the option if malformed."""
    overrides: dict[str, int | None] = {}
    for limit in LIMITS:
        text = str(getini(limit.ini)).strip()
        try:
            overrides[limit.field] = positive_int(text) if text else None
        except ValueError:
            raise ValueError(f"ini {limit.ini} must be a whole number >= 1, got {text!r}") from None
    return overrides

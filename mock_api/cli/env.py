"""Serve options from the environment: MOCK_API_<OPTION> sets an option's default, so a flag still wins."""
from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import Any

PREFIX = "MOCK_API_"
# Flags that are actions, not settings: never read from the environment.
NOT_FROM_ENV = frozenset({"help", "list_scenarios"})
TRUE, FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off", ""})


def variable(action: argparse.Action) -> str:
    """The environment variable of an option: --task-seconds is MOCK_API_TASK_SECONDS."""
    return PREFIX + action.dest.upper()


def settable(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.option_strings and a.dest not in NOT_FROM_ENV]


def apply_defaults(parser: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    """Set each option's default from its variable; a malformed value is the parser's one-line error."""
    defaults: dict[str, Any] = {}
    for action in settable(parser):
        text = environ.get(variable(action))
        if text is not None:
            try:
                defaults[action.dest] = _value(action, text.strip())
            except (ValueError, TypeError, argparse.ArgumentTypeError) as exc:
                parser.error(f"env {variable(action)}={text!r}: {exc}")
    parser.set_defaults(**defaults)


def _value(action: argparse.Action, text: str) -> Any:
    if isinstance(action, argparse._StoreTrueAction):
        if text.lower() not in TRUE | FALSE:
            raise ValueError("expected 1/true/yes/on or 0/false/no/off")
        return text.lower() in TRUE
    convert = action.type if callable(action.type) else str
    if isinstance(action, argparse._AppendAction):  # a list of paths, separated as in PATH
        return [convert(part) for part in text.split(os.pathsep) if part]
    value = convert(text)
    if action.choices is not None and value not in action.choices:
        raise ValueError(f"expected one of {', '.join(map(str, action.choices))}")
    return value

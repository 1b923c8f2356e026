"""Serve options from the environment: MOCK_API_<OPTION> sets an option's default, so a flag still wins."""
from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mock_api.limits import count_argument

PREFIX = "MOCK_API_"
# Flags that are actions, not settings: never read from the environment.
NOT_FROM_ENV = frozenset({"help", "list_scenarios"})
TRUE, FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off", ""})
# What a value must be, by the option's type, said to a user who set the variable.
WANTS: dict[Any, str] = {int: "a whole number", float: "a number", Path: "a path", str: "a text", None: "a text",
                         count_argument: "a whole number >= 1"}


def variable(action: argparse.Action) -> str:
    """The environment variable of an option: --task-seconds is MOCK_API_TASK_SECONDS."""
    return PREFIX + action.dest.upper()


def settable(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The options a variable may set: those the parser recorded as they were added (cliargs.OneLineParser)."""
    return [a for a in getattr(parser, "options", []) if a.option_strings and a.dest not in NOT_FROM_ENV]


def is_switch(action: argparse.Action) -> bool:
    """A flag that takes no value (store_true)."""
    return action.nargs == 0 and action.const is True


def wants(action: argparse.Action) -> str:
    """What the option's value must be, in words: the second half of a bad variable's error."""
    if is_switch(action):
        return "1/true/yes/on or 0/false/no/off"
    if action.choices is not None:
        return "one of " + ", ".join(map(str, action.choices))
    return WANTS.get(action.type, "a valid value")


def apply_defaults(parser: argparse.ArgumentParser, environ: Mapping[str, str]) -> None:
    """Set each option's default from its variable; a malformed value is one line naming the variable, the
    option and what it wants."""
    defaults: dict[str, Any] = {}
    for action in settable(parser):
        name = variable(action)
        text = environ.get(name)
        if text is not None:
            try:
                defaults[action.dest] = _value(action, text.strip())
            except (ValueError, TypeError, argparse.ArgumentTypeError):
                parser.error(f"env {name}={text!r}: wants {wants(action)} (it sets {action.option_strings[0]})")
    parser.set_defaults(**defaults)


def _value(action: argparse.Action, text: str) -> Any:
    if is_switch(action):
        if text.lower() not in TRUE | FALSE:
            raise ValueError(text)
        return text.lower() in TRUE
    convert = action.type if callable(action.type) else str
    if isinstance(action.default, list):  # an appending option: a list of paths, separated as in PATH
        return [convert(part) for part in text.split(os.pathsep) if part]
    value = convert(text)
    if action.choices is not None and value not in action.choices:
        raise ValueError(text)
    return value

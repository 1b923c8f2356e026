"""The one command line, `mock-api` or `python -m mock_api`: serve (the default), verify, scenarios, violations."""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from mock_api import __version__
from mock_api.cli.serve import build_parser, config_from_args, host_is_loopback, list_scenarios, run
from mock_api.cliargs import PROG, OneLineParser
from mock_api.config import MockConfig

__all__ = ["build_parser", "config_from_args", "host_is_loopback", "main"]
COMMANDS = {
    "serve": "start the emulator (the default command: `mock-api --port 0` is `mock-api serve --port 0`)",
    "verify": "check a deployment (the mock or the real API) against openapi.yaml",
    "scenarios": "list the built-in scenarios with their descriptions",
    "violations": "print contract violations saved from GET /_mock/violations; exit 1 if there is any",
    "show": "print a snapshot or failure bundle: its state and its journal as a table",
}


def build_top_parser() -> argparse.ArgumentParser:
    """Only for --help and --version: each command parses its own arguments."""
    parser = OneLineParser(prog=PROG, description="Local emulator of the Dartmouth API's academic petitions "
                                                  "slice, for integration tests. `mock-api COMMAND --help` for more.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name, text in COMMANDS.items():
        commands.add_parser(name, help=text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return dispatch(list(sys.argv[1:] if argv is None else argv))
    except BrokenPipeError:  # `mock-api scenarios | head -1`: the reader left; no traceback about it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's flush at exit would fail too
        return 1


def dispatch(argv: list[str]) -> int:
    """Run one command: the first argument names it, or it is serve."""
    command = argv[0] if argv and argv[0] in COMMANDS else None
    rest = argv[1:] if command else argv
    if command is None and rest[:1] and rest[0] in ("-h", "--help", "--version"):
        build_top_parser().parse_args(rest[:1])  # prints and exits 0
    if command == "verify":
        from mock_api.contract.verify import main as verify

        return verify(rest)
    if command == "violations":
        from mock_api.contract.strict import main as violations

        return violations(rest, prog=f"{PROG} violations")
    if command == "show":
        from mock_api.cli.show import main as show

        return show(rest)
    if command == "scenarios":
        OneLineParser(prog=f"{PROG} scenarios", description=COMMANDS["scenarios"]).parse_args(rest)
        return list_scenarios(MockConfig())
    return run(rest, prog=f"{PROG} serve" if command else PROG)

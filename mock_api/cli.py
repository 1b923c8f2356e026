"""The command line: `python -m mock_api [options]` starts the emulator on the embedded defaults."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from mock_api import limits
from mock_api.config import MockConfig
from mock_api.fixtures import FixtureError
from mock_api.scenarios import ScenarioCatalog, ScenarioError
from mock_api.server import DEFAULT_THREADS

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mock_api",
        description="Local emulator of the Dartmouth API's academic petitions slice, for integration tests.",
        epilog="Subcommand: `python -m mock_api verify --help` checks a deployment against openapi.yaml.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind; 0 picks a free one (default 8000)")
    parser.add_argument("--fixtures", type=Path, help="directory of fixture YAML files (default: the shipped ones)")
    parser.add_argument("--seed", type=int, help="seed of the generated data (default: fixtures/generate.yaml)")
    parser.add_argument("--students", type=int, help="how many students to generate (default: generate.yaml)")
    parser.add_argument("--task-seconds", type=float, help="clock seconds a task takes to complete (default 1)")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                        help=f"server worker threads (default {DEFAULT_THREADS})")
    parser.add_argument("--no-control", action="store_true", help="turn the /_mock control API off")
    parser.add_argument("--scenario", metavar="NAME|PATH",
                        help="built-in scenario name or path of a scenario .yaml file (default: default)")
    parser.add_argument("--list-scenarios", action="store_true",
                        help="print the built-in scenarios with their descriptions and exit")
    parser.add_argument("--strict", action="store_true",
                        help="record the consumer's contract violations, listed at GET /_mock/violations")
    limits.add_flags(parser)
    return parser


def config_from_args(args: argparse.Namespace) -> MockConfig:
    return MockConfig().with_overrides(
        fixtures_dir=args.fixtures, seed=args.seed, students=args.students, task_seconds=args.task_seconds,
        control_api=False if args.no_control else None, scenario=args.scenario,
        strict=True if args.strict else None, **limits.from_args(args))


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if not 0 <= args.port <= 65535:
        parser.error("--port must be between 0 and 65535")
    if args.students is not None and args.students < 0:
        parser.error("--students must be >= 0")
    if args.task_seconds is not None and not args.task_seconds >= 0:
        parser.error("--task-seconds must be >= 0")
    if args.threads < 1:
        parser.error("--threads must be >= 1")


def list_scenarios(config: MockConfig) -> int:
    """One line per built-in scenario: its name, padded, and its one-line description."""
    try:
        scenarios = ScenarioCatalog(config.scenarios_dir).builtins()
    except ScenarioError as exc:
        print(f"mock_api: error: bad scenario: {exc}", file=sys.stderr)
        return EXIT_USAGE
    width = max((len(s.name) for s in scenarios), default=0)
    for scenario in scenarios:
        print(f"{scenario.name:<{width}}  {scenario.description}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["verify"]:
        from mock_api.verify import main as verify

        return verify(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    _check(parser, args)
    if args.list_scenarios:
        return list_scenarios(config_from_args(args))
    from mock_api.app import create_app
    from mock_api.server import serve

    try:
        app = create_app(config_from_args(args))
    except FixtureError as exc:
        print(f"mock_api: error: bad fixtures: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ScenarioError as exc:
        print(f"mock_api: error: bad scenario: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        serve(app, args.host, args.port, threads=args.threads)
    except OSError as exc:
        print(f"mock_api: error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    return 0

"""`mock-api serve`: its options (flags, or MOCK_API_<OPTION> from the environment), checks and the server's start."""
from __future__ import annotations

import argparse
import errno
import gc
import ipaddress
import os
import socket
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from mock_api import limits
from mock_api.cli.allocator import return_large_blocks
from mock_api.cli.env import apply_defaults
from mock_api.cli.progress import finish_progress, show_progress
from mock_api.cliargs import PROG, OneLineParser, fail
from mock_api.config import MockConfig
from mock_api.data.fixtures import FixtureError
from mock_api.http.serverlimits import (
    DEFAULT_BODY_BUFFER_BYTES,
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_CONNECTION_LIMIT,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_SHUTDOWN_GRACE,
    DEFAULT_THREADS,
    ServerLimits,
)
from mock_api.scenarios.catalog import ScenarioCatalog, ScenarioError

EXIT_USAGE = 2
EXPOSED = ("--host {host} is not a loopback address: give --control-token TOKEN (or env MOCK_API_CONTROL_TOKEN) "
           "to guard /_mock, or --no-control to turn it off")
LOG_FORMATS = ("text", "json")


def build_parser(prog: str = f"{PROG} serve") -> argparse.ArgumentParser:
    """The serve options, each with its default from MOCK_API_<OPTION> when set (a flag still wins)."""
    parser = OneLineParser(
        prog=prog, description="Start the emulator (the default command). Every option can also be set "
                               "as MOCK_API_<OPTION> in the environment, e.g. MOCK_API_PORT=0; a flag wins.")
    add_arguments(parser)
    apply_defaults(parser, os.environ)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind; 0 picks a free one (default 8000)")
    parser.add_argument("--fixtures", type=Path, help="directory of fixture YAML files (default: the shipped ones)")
    parser.add_argument("--seed", type=int, help="seed of the generated data (default: fixtures/generate.yaml)")
    parser.add_argument("--students", type=int, help="how many students to generate (default: generate.yaml)")
    parser.add_argument("--task-seconds", type=float, help="clock seconds a task takes to complete (default 1)")
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="N >= 2: N emulator processes behind nginx on --port, each session pinned to one "
                             "(docs/scale.md; needs Debian's package nginx); default 1, this process alone")
    parser.add_argument("--nginx", metavar="PATH", help="the nginx binary of --workers (default: nginx on PATH, "
                        "else /usr/sbin/nginx)")
    parser.add_argument("--sessions-file", metavar="FILE", type=Path,
                        help="keep this process's session names in FILE; the ones a previous run left there "
                             "answer 410 until DELETEd (what --workers gives a restarted worker)")
    _add_connection_arguments(parser)
    parser.add_argument("--no-control", action="store_true", help="turn the /_mock control API off")
    parser.add_argument("--allowed-host", metavar="NAME", action="append", default=[],
                        help="on a loopback bind, also answer requests whose Host is NAME (repeatable; '*': any "
                             "Host); any Host but localhost, 127.0.0.1, [::1], the bound address and these gets 421")
    parser.add_argument("--control-token", metavar="TOKEN",
                        help="every /_mock call must send X-Mock-Control-Token: TOKEN "
                             "(required, or --no-control, to bind a non-loopback address)")
    parser.add_argument("--scenarios-dir", metavar="DIR", type=Path, action="append", default=[],
                        help="PUT /_mock/scenario may load scenario files under DIR (repeatable; default none)")
    parser.add_argument("--scenario", metavar="NAME|PATH",
                        help="built-in scenario name or path of a scenario .yaml file (default: default)")
    parser.add_argument("--list-scenarios", action="store_true",
                        help="print the built-in scenarios and exit (same as `mock-api scenarios`)")
    parser.add_argument("--strict", action="store_true",
                        help="record the consumer's contract violations, listed at GET /_mock/violations")
    parser.add_argument("--snapshot", metavar="FILE", type=Path,
                        help="start from a snapshot (GET /_mock/snapshot) or a failure bundle (pytest "
                             "--mock-api-bundle-dir); POST /_mock/reset goes back to the start-up state, not to it")
    parser.add_argument("--quiet", action="store_true", help="no request log and no progress lines on stderr")
    parser.add_argument("--log-format", choices=LOG_FORMATS, default="text",
                        help="request log on stderr: text (coloured on a terminal) or json, one object a line")
    limits.add_flags(parser)


def _add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """The server's connection options (docs/reference.md, connections and shutdown)."""
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                        help=f"server worker threads (default {DEFAULT_THREADS})")
    parser.add_argument("--connection-limit", type=int, default=DEFAULT_CONNECTION_LIMIT,
                        help=f"open connections served at once; more wait in the listen queue "
                             f"(default {DEFAULT_CONNECTION_LIMIT})")
    parser.add_argument("--idle-timeout", type=int, default=DEFAULT_IDLE_TIMEOUT, metavar="SECONDS",
                        help=f"close a connection silent this long between requests (default {DEFAULT_IDLE_TIMEOUT})")
    parser.add_argument("--header-timeout", type=float, default=DEFAULT_HEADER_TIMEOUT, metavar="SECONDS",
                        help="close a connection whose request headers take longer than this to arrive "
                             f"(default {DEFAULT_HEADER_TIMEOUT})")
    parser.add_argument("--body-timeout", type=float, default=DEFAULT_BODY_TIMEOUT, metavar="SECONDS",
                        help="answer 408 to a request whose body takes longer than this to arrive after its "
                             f"headers (default {DEFAULT_BODY_TIMEOUT})")
    parser.add_argument("--body-buffer-bytes", type=int, default=DEFAULT_BODY_BUFFER_BYTES, metavar="N",
                        help="request body bytes held across all connections; past it 503 with Retry-After "
                             f"(default {DEFAULT_BODY_BUFFER_BYTES})")
    parser.add_argument("--max-header-bytes", type=int, default=DEFAULT_MAX_HEADER_BYTES, metavar="N",
                        help=f"largest request line and headers in bytes; larger ones get 431 (a longer target 414) "
                             f"(default {DEFAULT_MAX_HEADER_BYTES})")
    parser.add_argument("--shutdown-grace", type=float, default=DEFAULT_SHUTDOWN_GRACE, metavar="SECONDS",
                        help="on SIGTERM/SIGINT, time given to requests already received "
                             f"(default {DEFAULT_SHUTDOWN_GRACE:g})")


def request_log(args: argparse.Namespace) -> str:
    """What the request log writes: off with --quiet, json, colour text on a terminal, plain text otherwise."""
    if args.quiet:
        return "off"
    if args.log_format == "json":
        return "json"
    return "color" if sys.stderr.isatty() else "text"


def config_from_args(args: argparse.Namespace) -> MockConfig:
    return MockConfig().with_overrides(request_log=request_log(args),
        fixtures_dir=args.fixtures, seed=args.seed, students=args.students, task_seconds=args.task_seconds,
        control_api=False if args.no_control else None, scenario=args.scenario,
        strict=True if args.strict else None, control_token=args.control_token,
        allowed_hosts=tuple(args.allowed_host) or None,
        scenario_dirs=tuple(d.resolve() for d in args.scenarios_dir), sessions_file=args.sessions_file,
        **limits.from_args(args))


def limits_from_args(args: argparse.Namespace, config: MockConfig) -> ServerLimits:
    return ServerLimits(threads=args.threads, connection_limit=args.connection_limit,
                        idle_timeout=args.idle_timeout, shutdown_grace=args.shutdown_grace,
                        header_timeout=args.header_timeout, max_header_bytes=args.max_header_bytes,
                        body_timeout=args.body_timeout, body_buffer_bytes=args.body_buffer_bytes,
                        max_body_bytes=config.max_body_bytes, allowed_hosts=config.allowed_hosts)


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if not 0 <= args.port <= 65535:
        parser.error("--port must be between 0 and 65535")
    if args.students is not None and args.students < 0:
        parser.error("--students must be >= 0")
    if args.task_seconds is not None and not args.task_seconds >= 0:
        parser.error("--task-seconds must be >= 0")
    if args.threads < 1 or args.workers < 1:
        parser.error("--threads and --workers must be >= 1")
    if args.sessions_file is not None and not args.sessions_file.parent.is_dir():
        parser.error(f"--sessions-file {args.sessions_file}: its folder does not exist")
    if args.connection_limit < 1 or args.idle_timeout < 1:
        parser.error("--connection-limit and --idle-timeout must be >= 1")
    if not args.header_timeout > 0 or args.max_header_bytes < 1:
        parser.error("--header-timeout must be > 0 and --max-header-bytes >= 1")
    if not args.body_timeout > 0 or args.body_buffer_bytes < 1:
        parser.error("--body-timeout must be > 0 and --body-buffer-bytes >= 1")
    if any(not name.strip() or any(c.isspace() or c in "/?#@" for c in name.strip()) for name in args.allowed_host):
        parser.error("--allowed-host must be a host name or address, without scheme or path")
    if not args.shutdown_grace >= 0:
        parser.error("--shutdown-grace must be >= 0")
    if args.control_token is not None and not args.control_token.strip():
        parser.error("--control-token must not be empty")
    for folder in args.scenarios_dir:
        if not folder.is_dir():
            parser.error(f"--scenarios-dir {folder}: not a directory")
    loopback = host_is_loopback(parser, args.host)
    if not loopback and args.control_token is None and not args.no_control:
        parser.error(EXPOSED.format(host=args.host))


def host_is_loopback(parser: argparse.ArgumentParser, host: str) -> bool:
    """Whether every address `host` names is a loopback one; a parser error if it names none."""
    if host.replace(".", "").isdigit():  # dotted numbers are an IPv4 address, never a name to look up
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            parser.error(f"--host {host}: not a valid IPv4 address")
    try:
        found = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        parser.error(f"--host {host}: cannot be resolved ({getattr(exc, 'strerror', None) or exc})")
    return all(ipaddress.ip_address(str(address[4][0]).split("%")[0]).is_loopback for address in found)


def list_scenarios(config: MockConfig) -> int:
    """One line per built-in scenario: its name, padded, and its one-line description."""
    try:
        scenarios = ScenarioCatalog(config.scenarios_dir).builtins()
    except ScenarioError as exc:
        return fail(f"bad scenario: {exc}")
    width = max((len(s.name) for s in scenarios), default=0)
    for scenario in scenarios:
        print(f"{scenario.name:<{width}}  {scenario.description}")
    return 0


@contextmanager
def lasting_objects() -> Iterator[None]:
    """The cyclic GC paused while Flask is imported and the app and its data are built, then all of it frozen
    (as serve() does): these objects live as long as the process, so the GC's passes over them while they are
    made are wasted (many full passes at 100,000 petitions). Start-up garbage
    in cycles (a few hundred objects) is frozen with them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        gc.freeze()
    finally:
        if enabled:
            gc.enable()


def run(argv: Sequence[str], prog: str = f"{PROG} serve") -> int:
    """Parse and check the serve options, build the app, serve until a signal; 2 on any start-up error."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    _check(parser, args)
    if args.list_scenarios:
        return list_scenarios(config_from_args(args))
    if args.workers > 1:
        from mock_api.cluster.supervisor import supervise

        return supervise(args, list(argv), host_is_loopback(parser, args.host))
    show_progress(quiet=args.quiet)
    return_large_blocks()
    try:
        with lasting_objects():
            from mock_api.http.app import create_app

            app = create_app(config_from_args(args))
            if args.snapshot is not None:
                from mock_api.checkpoint import SnapshotError, read_file, restore

                try:
                    restore(app.extensions["mock_api"], read_file(args.snapshot))
                except SnapshotError as exc:
                    return fail(f"--snapshot {args.snapshot}: {exc}")
    except FixtureError as exc:
        return fail(f"bad fixtures: {exc}")
    except ScenarioError as exc:
        return fail(f"bad scenario: {exc}")
    finally:
        finish_progress()
    from mock_api.http.app import front_of
    from mock_api.http.server import serve

    state = app.extensions["mock_api"]
    try:
        serve(front_of(app), args.host, args.port, limits=limits_from_args(args, state.config),
              after_ready=None if args.quiet else lambda url: print(
                  welcome(url, not args.no_control, list(state.dataset.accounts), state.config.strict,
                          state.scenario_name),
                  file=sys.stderr, flush=True))
    except (OSError, ValueError) as exc:
        hint = " (--port 0 picks a free port)" if getattr(exc, "errno", None) == errno.EADDRINUSE else ""
        reason = getattr(exc, "strerror", None) or exc
        return fail(f"cannot listen on {args.host}:{args.port}: {reason}{hint}")
    return 0


def welcome(url: str, control: bool, keys: Sequence[str], strict: bool = False, scenario: str = "default") -> str:
    """What stderr says after the ready line: where the API, its document and the dashboard are; the dev keys;
    strict mode and the scenario when they change what a client sees."""
    lines = [f"  API        {url}/api  (POST {url}/api/jwt with a key below)",
             f"  OpenAPI    {url}/openapi.json"]
    if control:
        lines.append(f"  dashboard  {url}/_mock/")
    lines.append("  dev keys   " + ", ".join(keys) + "  (fixtures/api_keys.yaml: local keys, not real credentials)")
    if strict:
        listed = f" and listed at {url}/_mock/violations" if control else ""
        lines.append(f"  strict     on: the client's contract violations are logged below{listed}")
    if scenario != "default":
        lines.append(f"  scenario   {scenario}")
    return "\n".join(lines)

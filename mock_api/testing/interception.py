"""Interception: HTTP(S) calls to api.dartmouth.edu made through urllib3 (requests) or httpcore (httpx) go to
the in-process emulator, unchanged client code and all.

Two hooks, the lowest each library keeps as its own seam, put in when an interception begins and kept:
- urllib3 (and so `requests`): `HTTPConnectionPool._get_conn`, where every request of a pool (https ones
  included) takes its connection. For an intercepted host it hands the pool a plain connection to the emulator
  (vcrpy replaces urllib3's connection classes at the same place); the pool still believes it talks https.
- httpcore (and so httpx, sync and async): `ConnectionPool.handle_request` and
  `AsyncConnectionPool.handle_async_request`, where each request enters the pool (respx's httpcore mocker
  patches the same methods). The request's origin becomes the emulator's plain-HTTP address.
Either way the request reaches the running server over loopback, so the test's state, scenario, faults, journal,
strict mode and session (sent as X-Mock-Session) apply exactly as for a call to `mock_api.url`.
"""
from __future__ import annotations

import contextlib
import importlib.util
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from urllib3._base_connection import BaseHTTPConnection

DEFAULT_HOSTS = ("api.dartmouth.edu",)
SESSION_HEADER = "X-Mock-Session"


class InterceptionError(RuntimeError):
    """A call that `intercept(strict_hosts=True)` refuses: its host is neither intercepted nor the emulator."""


@dataclass(frozen=True)
class Route:
    """Where intercepted calls go: the emulator's loopback address, and the session to name."""

    hosts: frozenset[str]
    host: str
    port: int
    session: str | None
    strict_hosts: bool

    def choose(self, host: str, port: int | None) -> bool:
        """Whether a call to host:port is routed to the emulator; InterceptionError if it is refused."""
        host = host.lower().strip("[]")
        if host in self.hosts:
            return True
        if self.strict_hosts and (host, port) != (self.host, self.port):
            where = host if port is None else f"{host}:{port}"
            raise InterceptionError(
                f"mock_api.intercept(strict_hosts=True) refused a call to {where}: only "
                f"{', '.join(sorted(self.hosts))} (routed to the emulator) and the emulator itself may be called")
        return False


_lock = threading.Lock()
_routes: list[Route] = []  # the active interceptions, innermost last: it decides
HOOK_MARK = "_mock_api_route"  # on a hook: the `current` it asks, so each is put in once per library class


def current(host: str, port: int | None) -> Route | None:
    """The route a call to host:port takes now: None when it goes out as usual."""
    with _lock:
        route = _routes[-1] if _routes else None
    return route if route is not None and route.choose(host, port) else None


def route_for(url: str, session: str | None, hosts: Iterable[str], strict_hosts: bool) -> Route:
    """The route to the emulator at `url` (its root, any /s/{name} left to the session header)."""
    if isinstance(hosts, str):
        hosts = hosts.split()
    names = frozenset(h.strip().lower() for h in hosts if h.strip())
    if not names:
        raise ValueError("intercept needs at least one host name, e.g. hosts=['api.dartmouth.edu']")
    parts = urlsplit(url)
    if parts.hostname is None or parts.port is None:
        raise ValueError(f"the emulator's url {url!r} has no host and port")
    return Route(names, parts.hostname, parts.port, session, strict_hosts)


@contextlib.contextmanager
def intercepting(route: Route) -> Iterator[Route]:
    """Route calls by `route` until the block ends; nested blocks stack, the innermost decides."""
    with _lock:
        # Checked at every block, not once: a library first imported since (httpx imports httpcore only when a
        # client is made) or imported anew needs its hook. Hooks stay once in: with no interception active
        # they pass every call through, and urllib3's must outlive the block to replace a connection pooled
        # during it (taken out, the pool would reuse it).
        for library, patch in (("urllib3", _patch_urllib3), ("httpcore", _patch_httpcore)):
            if importlib.util.find_spec(library) is not None:  # a library not installed needs no hook
                patch()
        _routes.append(route)
    try:
        yield route
    finally:
        with _lock:
            _routes.remove(route)


def _hook(owner: Any, name: str, make: Callable[[Any], Any]) -> None:
    """Replace owner.name by make(original) unless this module's hook is there already; a hook of an earlier
    copy of this module (re-imported, as pytester does) is replaced, not wrapped."""
    existing = owner.__dict__[name]
    if getattr(existing, HOOK_MARK, None) is current:
        return
    original = existing.__wrapped__ if hasattr(existing, HOOK_MARK) else existing
    hook = make(original)
    hook.__wrapped__ = original
    setattr(hook, HOOK_MARK, current)
    setattr(owner, name, hook)


def _patch_urllib3() -> None:
    from urllib3.connection import HTTPConnection
    from urllib3.connectionpool import HTTPConnectionPool

    class Loopback(HTTPConnection):
        """A plain connection to the emulator that sends the Host and the session the client meant."""

        def __init__(self, route: Route, meant_host: str, timeout: Any) -> None:
            super().__init__(route.host, route.port, timeout=timeout)
            self.mock_api_route, self.meant_host = route, meant_host

        @property
        def is_verified(self) -> bool:
            return True  # the https pool warns of an unverified peer otherwise: here the peer is the emulator

        @is_verified.setter
        def is_verified(self, value: bool) -> None:
            pass

        def putrequest(self, method: str, url: str, skip_host: bool = False,
                       skip_accept_encoding: bool = False) -> None:
            super().putrequest(method, url, skip_host=True, skip_accept_encoding=skip_accept_encoding)
            if not skip_host:
                self.putheader("Host", self.meant_host)
            if self.mock_api_route.session is not None:
                self.putheader(SESSION_HEADER, self.mock_api_route.session)

    def make(original: Callable[..., BaseHTTPConnection]) -> Callable[..., BaseHTTPConnection]:
        def get_conn(self: HTTPConnectionPool, timeout: float | None = None) -> BaseHTTPConnection:
            route = current(self.host, self.port)
            conn = original(self, timeout)
            if getattr(conn, "mock_api_route", None) == route:  # both None: a call that goes out as usual
                return conn
            # A pooled connection from before this interception (or of another one): never reused across them.
            conn.close()
            if route is None:
                return self._new_conn()
            return Loopback(route, self.host, self.timeout.connect_timeout)
        return get_conn

    _hook(HTTPConnectionPool, "_get_conn", make)


def _patch_httpcore() -> None:
    import httpcore

    def routed(request: httpcore.Request) -> httpcore.Request:
        url = request.url
        route = current(url.host.decode("ascii"), url.port)
        if route is None:
            return request
        headers = list(request.headers)
        if route.session is not None:
            headers.append((SESSION_HEADER.encode(), route.session.encode()))
        origin = httpcore.URL(scheme=b"http", host=route.host.encode(), port=route.port, target=url.target)
        return httpcore.Request(request.method, origin, headers=headers, content=request.stream,
                                extensions=request.extensions)

    def sync(original: Callable[..., httpcore.Response]) -> Callable[..., httpcore.Response]:
        def handle_request(self: httpcore.ConnectionPool, request: httpcore.Request) -> httpcore.Response:
            return original(self, routed(request))
        return handle_request

    Answer = Awaitable[httpcore.Response]

    def asynchronous(original: Callable[..., Answer]) -> Callable[..., Answer]:
        async def handle_async_request(self: httpcore.AsyncConnectionPool,
                                       request: httpcore.Request) -> httpcore.Response:
            return await original(self, routed(request))
        return handle_async_request

    _hook(httpcore.ConnectionPool, "handle_request", sync)
    _hook(httpcore.AsyncConnectionPool, "handle_async_request", asynchronous)

"""A request as plain data (no HTTP library): what effects, views and the contract checks read."""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mock_api.service import errors
from mock_api.service.clock import Clock
from mock_api.service.tokens import TokenError, verify

# Our bound (docs/fidelity.md): a stored body is copied and echoed recursively; near Python's recursion
# limit that fails, and how near depends on the stack, so a fixed, generous depth is checked instead.
MAX_JSON_DEPTH = 64
_UNREAD: Any = object()


class BodyTooLarge(Exception):
    """The body is over the size limit (the http layer answers 413)."""


def parse_authorization(value: str) -> tuple[str, str]:
    """The scheme and the credentials of an Authorization header, each stripped: ("Bearer", "eyJ...").

    The one place the header is split: the views, the effects, strict mode and the journal's mask read it so.
    """
    scheme, _, credentials = value.strip().partition(" ")
    return scheme, credentials.strip()


def bearer_token(value: str) -> str | None:
    """The token of `Bearer {jwt}`; None for another scheme or no token."""
    scheme, token = parse_authorization(value)
    return token if scheme.lower() == "bearer" and token else None


def _not_json(constant: str) -> Any:
    """NaN and Infinity are Python's extensions, not JSON: stored, they would be echoed as invalid JSON."""
    raise ValueError(f"{constant} is not JSON")


def _finite(text: str) -> float:
    """A JSON number past a float's range (1e400) would be read as inf and echoed as Infinity, as NaN would."""
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} is out of range")
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """Iterative, so that it cannot itself recurse too deep."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


class PlainRequest:
    """One request: method, path, the route template the router matched, headers, query (a repeated
    parameter's last value counts), and, read once when first asked for, the body, its JSON and the
    bearer token's verified claims."""

    def __init__(self, method: str, path: str, route: str | None, headers: Sequence[tuple[str, str]],
                 query: Mapping[str, str], mimetype: str, read_body: Callable[[], bytes | None],
                 signing_key: str, clock: Clock) -> None:
        self.method, self.path, self.route = method, path, route
        self.headers, self.query, self.mimetype = headers, query, mimetype
        self._read_body, self._signing_key, self._clock = read_body, signing_key, clock
        self._body: bytes | None = _UNREAD
        self._json: Any = _UNREAD
        self._claims: dict[str, Any] | TokenError = _UNREAD

    def header(self, name: str, default: str = "") -> str:
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return default

    @property
    def authorization(self) -> str:
        return self.header("Authorization")

    def body(self) -> bytes | None:
        """The raw body (b"" when none was sent), read once; None when it is over the size limit."""
        if self._body is _UNREAD:
            self._body = self._read_body()
        return self._body

    def parsed_json(self) -> tuple[bool, Any]:
        """(True, the body's JSON) if json() parsed it, else (False, None): strict mode reuses it."""
        return (False, None) if self._json is _UNREAD else (True, self._json)

    def json(self) -> Any:
        """The body as JSON: 415 for another media type, 400 if it does not parse or is too deep.
        BodyTooLarge when the body is over the size limit."""
        if self._json is not _UNREAD:
            return self._json
        if self.mimetype != "application/json" and not self.mimetype.endswith("+json"):
            raise errors.detail(415, errors.CONTENT_TYPE_NOT_JSON)
        raw = self.body()
        if raw is None:
            raise BodyTooLarge()
        try:
            body = json.loads(raw.decode("utf-8"), parse_constant=_not_json, parse_float=_finite)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise errors.detail(400, errors.BODY_NOT_JSON) from None
        # Nesting needs an opening bracket a level: a body with no more of them than the limit (strings'
        # brackets counted too) cannot be too deep, and counting bytes is far cheaper than walking the value.
        if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and _deeper_than(body, MAX_JSON_DEPTH):
            raise errors.detail(400, errors.BODY_TOO_DEEP.format(limit=MAX_JSON_DEPTH))
        self._json = body
        return body

    def claims_or_error(self) -> dict[str, Any] | TokenError:
        """The bearer token's verified claims, or why there are none; verified once (by the emulator clock)."""
        if self._claims is _UNREAD:
            token = bearer_token(self.authorization)
            try:
                if token is None:
                    raise TokenError("no bearer token")
                self._claims = verify(token, self._signing_key, self._clock.now())
            except TokenError as exc:
                self._claims = exc
        return self._claims

    def claims(self) -> dict[str, Any]:
        """The verified claims of `Authorization: Bearer {jwt}`; any problem is a plain 401."""
        found = self.claims_or_error()
        if isinstance(found, TokenError):
            raise errors.unauthorized()
        return found

"""Issues and verifies the emulator's JWTs: HS256, claims as the seed's task requester, clock-checked."""
from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from mock_api.data.fixtures import ServiceAccount

ALGORITHM = "HS256"
CLAIMS = ("sub", "name", "email", "scope", "exp", "iat")
TIME_CLAIMS = ("exp", "iat")
# The verified-token memo holds at most this many tokens of at most this many characters (~4 MiB in all);
# a longer token (the emulator's are ~400) is verified on every call instead of filling the memo.
TOKEN_MEMO_ENTRIES = 1024
TOKEN_MEMO_CHARS = 4096


class TokenError(Exception):
    """The token is missing, malformed, forged, of another algorithm, or expired."""


def granted_scopes(account: ServiceAccount, requested: Sequence[str]) -> list[str]:
    """The requested scopes the account holds, in the order asked, each once; no default set."""
    accepted: list[str] = []
    for scope in requested:
        if scope in account.scopes and scope not in accepted:
            accepted.append(scope)
    return accepted


def issue(account: ServiceAccount, scopes: Sequence[str], now: float, lifetime: int,
          key: str) -> tuple[str, dict[str, Any]]:
    """A signed token and its claims; exp and iat are integer epoch seconds, as clients of the live API read."""
    import jwt  # here, not at import: a start-up needs no token

    iat = int(now)
    claims = {"sub": account.sub, "name": account.name, "email": account.email,
              "scope": ",".join(scopes), "exp": iat + lifetime, "iat": iat}
    return jwt.encode(claims, key, algorithm=ALGORITHM), claims


def requester_copy(claims: dict[str, Any]) -> dict[str, Any]:
    """The task's copy of the caller's claims: exp and iat as strings, as seed 000's `requester` has them."""
    return {name: str(value) if name in TIME_CLAIMS else value for name, value in claims.items()}


def _epoch(claims: dict[str, Any], name: str) -> int:
    """Integer seconds, or a string of them: a tolerant reader, so tokens made before times were numbers
    (and hand-made ones copying the seed's requester) keep working."""
    value = claims.get(name)
    text = str(value)
    # ASCII and bounded: "²".isdigit() is true and int() refuses it, as it refuses 5,000 digits.
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not text.isascii() or not text.isdigit() \
            or len(text) > 18:
        raise TokenError(f"claim {name} is not epoch seconds")
    return int(value)


class _Checked(NamedTuple):
    """What a token's checks found apart from its expiry, which depends on the clock of each call."""

    claims: dict[str, Any]  # the CLAIMS it carries
    expires: int
    iat_error: str | None  # why iat is refused, raised after the expiry check (verify's order); text, not the
    # exception, whose traceback would keep _check's frame alive in the memo


def _checked(token: str, key: str) -> _Checked:
    """Signature, algorithm and claim checks: a pure function of its arguments, so memoised (clients send the
    same token on every call, and decoding it was a third of a read's time). Callers must not mutate."""
    return _memo_checked(token, key) if len(token) <= TOKEN_MEMO_CHARS else _check(token, key)


@lru_cache(maxsize=TOKEN_MEMO_ENTRIES)
def _memo_checked(token: str, key: str) -> _Checked:
    return _check(token, key)


def _check(token: str, key: str) -> _Checked:
    claims = _decode(token, key)
    if not all(isinstance(claims.get(name), str) for name in ("sub", "scope")):
        raise TokenError("claims sub and scope are required")
    expires = _epoch(claims, "exp")
    try:
        _epoch(claims, "iat")
        iat_error = None
    except TokenError as exc:
        iat_error = str(exc)
    return _Checked({name: claims[name] for name in CLAIMS if name in claims}, expires, iat_error)


def _decode(token: str, key: str) -> dict[str, Any]:
    import jwt  # lazily, as in issue(); the import lock makes a first use from two threads safe

    try:
        # Expiry is checked by verify against the emulator's clock, which tests may move, not wall time.
        return jwt.decode(token, key, algorithms=[ALGORITHM],
                          options={"verify_exp": False, "verify_iat": False, "verify_nbf": False})
    except jwt.PyJWTError as exc:
        raise TokenError(str(exc)) from None


def verify(token: str, key: str, now: float) -> dict[str, Any]:
    """The token's claims if its signature, algorithm, claims and expiry (by the emulator clock) hold."""
    checked = _checked(token, key)
    if now >= checked.expires:
        raise TokenError("expired")
    if checked.iat_error is not None:
        raise TokenError(checked.iat_error)
    return dict(checked.claims)


def token_scopes(claims: dict[str, Any]) -> set[str]:
    return {s for s in str(claims.get("scope", "")).split(",") if s}

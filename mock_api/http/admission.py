"""Whether the server takes a request head (RFC 9110/9112): its version, Host, framing and declared size."""
from __future__ import annotations

import ipaddress

from mock_api.http.parsed import Refused, Request
from mock_api.http.serverlimits import ServerLimits
from mock_api.service import errors

VERSIONS = ("1.0", "1.1")
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
ANY_HOST = "*"  # --allowed-host '*': every Host (a loopback server behind a front that checks it, as --workers)


def host_name(value: str) -> str:
    """The host of a Host value, port removed, lower-cased: "Localhost:8000" -> "localhost", "[::1]:80" -> "[::1]"."""
    text = value.strip().lower()
    if text.startswith("["):
        return text.partition("]")[0] + "]"
    return text.partition(":")[0]


def served_hosts(bound: str, allowed: tuple[str, ...]) -> frozenset[str] | None:
    """The Host names a server bound to `bound` answers: on a loopback address, the loopback names, the address
    itself and `allowed` (a web page's DNS name re-pointed at 127.0.0.1 is refused); None (any) otherwise, or
    when `allowed` holds ANY_HOST."""
    if ANY_HOST in allowed:
        return None
    try:
        loopback = ipaddress.ip_address(bound.split("%")[0]).is_loopback
    except ValueError:
        return None
    if not loopback:
        return None
    own = f"[{bound}]" if ":" in bound else bound
    return frozenset(host_name(name) for name in (*LOOPBACK_NAMES, own, *allowed))


def admit(request: Request, hosts: frozenset[str] | None, limits: ServerLimits) -> None:
    """Refused unless the head is one we serve: HTTP/1.0 or 1.1 (505), one Host on 1.1 and none twice (400),
    a served Host (421), chunked the only transfer coding (501; any on 1.0: 400), a declared body the server
    will read (413). Sets `expect_continue` on a 1.1 request that asks for it."""
    if request.version not in VERSIONS:
        raise Refused(505, errors.HTTP_VERSION.format(version=request.version))
    found: list[bytes] = []
    codings: list[bytes] = []
    declared = 0
    for name, value in request.headers:
        lowered = name.lower()
        if lowered == b"host":
            found.append(value)
        elif lowered == b"transfer-encoding":
            codings.extend(coding.strip().lower() for coding in value.split(b","))
        elif lowered == b"content-length" and value.isdigit():
            declared = int(value)
        elif lowered == b"expect" and value.lower() == b"100-continue" and request.version == "1.1":
            request.expect_continue = True
    if len(found) > 1 or (not found and request.version == "1.1"):
        raise Refused(400, errors.HOST_HEADER.format(count=len(found)))
    if found and hosts is not None and host_name(found[0].decode("latin-1")) not in hosts:
        raise Refused(421, errors.MISDIRECTED_HOST.format(host=found[0].decode("latin-1")))
    if codings and request.version == "1.0":
        raise Refused(400, errors.TRANSFER_CODING_HTTP_1_0)
    if codings and codings != [b"chunked"]:
        raise Refused(501, errors.TRANSFER_CODING.format(coding=b", ".join(codings).decode("latin-1")))
    if declared > limits.max_request_body:
        raise Refused(413, errors.BODY_TOO_LARGE.format(limit=limits.max_body_bytes))

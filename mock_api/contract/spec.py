"""The OpenAPI document: load it, find a request's operation, check a request body or a response."""
from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mock_api.data.yamltext import load_yaml

if TYPE_CHECKING:
    from jsonschema import ValidationError
    from referencing import Registry

SPEC_PATH = Path(__file__).resolve().parent / "openapi.yaml"
SPEC_URI = "urn:mock-api:openapi"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
GENERIC_ERRORS = {404: "NotFound", 405: "MethodNotAllowed"}  # any path may answer these
# Any operation may answer these too, documented or not: a body over the size limit is refused before
# routing (app._begin), whatever the endpoint.
ANY_OPERATION_ERRORS = {413: "TooLarge"}


def _field_order(validator: Any, enabled: Any, instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    """x-field-order: the documented keys must come in the order `properties` lists them."""
    if not enabled or not isinstance(instance, dict):
        return
    documented = list(schema.get("properties", {}))
    actual = [k for k in instance if k in documented]
    expected = [k for k in documented if k in instance]
    if actual != expected:
        from jsonschema import ValidationError

        yield ValidationError(f"fields out of order: got {actual}, documented {expected}")


# jsonschema and referencing are imported on the first check (strict mode, verify, tests), not at
# start-up: a server only serving reads and writes never needs them.
@functools.lru_cache(maxsize=1)
def _ordered_validator() -> Any:
    from jsonschema import Draft202012Validator, validators

    return validators.extend(Draft202012Validator, {"x-field-order": _field_order})  # type: ignore[no-untyped-call]


@functools.lru_cache(maxsize=1)
def load_spec() -> dict[str, Any]:
    """The parsed openapi.yaml; read once per process, never mutated."""
    with SPEC_PATH.open(encoding="utf-8") as stream:
        return dict(load_yaml(stream.read()))


@functools.lru_cache(maxsize=1)
def _registry() -> Registry:
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    registry: Registry = Registry().with_resource(SPEC_URI, DRAFT202012.create_resource(load_spec()))
    return registry


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


@functools.lru_cache(maxsize=256)
def _validator(pointer: str) -> Any:
    return _ordered_validator()({"$ref": f"{SPEC_URI}#/{pointer}"}, registry=_registry())


@functools.lru_cache(maxsize=1)
def _templates() -> list[tuple[re.Pattern[str], str]]:
    """Path templates as regexes, literal ones first so /api/jwt never matches a {param}. A trailing
    parameter may hold slashes, as the petitions route's path converter lets it."""
    paths = sorted(load_spec()["paths"], key=lambda t: ("{" in t, t))
    regexes = [re.sub(r"\\\{[^/]+?\\\}$", ".+", re.escape(t)) for t in paths]
    pairs = zip(regexes, paths, strict=True)
    return [(re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", r) + "$"), t) for r, t in pairs]


def match_path(path: str) -> str | None:
    """The documented path template of a concrete path; one trailing slash is allowed (seed 001), as the
    app's routes allow it: `/api/academic/petitions//` is the item route with the id "/"."""
    candidates = [path, path[:-1]] if len(path) > 1 and path.endswith("/") else [path]
    for candidate in candidates:
        for pattern, template in _templates():
            if pattern.match(candidate):
                return template
    return None


def operation(template: str, method: str) -> dict[str, Any] | None:
    item = load_spec()["paths"].get(template, {})
    found = item.get(method.lower())
    return found if isinstance(found, dict) else None


def resolve(node: Any) -> Any:
    """Follow a local $ref (components) to the object it names."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = load_spec()
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def required_scopes(op: Mapping[str, Any]) -> list[str]:
    requirements = op.get("security", load_spec().get("security", []))
    return [scope for requirement in requirements for scopes in requirement.values() for scope in scopes]


def documented_statuses(op: Mapping[str, Any]) -> list[int]:
    return sorted(int(code) for code in op.get("responses", {}) if code.isdigit())


@dataclass(frozen=True)
class Problem:
    """One way a message differs from the document; `where` is a JSON path or a header name."""

    where: str
    text: str

    def __str__(self) -> str:
        return f"{self.where}: {self.text}"


def _json_path(error: ValidationError) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)


def describe(error: ValidationError) -> str:
    """The error without the offending value (values may be volatile or secret)."""
    if error.validator in ("oneOf", "anyOf") and error.context:
        options: list[Any] = list(error.validator_value)  # type: ignore[arg-type]  # oneOf/anyOf: a list
        titles = ", ".join(str(v.get("title", i)) for i, v in enumerate(options))
        from jsonschema.exceptions import best_match

        closest = best_match(error.context)
        return f"matches none of the documented variants ({titles}); closest: {_json_path(closest)} {describe(closest)}"
    kind, expected = error.validator, error.validator_value
    if kind in ("oneOf", "anyOf", "allOf", "not"):
        return f"fails {kind} of the documented variants"
    if kind == "type":
        return f"expected {expected}, got {type(error.instance).__name__}"
    if kind == "pattern":
        return f"does not match {expected}"
    if kind in ("const", "enum"):
        return f"expected {expected!r}"
    if kind in ("required", "additionalProperties", "unevaluatedProperties", "x-field-order", "minItems"):
        return str(error.message)
    return f"fails {kind} {expected!r}"


def check_instance(pointer: str, instance: Any, where: str = "body") -> list[Problem]:
    """Problems of `instance` against the schema at `pointer` (a JSON pointer into the document)."""
    errors = sorted(_validator(pointer).iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path])
    if any(e.validator != "unevaluatedProperties" for e in errors):
        # A failed allOf drops its annotations, so every property then looks unevaluated: noise.
        errors = [e for e in errors if e.validator != "unevaluatedProperties"]
    return [Problem(f"{where} {_json_path(e)}" if where == "body" or e.absolute_path else where, describe(e))
            for e in errors]


def _walk(*parts: str) -> tuple[Any, str]:
    """The node at `parts` below the document root, following $refs; and its JSON pointer."""
    node: Any = load_spec()
    pointer: list[str] = []
    for part in parts:
        node = node[part]
        pointer.append(part)
        while isinstance(node, dict) and "$ref" in node:
            pointer = [p.replace("~1", "/").replace("~0", "~") for p in node["$ref"].lstrip("#/").split("/")]
            node = resolve(node)
    return node, _pointer(*pointer)


def _response_location(template: str | None, method: str, status: int) -> tuple[str, ...] | None:
    op = operation(template, method) if template else None
    if op is not None and str(status) in op.get("responses", {}):
        return ("paths", template or "", method.lower(), "responses", str(status))
    if status in ANY_OPERATION_ERRORS:
        return ("components", "responses", ANY_OPERATION_ERRORS[status])
    if op is not None:
        return None
    if status in GENERIC_ERRORS:
        return ("components", "responses", GENERIC_ERRORS[status])
    return None


def _check_headers(location: tuple[str, ...], headers: Mapping[str, str]) -> list[Problem]:
    response, _ = _walk(*location)
    lowered = {k.lower(): v for k, v in headers.items()}
    problems: list[Problem] = []
    for name in response.get("headers", {}):
        header, _pointer = _walk(*location, "headers", name)
        value = lowered.get(name.lower())
        if value is None:
            if header.get("required"):
                problems.append(Problem(f"header {name}", "missing"))
            continue
        problems += check_instance(_walk(*location, "headers", name, "schema")[1], value, f"header {name}")
    return problems


def _check_body(location: tuple[str, ...], content_type: str, body: bytes) -> list[Problem]:
    response, _ = _walk(*location)
    content = response.get("content", {})
    if "application/json" not in content:
        return []
    if content_type.split(";")[0].strip().lower() != "application/json":
        return [Problem("header Content-Type", f"expected application/json, got {content_type or 'none'}")]
    try:
        instance = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return [Problem("body", "is not JSON")]
    _, pointer = _walk(*location, "content", "application/json", "schema")
    return check_instance(pointer, instance)


def check_response(method: str, path: str, status: int, headers: Mapping[str, str], body: bytes,
                   faults_allowed: bool = False) -> list[Problem]:
    """Every way a response differs from the document: status, headers, content type, body shape.
    With `faults_allowed` (a scenario other than default is in force) an error response is not checked:
    a scenario may inject any error status and body, as info.description says."""
    problems = _response_problems(method, path, status, headers, body)
    return [] if faults_allowed and status >= 400 else problems


def _response_problems(method: str, path: str, status: int, headers: Mapping[str, str], body: bytes) -> list[Problem]:
    method = method.upper()
    if method in ("HEAD", "OPTIONS"):
        return []  # answered by the framework, not part of the contract
    template = match_path(path)
    location = _response_location(template, method, status)
    if location is None:
        documented = "undocumented path" if template is None else (
            "undocumented method" if operation(template, method) is None else "undocumented status")
        return [Problem("status", f"{status} for {method} {path}: {documented}")]
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    return [*_check_headers(location, headers), *_check_body(location, content_type, body)]


def check_request_body(template: str, method: str, body: Any) -> list[Problem]:
    """Problems of a parsed JSON request body against the operation's documented requestBody."""
    op = operation(template, method)
    if op is None or "requestBody" not in op:
        return []
    _, pointer = _walk("paths", template, method.lower(), "requestBody", "content", "application/json", "schema")
    return check_instance(pointer, body)

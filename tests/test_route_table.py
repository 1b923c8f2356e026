"""One definition per route: the API's route table and the control API's Flask rules, checked against openapi.yaml."""
from __future__ import annotations

import re
from collections import Counter

import pytest
from flask import Flask

from mock_api.contract import spec
from mock_api.http import routes
from mock_api.http.pipeline import Route
from mock_api.http.routes import ROUTES, match
from mock_api.service import errors


def _declared(app: Flask, table: tuple[Route, ...] = ROUTES) -> list[tuple[str, str]]:
    """Every (method, path rule) any part of the app serves, each as often as it is declared."""
    found = [(route.method, route.rule) for route in table]
    for rule in app.url_map.iter_rules():
        found += [(method, rule.rule) for method in sorted(rule.methods or ()) if method not in ("HEAD", "OPTIONS")]
    return found


def _twice(declared: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [route for route, count in Counter(declared).items() if count > 1]


def test_no_route_is_declared_twice(app: Flask) -> None:
    assert _twice(_declared(app)) == []
    assert len({route.endpoint for route in ROUTES}) == len(ROUTES)


def test_the_check_catches_a_route_declared_in_the_table_and_as_a_flask_view(app: Flask) -> None:
    app.add_url_rule("/api/tasks/<task_id>", "a_second_poll", lambda task_id: "", methods=["GET"])
    assert _twice(_declared(app)) == [("GET", "/api/tasks/<task_id>")]
    doubled = (*ROUTES, ROUTES[0])
    assert _twice(_declared(Flask("bare"), doubled)) == [("POST", "/api/jwt")]


def _operation(method: str, template: str) -> object:
    return spec.load_spec()["paths"].get(template, {}).get(method.lower())


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.endpoint)
def test_each_route_implements_its_openapi_operation(route: Route) -> None:
    assert _operation(route.method, route.template) is not None
    # The rule and the documented path name the same segments: {netid} where the rule has <netid>.
    assert re.sub(r"<(?:[^:<>]+:)?[^<>]+>", "{}", route.rule) == re.sub(r"\{[^}]+\}", "{}", route.template)


def test_each_control_route_implements_an_openapi_operation(app: Flask) -> None:
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        template = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods or ():
            if method not in ("HEAD", "OPTIONS"):
                assert _operation(method, template) is not None, (method, template)


def test_a_route_with_no_operation_is_caught() -> None:
    stray = Route("stray", "GET", "/api/strays/<netid>", "/api/strays/{netid}", None, lambda *_: None)  # type: ignore[arg-type]
    assert _operation(stray.method, stray.template) is None


def test_the_matcher_answers_from_the_table() -> None:
    assert match("GET", "/api/tasks/abc") == (routes.BY_ENDPOINT["get_task"], {"task_id": "abc"})
    assert match("GET", "/api/academic/petitions/") == (routes.BY_ENDPOINT["list_petitions"], {})
    wrong, values = match("DELETE", "/api/academic/petitions")
    assert isinstance(wrong, errors.ApiError) and values == {}
    assert (wrong.status, wrong.body) == (405, {"detail": "Method Not Allowed"})
    assert wrong.headers == {"Allow": "GET, HEAD, POST"}
    missing, _ = match("GET", "/api//academic/petitions")
    assert isinstance(missing, errors.ApiError) and missing.status == 404

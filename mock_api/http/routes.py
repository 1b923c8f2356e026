"""The API's route table: each route declared once (method, path, OpenAPI path, scopes, handler), and its matcher."""
from __future__ import annotations

from collections.abc import Mapping

from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map, Rule

from mock_api.http import handlers
from mock_api.http.pipeline import Route
from mock_api.service import errors
from mock_api.service.query import parse_page, parse_terms
from mock_api.service.records import PETITION_FIELDS
from mock_api.service.requests import PlainRequest
from mock_api.service.scopes import READ, WRITE
from mock_api.state import MockState

# A read over at most this many candidate records, one default-sized page, stays in the server's event loop.
SMALL_READ_CANDIDATES = 1000


def small_read(state: MockState, request: PlainRequest) -> bool:
    """Whether a petitions read is cheap: a default page, and a later page or an indexed filter that leaves few
    candidates. Anything else (a scan, a page of 1,000) is answered in a worker, so it holds no other client."""
    query = request.query
    if parse_page(query, state.config.default_pagesize, state.config.max_pagesize).size > \
            state.config.default_pagesize:
        return False
    if query.get("continuation_key"):
        return True
    return state.backend.estimate(parse_terms(query, PETITION_FIELDS)) <= SMALL_READ_CANDIDATES


ROUTES: tuple[Route, ...] = (
    Route("create_jwt", "POST", "/api/jwt", "/api/jwt", None, handlers.create_jwt),
    Route("list_petitions", "GET", "/api/academic/petitions", "/api/academic/petitions", (READ,),
          handlers.list_petitions, small_read),
    Route("create_petition", "POST", "/api/academic/petitions", "/api/academic/petitions", (WRITE,),
          handlers.create_petition),
    # path: a decision may hold a "/", and the record id holds the decision.
    Route("get_petition", "GET", "/api/academic/petitions/<path:key>", "/api/academic/petitions/{id}", (READ,),
          handlers.get_petition),
    Route("student_petitions", "GET", "/api/students/<netid>/petitions", "/api/students/{netid}/petitions",
          (READ,), handlers.student_petitions),
    Route("list_petition_types", "GET", "/api/petition_types", "/api/petition_types", (READ,),
          handlers.list_petition_types),
    Route("get_petition_type", "GET", "/api/petition_types/<code>", "/api/petition_types/{id}", (READ,),
          handlers.get_petition_type),
    Route("get_task", "GET", "/api/tasks/<task_id>", "/api/tasks/{id}", (), handlers.get_task),
    Route("openapi_document", "GET", "/openapi.json", "/openapi.json", None, handlers.openapi_document),
)
BY_ENDPOINT: Mapping[str, Route] = {route.endpoint: route for route in ROUTES}
# The seed's sample calls /api/academic/petitions/?netid=...: a trailing slash is the same route. A doubled
# slash is a path that matches nothing (404), never a redirect.
URL_MAP = Map([Rule(route.rule, endpoint=route.endpoint, methods=[route.method]) for route in ROUTES],
              strict_slashes=False, merge_slashes=False)
_MATCHER = URL_MAP.bind("localhost")


def match(method: str, path: str) -> tuple[Route | errors.ApiError, dict[str, str]]:
    """The route of a method and path with its path values; 405 (with Allow) or 404 when there is none."""
    try:
        endpoint, values = _MATCHER.match(path, method)
    except MethodNotAllowed as exc:
        allowed = ", ".join(sorted(exc.valid_methods or ()))
        return errors.ApiError(405, dict(errors.METHOD_NOT_ALLOWED), {"Allow": allowed}), {}
    except HTTPException:  # NotFound; no rule redirects (strict_slashes and merge_slashes are off)
        return errors.not_found(), {}
    return BY_ENDPOINT[str(endpoint)], dict(values)

"""schemathesis over real HTTP against `python -m mock_api --no-control`: the published document, stateless and
stateful (its links: POST -> task, list -> item), no failure. Bounded: few examples, short step chains."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from mock_api.contract.spec import check_response
from mock_api.service.scopes import READ, WRITE
from support import RunningServer, examples, running_server

pytestmark = pytest.mark.slow  # schemathesis over a real server in a subprocess

# negative_data_rejection: the real API accepts what the schema calls invalid (unknown query parameters
# are dropped, a bad POST body gets 202 and fails in its task). positive_data_acceptance: a well-formed
# continuation_key that names no found set is a documented 400. See test_schemathesis.py.
EXCLUDED: list[Any] = [negative_data_rejection, positive_data_acceptance]
BOUNDED = settings(max_examples=examples(15), deadline=None, suppress_health_check=list(HealthCheck), database=None)


@pytest.fixture(scope="module")
def served() -> Iterator[RunningServer]:
    # --no-control: the document then has no /_mock paths, so every published operation is fuzzed.
    with running_server("--no-control") as server:
        yield server


@pytest.fixture(scope="module")
def token(served: RunningServer) -> str:
    got = requests.post(f"{served.url}/api/jwt", params={"scope": f"{READ} {WRITE}"},
                        headers={"Authorization": "dev-readwrite"}, timeout=30)
    assert got.status_code == 200, got.text
    return str(got.json()["jwt"])


@pytest.fixture(scope="module")
def http_schema(served: RunningServer) -> Any:
    return schemathesis.openapi.from_url(f"{served.url}/openapi.json")


def credentials(path: str, token: str) -> dict[str, str]:
    """The documented credentials: the raw key on /api/jwt, a Bearer token elsewhere."""
    return {"Authorization": "dev-readwrite" if path == "/api/jwt" else f"Bearer {token}"}


def check_our_way(response: Any) -> None:
    """No 5xx, and our own validator (it also pins field order, which schemathesis does not know)."""
    assert response.status_code < 500
    headers = {name: values[0] for name, values in response.headers.items()}
    problems = check_response(str(response.request.method), urlsplit(str(response.request.url)).path,
                              response.status_code, headers, response.content)
    assert not problems, [str(p) for p in problems]


def test_the_published_document_has_no_mock_paths(http_schema: Any) -> None:
    paths = {operation.ok().path for operation in http_schema.get_all_operations()}
    assert paths and not any(p.startswith("/_mock") for p in paths)


def test_every_operation_conforms_over_http(http_schema: Any, token: str) -> None:
    # One hypothesis run per operation, in this test: the schema is only known once the server runs.
    for result in http_schema.get_all_operations():
        operation = result.ok()

        @BOUNDED
        @given(case=operation.as_strategy())
        def conforms(case: Any) -> None:
            response = case.call_and_validate(headers=credentials(case.path, token), excluded_checks=EXCLUDED,
                                              timeout=30)
            check_our_way(response)

        conforms()


def test_stateful_links_conform_over_http(http_schema: Any, token: str) -> None:
    base = http_schema.as_state_machine()

    class Machine(base):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            # A case with an Authorization of its own (schemathesis testing refusals) keeps it.
            return {"headers": credentials(case.path, token), "timeout": 30}

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None,
                              **kwargs: Any) -> None:
            case.validate_response(response, excluded_checks=EXCLUDED)
            check_our_way(response)

    Machine.run(settings=settings(BOUNDED, max_examples=examples(10), stateful_step_count=4))

"""schemathesis against the app in-process (WSGI): no 500s, every response conforms, auth is enforced."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from mock_api.config import MockConfig
from mock_api.contract.spec import check_response
from mock_api.http.app import create_app
from mock_api.service.scopes import READ, WRITE
from support import FROZEN_AT, examples, token_for

pytestmark = pytest.mark.slow  # schemathesis generates requests for every operation

# One app for the run: schemathesis builds its tests at import. The clock is frozen and /_mock is not
# fuzzed (it would move the clock and expire the token), so a token fetched once stays valid.
APP = create_app(MockConfig(frozen_clock_at=FROZEN_AT))
TOKEN = token_for(APP.test_client(), "dev-readwrite", (READ, WRITE))
schema = schemathesis.openapi.from_wsgi("/openapi.json", APP).include(path_regex="^/api/")


@schema.parametrize()
@settings(max_examples=examples(25), deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_api_conforms_to_openapi(case: schemathesis.Case[Any]) -> None:
    # The documented credentials: the raw key on /api/jwt, a Bearer token elsewhere. schemathesis's
    # ignored_auth check then replays without them and expects the refusal the document describes.
    secret = "dev-readwrite" if case.path == "/api/jwt" else f"Bearer {TOKEN}"
    # negative_data_rejection is off on purpose: the real API accepts what the schema calls invalid.
    # Unknown query parameters are silently dropped (portal intro), a bad POST body gets 202 and fails in
    # the task (seed 000); unusable paging values fall back to the defaults (our choice, query.parse_page).
    # positive_data_acceptance is off too: a well-formed continuation_key that names no found set is a
    # documented 400, which that check counts as refusing valid input.
    response = case.call_and_validate(headers={"Authorization": secret},
                                      excluded_checks=[negative_data_rejection, positive_data_acceptance])
    assert response.status_code < 500
    # Our own validator too: it also pins field order (x-field-order), which schemathesis does not know.
    headers = {name: values[0] for name, values in response.headers.items()}
    path = urlsplit(str(response.request.url)).path
    problems = check_response(str(response.request.method), path, response.status_code, headers, response.content)
    assert not problems, [str(p) for p in problems]

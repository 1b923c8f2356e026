"""After the view: X-Request-ID on every answer, and each API request observed once (http/pipeline.observe)."""
from __future__ import annotations

import time

from flask import Response, g, request

from mock_api.http.faults import FAULT_KEY
from mock_api.http.pipeline import Call, Parts, begin
from mock_api.http.pipeline import observe as observe_call
from mock_api.http.views.common import flask_plain_request, mock_state
from mock_api.http.views.control import is_control_path


def observe(response: Response) -> Response:
    """An after_request hook: X-Request-ID on every answer; one observation of each API request."""
    state = mock_state()
    call: Call | None = g.get("call")
    if call is None:  # a request refused before the first hook ran
        call = begin(state, flask_plain_request(state), time.perf_counter())
    response.headers["X-Request-ID"] = call.request_id
    if is_control_path(call.request.path):
        return response
    # A streamed body is not read here (it is the client's): no JSON, so nothing for the bookkeeping to parse.
    body = b"" if response.is_streamed else response.get_data()
    answer = Parts(response.status_code, list(response.headers.items()), body)
    args = request.args
    observe_call(state, call, answer, request.environ.get(FAULT_KEY), args.to_dict(flat=False) if args else {})
    return response

"""Contract tools: the OpenAPI document, strict mode, coverage, the request journal and `verify`."""
from __future__ import annotations

from mock_api.contract.strict import format_violations

__all__ = ["format_violations"]

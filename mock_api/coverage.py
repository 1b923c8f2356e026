"""Public import path kept from 0.1: the coverage summary now lives in `mock_api.contract.coverage`."""
from __future__ import annotations

from mock_api.contract.coverage import format_coverage_summary

__all__ = ["format_coverage_summary"]

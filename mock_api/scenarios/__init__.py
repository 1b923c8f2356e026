"""Scenarios as data: the catalog of YAML scenario files and the effects their rules apply."""
from __future__ import annotations

from mock_api.scenarios.catalog import Scenario, ScenarioCatalog, ScenarioError, load_scenario_file

__all__ = ["Scenario", "ScenarioCatalog", "ScenarioError", "load_scenario_file"]

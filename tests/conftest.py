"""Shared fixtures (snapshot, state, app, client, tokens on a frozen clock) and the Hypothesis profiles.

`--mock-api-scenario NAME` starts every server the tests run over real HTTP (support.running_server) with
that scenario, as it does the plugin's; tests marked `lenient` are then left out. `make test` runs the
HTTP-level tests so a second time, under `pessimistic`. The in-process `state` stays on `default`: its
unit tests pin the default's exact clock arithmetic.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest

# Imported here, in the outer process, although mock_api imports PyYAML only when it must parse: the
# plugin's tests run pytest in-process (pytester), which restores sys.modules after each run. A first
# import of yaml inside such a run is dropped after it, and a second import builds a new yaml module over
# the C extension `_yaml` kept from the first: its parser then makes nodes the new constructor does not
# know ("could not determine a constructor for the tag None"). Run alone, test_pytest_plugin.py failed so.
import yaml  # noqa: F401
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings

import support
from badinput import tokens
from mock_api.config import MockConfig
from mock_api.data.fixtures import load_fixtures
from mock_api.http.app import create_app
from mock_api.service.dataset import Dataset, build_dataset
from mock_api.service.scopes import READ, WRITE
from mock_api.state import MockState
from mock_api.testing.options import session_scenario
from support import DEV_EXAMPLES, FROZEN_AT, bearer, token_for, validating

# Hypothesis's defaults (100 examples, 200 ms deadline) and the tests' own counts under ci; 20 at most under dev.
settings.register_profile("ci")
settings.register_profile("dev", max_examples=DEV_EXAMPLES)
settings.load_profile(support.HYPOTHESIS_PROFILE)

# The plugin's tests run small consumer test suites in a temporary directory, as a user would.
pytest_plugins = ["pytester"]

LENIENT = "lenient"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{LENIENT}(reason): the test relies on a lenient choice of the default "
                                       "scenario (or on default being the start-up one); left out when the suite "
                                       "runs under --mock-api-scenario")
    support.SUITE_SCENARIO = session_scenario(config)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if session_scenario(config) is None:
        return
    left_out = [item for item in items if item.get_closest_marker(LENIENT) is not None]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item.get_closest_marker(LENIENT) is None]


@pytest.fixture(scope="session")
def dataset() -> Dataset:
    config = MockConfig()
    return build_dataset(load_fixtures(config.fixtures_dir), config.seed, config.students)


@pytest.fixture(scope="module")
def token_set(dataset: Dataset) -> dict[str, str]:
    """Valid tokens of each account and every kind of broken one (badinput.tokens), by name."""
    return tokens(dataset)


@pytest.fixture
def state(dataset: Dataset) -> MockState:
    return MockState(MockConfig(frozen_clock_at=FROZEN_AT), dataset=dataset)


@pytest.fixture
def app(state: MockState) -> Flask:
    """Its test clients check every response against openapi.yaml (support.ValidatingClient)."""
    return validating(create_app(state=state))


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as test_client:
        yield test_client


@pytest.fixture
def rw(client: FlaskClient) -> dict[str, str]:
    """Headers of a token with petitions read and write."""
    return bearer(token_for(client, "dev-readwrite", (READ, WRITE)))


@pytest.fixture
def ro(client: FlaskClient) -> dict[str, str]:
    """Headers of a token with petitions read only."""
    return bearer(token_for(client, "dev-readonly", (READ,)))

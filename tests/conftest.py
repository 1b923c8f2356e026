"""Shared fixtures: one snapshot per session, a fresh state, app and client per test, on a frozen clock."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mock_api.app import create_app
from mock_api.config import MockConfig
from mock_api.dataset import Dataset, build_dataset
from mock_api.fixtures import load_fixtures
from mock_api.state import MockState
from support import READ, WRITE, bearer, token_for, validating

# The plugin's tests run small consumer test suites in a temporary directory, as a user would.
pytest_plugins = ["pytester"]

FROZEN_AT = 1732131053.0  # the seed requester's iat: 2024-11-20T19:30:53Z


@pytest.fixture(scope="session")
def dataset() -> Dataset:
    config = MockConfig()
    return build_dataset(load_fixtures(config.fixtures_dir), config.seed, config.students)


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

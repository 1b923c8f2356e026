"""One of each: the version, the scope names and the start-up timeout each have one source."""
from __future__ import annotations

import re
import tomllib
from importlib.metadata import version

import mock_api
from mock_api import config
from mock_api.contract.spec import load_spec
from mock_api.http.views import petitions
from mock_api.contract import verify
from mock_api.testing import harness, plugin

from support import ROOT


def test_the_version_is_pyprojects_everywhere() -> None:
    literal = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", literal)
    assert version("mock_api") == literal
    assert mock_api.__version__ == literal
    assert load_spec()["info"]["version"] == literal  # openapi.yaml's info.version follows pyproject


def test_no_other_version_literal_in_the_package() -> None:
    assert "__version__ = \"" not in (ROOT / "mock_api" / "__init__.py").read_text(encoding="utf-8")


def test_scope_names_come_from_one_module() -> None:
    from mock_api.service import scopes

    assert (scopes.READ, scopes.WRITE) == ("api:academic:petitions:read", "api:academic:petitions:write")
    assert petitions.READ is scopes.READ and verify.WRITE is scopes.WRITE
    for module in (petitions, verify):
        assert '= "api:academic:petitions:' not in open(module.__file__, encoding="utf-8").read()  # type: ignore[arg-type]


def test_one_startup_timeout() -> None:
    assert plugin.DEFAULT_STARTUP_TIMEOUT is config.DEFAULT_STARTUP_TIMEOUT
    assert harness.DEFAULT_STARTUP_TIMEOUT is config.DEFAULT_STARTUP_TIMEOUT == 10.0

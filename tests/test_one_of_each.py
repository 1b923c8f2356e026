"""One of each: the version, the scope names and the start-up timeout each have one source."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import mock_api
from mock_api import config, testing
from mock_api.contract import verify
from mock_api.contract.spec import load_spec
from mock_api.http import routes
from mock_api.testing import plugin
from support import ROOT


def test_the_version_is_pyprojects_everywhere() -> None:
    found = re.findall(r'(?m)^version = "([^"]+)"$', (ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert len(found) == 1  # [project] version, the one literal
    literal = found[0]
    assert version("mock_api") == literal
    assert mock_api.__version__ == literal
    assert load_spec()["info"]["version"] == literal  # openapi.yaml's info.version follows pyproject


def test_no_other_version_literal_in_the_package() -> None:
    assert not re.search(r'"\d+\.\d+\.\d+"', (ROOT / "mock_api" / "__init__.py").read_text(encoding="utf-8"))


def test_scope_names_come_from_one_module() -> None:
    from mock_api.service import scopes

    assert (scopes.READ, scopes.WRITE) == ("api:academic:petitions:read", "api:academic:petitions:write")
    assert vars(routes)["READ"] is scopes.READ and vars(verify)["WRITE"] is scopes.WRITE
    for module in (routes, verify):
        assert '= "api:academic:petitions:' not in Path(str(module.__file__)).read_text(encoding="utf-8")


def test_one_startup_timeout() -> None:
    assert vars(plugin)["DEFAULT_STARTUP_TIMEOUT"] is config.DEFAULT_STARTUP_TIMEOUT
    assert testing.DEFAULT_STARTUP_TIMEOUT is config.DEFAULT_STARTUP_TIMEOUT == 10.0  # the public name


def test_an_uninstalled_source_tree_still_imports(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "mock_api", tmp_path / "mock_api")
    # -S: no site-packages, so no installed mock_api metadata (the copy's dependencies are not needed here).
    done = subprocess.run([sys.executable, "-S", "-c", "import mock_api; print(mock_api.__version__)"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout == "0+unknown\n"

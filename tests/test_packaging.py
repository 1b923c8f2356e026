"""The wheel holds every module: pyproject.toml's package list names every folder of mock_api/."""
from __future__ import annotations

import ast
import re

from support import ROOT

PACKAGE = ROOT / "mock_api"


def test_every_folder_of_the_package_is_in_pyproject_packages() -> None:
    # The list is a TOML array of strings, which reads as a Python list (tomllib is 3.11+; we support 3.10).
    found = re.search(r"^packages = (\[[^\]]*\])", (ROOT / "pyproject.toml").read_text(encoding="utf-8"), re.M)
    assert found is not None
    listed = set(ast.literal_eval(found.group(1)))
    folders = {".".join(path.relative_to(ROOT).parts) for path in [PACKAGE, *PACKAGE.rglob("*")]
               if path.is_dir() and path.name != "__pycache__" and any(path.iterdir())}
    assert folders - listed == set(), "add these to [tool.setuptools] packages, or they are not installed"


def test_the_version_is_importlib_metadatas() -> None:
    import importlib.metadata

    from mock_api.config import VERSION, _installed_version

    assert VERSION == _installed_version() == importlib.metadata.version("mock_api")

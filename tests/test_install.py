"""Installing mock_api into a consumer's project as the README and docs/ci.md say: git URL, path, wheel."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from support import ROOT

MARKER = "<!-- run by tests/test_install.py"
PLACEHOLDER = "https://git.example.edu/tools/mock_api@v0.1.0"
NOT_SOURCE = shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache",
                                    ".hypothesis", "mock_api-artifacts")


def install_lines() -> list[tuple[str, str]]:
    """(file, line) of every install block marked as run here."""
    lines = []
    for path in (ROOT / "README.md", ROOT / "docs" / "ci.md"):
        text = path.read_text(encoding="utf-8")
        for block in re.findall(re.escape(MARKER) + r"[^\n]*\n```sh\n(.*?)```", text, flags=re.S):
            lines += [(path.name, line) for line in block.splitlines() if line.strip()]
    return lines


LINES = install_lines()


def test_the_documented_forms_are_a_git_url_a_path_and_a_wheel() -> None:
    readme = [line for name, line in LINES if name == "README.md"]
    assert readme == [f'pip install "mock_api @ git+{PLACEHOLDER}"', "pip install ./mock_api",
                      "pip wheel --no-deps -w dist ./mock_api && pip install dist/mock_api-*.whl"]
    assert [line for name, line in LINES if name == "ci.md"] == [
        f'python -m pip install "mock_api @ git+{PLACEHOLDER}"', "python -m pip install ./mock_api"]


@pytest.fixture(scope="module")
def consumer_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A consumer's folder holding a copy of this checkout as ./mock_api, and a git clone's file:// URL."""
    home = tmp_path_factory.mktemp("consumer")
    shutil.copytree(ROOT, home / "mock_api", ignore=NOT_SOURCE)
    clone = tmp_path_factory.mktemp("git") / "mock_api"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], check=True, capture_output=True,
                            text=True).stdout.strip()
    return home, f"file://{clone}@{commit}"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
@pytest.mark.parametrize(("doc", "line"), LINES, ids=[f"{n}:{line.split()[-1]}" for n, line in LINES])
def test_each_install_line_installs_a_working_mock_api(doc: str, line: str, consumer_project: tuple[Path, str],
                                                       tmp_path: Path) -> None:
    home, git_url = consumer_project
    shutil.rmtree(home / "dist", ignore_errors=True)
    target = tmp_path / "site"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, command in (("pip", "-m pip"), ("python", "")):  # this test's Python, as the user's would be
        (bin_dir / name).write_text(f'#!/bin/sh\nexec "{sys.executable}" {command} "$@"\n')
        (bin_dir / name).chmod(0o755)
    # Offline and fast: no dependencies (this environment has them), no index, no build isolation (the dev
    # extra installs the build backend); the package goes into a folder of its own, put first on sys.path.
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PIP_NO_DEPS": "1",
           "PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0", "PIP_TARGET": str(target),
           "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    done = subprocess.run(["bash", "-e", "-c", line.replace(PLACEHOLDER, git_url)], cwd=home, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    # -S: no .pth files, so this checkout's editable install (a finder that serves any mock_api module
    # from here) cannot hide a module the install left out; the dependencies come from site-packages.
    site_packages = sysconfig.get_paths()["purelib"]
    check = subprocess.run([sys.executable, "-S", "-c", "import mock_api, sys; print(mock_api.__file__); "
                            "from mock_api.cli import main; sys.exit(main(['scenarios']))"],
                           cwd=tmp_path, env={**os.environ, "PYTHONPATH": f"{target}{os.pathsep}{site_packages}"},
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr
    first, *scenarios = check.stdout.splitlines()
    assert first == str(target / "mock_api" / "__init__.py")  # the installed copy, not this checkout
    assert any(line.startswith("default ") for line in scenarios)  # the YAML data ships in the package
    assert (target / "bin" / "mock-api").is_file()

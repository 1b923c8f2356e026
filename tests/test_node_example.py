"""examples/node: the Node consumer's node:test suite, run by `make test` so that its output shows there."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from support import ROOT

pytestmark = pytest.mark.slow  # node starts a mock_api subprocess


def test_the_node_consumer_suite_passes(capsys: pytest.CaptureFixture[str]) -> None:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node is not installed: CI must install it (`make test` installs Debian's nodejs as root)",
                        pytrace=False)
        pytest.skip("node is not installed (Debian package nodejs; `make test` installs it when run as root)")
    env = {**os.environ, "MOCK_API_COMMAND": f"{sys.executable} -m mock_api"}
    got = subprocess.run([node, "--test", "examples/node"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=180, check=False)
    assert got.returncode == 0, got.stdout + got.stderr
    with capsys.disabled():  # in `make test`'s output: the Node run's own summary
        summary = [line for line in got.stdout.splitlines() if line.startswith(("# tests", "# pass", "# fail"))]
        sys.stdout.write(f"\nexamples/node ({node} --test): {', '.join(s.removeprefix('# ') for s in summary)}\n")
    assert "# pass 2" in got.stdout and "# fail 0" in got.stdout

"""The one error prefix and one-line argparse errors, shared by every command line of the package."""
from __future__ import annotations

import argparse
import sys

PROG = "mock-api"
ERROR_PREFIX = "mock_api: error: "
EXIT_USAGE = 2


def fail(message: str) -> int:
    """Print one error line on stderr with the one prefix; the exit status of a usage error."""
    print(f"{ERROR_PREFIX}{message}", file=sys.stderr, flush=True)
    return EXIT_USAGE


class OneLineParser(argparse.ArgumentParser):
    """argparse, but every error is one line on stderr (no usage block), exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{ERROR_PREFIX}{message} (see --help)\n")

"""The one error prefix and one-line argparse errors, shared by every command line of the package."""
from __future__ import annotations

import argparse
import sys
from typing import Any

PROG = "mock-api"
ERROR_PREFIX = "mock_api: error: "
EXIT_USAGE = 2


def fail(message: str) -> int:
    """Print one error line on stderr with the one prefix; the exit status of a usage error."""
    print(f"{ERROR_PREFIX}{message}", file=sys.stderr, flush=True)
    return EXIT_USAGE


class OneLineParser(argparse.ArgumentParser):
    """argparse, but every error is one line on stderr (no usage block), exit 2; it keeps the options it was
    given (`options`, from add_argument's public return value, groups' too), which MOCK_API_* reads."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.options: list[argparse.Action] = []  # before argparse's own __init__ adds --help
        super().__init__(*args, **kwargs)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        self.options.append(action)
        return action

    def add_argument_group(self, *args: Any, **kwargs: Any) -> Any:
        group = super().add_argument_group(*args, **kwargs)
        add = group.add_argument

        def recorded(*names: Any, **settings: Any) -> argparse.Action:
            action = add(*names, **settings)
            self.options.append(action)
            return action

        group.add_argument = recorded  # type: ignore[method-assign]
        return group

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{ERROR_PREFIX}{message} (see --help)\n")

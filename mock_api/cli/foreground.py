"""`make serve`'s entry: the server takes the terminal's foreground, so Ctrl-C stops it and make exits 0."""
from __future__ import annotations

import contextlib
import os
import signal
import sys

from mock_api.cli import main


def take_terminal() -> None:
    """Own process group in the terminal's foreground: Ctrl-C reaches the server, not make (which would exit 130).

    make dies of a SIGINT it receives whatever its recipe does; a server alone in the foreground gets
    the signal, stops cleanly with 0, and make then finishes with that status. No terminal (CI): a no-op.
    """
    if not os.isatty(sys.stdin.fileno()):
        return
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
        previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)  # a background group may not take it otherwise
        try:
            os.tcsetpgrp(sys.stdin.fileno(), os.getpgrp())
        finally:
            signal.signal(signal.SIGTTOU, previous)


if __name__ == "__main__":
    take_terminal()
    raise SystemExit(main())

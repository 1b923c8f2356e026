"""Progress of long start-up work on stderr: one updating line on a terminal, a line every few seconds otherwise."""
from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

from mock_api.data import PROGRESS_LOGGER

TTY_EVERY = 0.1  # seconds between redraws of the one line on a terminal
PLAIN_EVERY = 3.0  # seconds between lines in a log file or CI output


class ProgressLine(logging.Handler):
    """Shows `done`/`total` records of the progress logger, throttled; the last one always."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream
        self.tty = stream.isatty()
        self.every = TTY_EVERY if self.tty else PLAIN_EVERY
        self.shown_at = 0.0
        self.open_line = False

    def emit(self, record: logging.LogRecord) -> None:
        done, total = int(getattr(record, "done", 0)), int(getattr(record, "total", 0))
        now = time.monotonic()
        if done < total and now - self.shown_at < self.every:
            return
        self.shown_at = now
        text = f"mock_api: {record.getMessage()}: {done:,} of {total:,} ({100 * done // max(total, 1)}%)"
        if self.tty:
            self.stream.write("\r" + text + ("\n" if done >= total else ""))
            self.open_line = done < total
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


_handler: ProgressLine | None = None


def show_progress(quiet: bool, stream: TextIO | None = None) -> None:
    """Show the progress logger's records on stderr, unless quiet."""
    global _handler
    logger = logging.getLogger(PROGRESS_LOGGER)
    logger.propagate = False
    if quiet:
        return
    _handler = ProgressLine(stream or sys.stderr)
    logger.addHandler(_handler)
    logger.setLevel(logging.INFO)


def finish_progress() -> None:
    """End an unfinished terminal line (an error mid-way) and stop showing progress."""
    global _handler
    if _handler is None:
        return
    if _handler.open_line:
        _handler.stream.write("\n")
    logging.getLogger(PROGRESS_LOGGER).removeHandler(_handler)
    _handler = None

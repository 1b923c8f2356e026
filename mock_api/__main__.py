"""Entry point of `python -m mock_api`."""
from __future__ import annotations

import gc

# What the command line imports lives as long as the process: the cyclic GC's passes over it while it
# loads are wasted work (serve() freezes it all anyway). Paused here and again while the app is built.
gc.disable()
from mock_api.cli import main  # noqa: E402

gc.enable()
raise SystemExit(main())

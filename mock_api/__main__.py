"""Entry point of `python -m mock_api`."""
from __future__ import annotations

from mock_api.cli import main

raise SystemExit(main())

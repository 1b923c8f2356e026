"""`python -m mock_api.contract VIOLATIONS.json`: print saved violations readably (kept for CI scripts)."""
from __future__ import annotations

from mock_api.contract.strict import main

raise SystemExit(main())

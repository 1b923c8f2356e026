"""The one rule for names a client chooses (scenarios, sessions): letters, digits, _ or -, 1 to 64 of them."""
from __future__ import annotations

import re

# Bounded: a name becomes a file name (a scenario's `{name}.yaml`) or a registry key (a session), and an
# unbounded one made the file system raise "file name too long" (a 500).
NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")

"""The scope names of the petitions slice, as the real API grants them (seeds/000): one place for all."""
from __future__ import annotations

READ = "api:academic:petitions:read"
WRITE = "api:academic:petitions:write"

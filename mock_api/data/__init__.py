"""The data at the bottom: fixture files, generated rows and their disk cache, merged into one snapshot."""
from __future__ import annotations

# Progress of a large generation (the command line shows it on stderr; mock_api/cli/progress.py). Here, not in
# generate.py, so that listening to it does not import faker (slow to import) on every start.
PROGRESS_LOGGER = "mock_api.progress"

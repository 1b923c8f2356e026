"""The emulated Dartmouth service with no HTTP: tasks and writes, indexes, queries, tokens, errors, clock, ids."""

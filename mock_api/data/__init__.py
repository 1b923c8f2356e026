"""The data at the bottom: fixture files, generated rows and their disk cache, merged into one snapshot."""

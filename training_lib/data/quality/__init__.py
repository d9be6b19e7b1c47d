"""Per-file quality: decoder checks, flags and scores, duplicates, and the scan's report."""

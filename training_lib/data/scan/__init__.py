"""Scanning a data root: walk it, probe new and changed files in workers, update the catalog."""

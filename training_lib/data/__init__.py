"""Data: scanning, type detection, quality, catalog, validation, routing, features."""

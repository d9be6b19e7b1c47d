"""Features: files decoded into fixed-shape arrays, cached once per file version."""

"""A ceiling on what the catalog stores about one file.

A decoder's facts about a file (`FileRecord.meta`) are copied into the catalog row, the
snapshot, the run's records.jsonl and `scan --json`, once per file and scan. A CSV whose
header has ten million cells once made a 119 MB catalog line; here a list keeps its
first `MAX_ITEMS` entries (its full length is kept as `n_<key>`), and if the JSON is
still over `MAX_META_BYTES` the biggest values give way to a note of what was dropped.

>>> bound_meta({"columns": [f"c{i}" for i in range(5000)]})["n_columns"]
5000
"""
from __future__ import annotations

import json
from typing import Any

MAX_ITEMS = 1000  # entries of one list (column names, page sizes, ...)
MAX_META_BYTES = 64 * 1024  # JSON of one file's meta


def bound_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """`meta` itself when within bounds, else a bounded copy saying what was cut."""
    out = meta
    for key, value in meta.items():
        if isinstance(value, (list, tuple)) and len(value) > MAX_ITEMS:
            if out is meta:
                out = dict(meta)
            out[key] = list(value[:MAX_ITEMS])
            out.setdefault(f"n_{key}", len(value))
            out["truncated_keys"] = [*out.get("truncated_keys", ()), key]
    if _json_size(out) <= MAX_META_BYTES:
        return out
    sizes = {key: _json_size(value) for key, value in out.items()}
    out = dict(out)
    dropped = []
    for key in sorted(sizes, key=sizes.__getitem__, reverse=True):
        if _json_size(out) <= MAX_META_BYTES - 1024:  # room for the note below
            break
        del out[key]
        dropped.append(key)
    out["dropped_keys"] = dropped[:50]
    return out


def _json_size(value: Any) -> int:
    return len(json.dumps(value, default=str))

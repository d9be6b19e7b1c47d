"""Reading and writing the run folder's JSON files.

JSON files are replaced atomically (written to a temporary name, then renamed), so a
reader in another process sees the old file or the new one, never half of one. JSONL
files are appended to by live processes that may be killed mid-line: readers skip a
torn or foreign line instead of failing.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_json(path: Path, data: Any) -> Path:
    """Replace `path` with `data` as indented JSON, atomically; creates the parent folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    tmp.replace(path)
    return path


def read_json(path: Path, default: Any = None) -> Any:
    """The JSON value of `path`, or `default` when the file does not exist."""
    return json.loads(path.read_text()) if path.exists() else default


def read_json_or_none(path: Path) -> Any:
    """The JSON value of a file another process rewrites (a heartbeat): None when it is
    missing or unreadable at this instant."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def append_jsonl(path: Path, entry: dict[str, Any]) -> dict[str, Any]:
    """Append one JSON object as a line (one short write with O_APPEND: atomic enough)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, default=str) + "\n")
    return entry


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSONL file; a missing file is empty, a torn or foreign line
    (a process killed mid-write) is skipped."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict):
            out.append(item)
    return out

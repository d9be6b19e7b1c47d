"""JSON records of a model's files: read defensively, deduplicated, split per record."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Iterator

from training_lib.data.loaders.registry import LoadRequest
from training_lib.data.loaders.splits import split_fractions
from training_lib.data.records import canonical_key, record_format, split_of
from training_lib.errors import DataError

log = logging.getLogger(__name__)
MAX_JSON_BYTES = 64 * 1024 * 1024  # also the size limit of a table a loader reads


def iter_records(path: Path) -> Iterator[Any]:
    """Records of a .json (list, or {"records": [...]}) or .jsonl file, read defensively."""
    if path.stat().st_size > MAX_JSON_BYTES:
        raise DataError(f"{path}: larger than {MAX_JSON_BYTES} bytes, not loaded")
    text = path.read_text(encoding="utf-8", errors="strict")
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = None
        if data is not None:
            if isinstance(data, dict):
                data = data.get("records", [data])
            yield from (data if isinstance(data, list) else [])
            return
    for line in text.splitlines():
        if line.strip():
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue


def records_of(req: LoadRequest, fmt: str) -> list[tuple[str, dict]]:
    """(split, record) for every record of format `fmt` in the model's files; a record
    in two files counts once (`records.canonical_key(record)` is its sample key)."""
    out: list[tuple[str, dict]] = []
    seen: set[str] = set()
    for rec in req.records:
        try:
            for item in iter_records(req.data_root / rec.path):
                if record_format(item) != fmt:
                    continue
                key = canonical_key(item)
                if key in seen:
                    continue
                seen.add(key)
                out.append((split_of(key, split_fractions(req.settings)), item))
        except (OSError, UnicodeDecodeError, DataError) as e:
            log.warning("skipping %s: %s", rec.path, e)
    cap = req.settings.max_samples_per_model
    return out[:cap] if cap else out

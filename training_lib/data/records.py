"""The catalog's unit (`FileRecord`) and the JSON record formats models consume.

A JSON/JSONL file holds records in one of the original project's formats; the
scanner stores the format it found in `FileRecord.meta["record_format"]`, and
routing sends the file to the models that consume "records:<format>".
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from training_lib.config.record_fields import FORMATS, plausible

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class FileRecord:
    """One version of one file of a data root, as the catalog stores it."""

    path: str  # relative to the data root, POSIX separators
    size: int
    mtime_ns: int
    content_hash: str  # sha256 hex of the bytes
    type: str  # a registered file type (config.file_types): image, audio, json, code, ...
    format: str  # png, jpeg, wav, flac, json, jsonl, csv, pdf, docx, python, ...
    label: str | None = None
    split: str = "train"
    score: float = 1.0  # quality in [0, 1]
    flags: tuple[str, ...] = ()  # machine-readable reasons: "truncated", "duplicate", ...
    meta: dict[str, Any] = field(default_factory=dict)  # width/height/duration/encoding/...

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["flags"] = list(self.flags)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "FileRecord":
        return cls(**{**data, "flags": tuple(data.get("flags", ()))})


# record format -> the canonical keys a record of it must have (config/record_fields.py
# holds the formats, their optional fields and the synonyms of each field)
RECORD_FORMATS: dict[str, tuple[str, ...]] = {
    name: fmt.required or fmt.some_of for name, fmt in FORMATS.items()}


def shown(name: str) -> str:
    """A file name for people and UTF-8 files: bytes of the name that are not UTF-8 (held
    as surrogate escapes, as the file system gave them) are written as `\\xff`.

    >>> shown("bad\\udcff.txt")
    'bad\\\\xff.txt'
    """
    if name.isascii():
        return name
    try:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate no file system produced
        return name.encode("utf-8", "backslashreplace").decode("utf-8")


def record_format(record: object) -> str | None:
    """The format a decoded JSON record matches, or None.

    Canonical keys are tried first, for every format, so a record in the project's own
    names is never taken for another format through a synonym; then the synonyms of
    `config.record_fields` (`{"caption": ..., "image": ..., "digit": 3}` is a pair).
    """
    if not isinstance(record, dict):
        return None
    for canonical_only in (True, False):
        for name, fmt in FORMATS.items():
            mapping = fmt.resolve(record, canonical_only=canonical_only)
            if mapping is not None and (canonical_only or plausible(name, record, mapping)):
                return name
    return None


def records_in(doc: Any) -> list[Any]:
    """The records a decoded JSON document holds (a JSONL file's are its lines).

    A list holds its items; a dict that is itself a record holds itself; a dict with
    one list of records under a key (`{"records": [...]}`) holds that list; any other
    dict is a single record that matches no format.
    """
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        if record_format(doc) is not None:
            return [doc]
        lists = [v for v in doc.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
        if len(lists) == 1:
            return lists[0]
    return [doc]


def split_of(key: str | bytes, fractions: tuple[float, float] = (0.15, 0.15)) -> str:
    """Deterministic split from a content key: stable across rescans and machines.

    `fractions` are (validation, test). The hash is uniform, so each class gets
    its share in expectation.
    """
    digest = hashlib.sha256(key if isinstance(key, bytes) else key.encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    val, test = fractions
    if u < test:
        return "test"
    if u < test + val:
        return "val"
    return "train"


def split_key(record: FileRecord) -> str:
    """The key a file's split is drawn from (`split_of`): its content hash, or for a near
    duplicate the content hash of its group's first file (`quality.duplicates` stores it
    as `meta["split_key"]`), so every copy of a picture or text lands in one split."""
    return record.meta.get("split_key") or record.content_hash


def canonical_key(record: Any) -> str:
    """A stable key for one JSON record (used for record-level splits and dedup)."""
    return hashlib.sha256(json.dumps(record, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

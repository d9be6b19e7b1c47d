"""Knowledge artifacts in the run folder, never in XCom.

    knowledge/round_<k>/
        summary.json         what ran: participants (finished / skipped and why),
                             label alignment, per-student counts, shared tables
        <student>.npz        targets for one student's next round (StudentKnowledge)
        shared_text.npz      merged byte embedding tables, one per width

Files are written to a temporary name and renamed, so a reader sees a whole file
or none; rerunning a round's share task rewrites the same files (idempotent).
"""
from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SUMMARY = "summary.json"
SHARED_TEXT = "shared_text.npz"


@dataclass
class StudentKnowledge:
    """What one student learns from its peers: rows of its own input format.

    `x` holds the student's view of n paired items in its training split; `cotrain`
    (n, C) the co-training soft targets (0 where not `confident`), `distill` (n, C)
    the peers' softened distribution (0 where none). `keys` name the items' views
    (content hash, or the pairs record key for the multimodal model).
    """

    student: str
    classes: list[str]
    x: Any  # array or {input name: array}
    keys: np.ndarray
    cotrain: np.ndarray
    confident: np.ndarray
    distill: np.ndarray
    teachers: np.ndarray  # teachers per item

    def __len__(self) -> int:
        return len(self.keys)


def _atomic_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def write_student(folder: Path, k: StudentKnowledge) -> Path:
    arrays: dict[str, np.ndarray] = {
        "classes": np.asarray(k.classes, dtype=str), "keys": np.asarray(k.keys, dtype=str),
        "cotrain": k.cotrain.astype(np.float32), "confident": k.confident.astype(bool),
        "distill": k.distill.astype(np.float32), "teachers": k.teachers.astype(np.int32)}
    if isinstance(k.x, dict):
        arrays.update({f"x/{name}": v for name, v in k.x.items()})
    else:
        arrays["x"] = k.x
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path = Path(folder) / f"{k.student}.npz"
    _atomic_bytes(path, buffer.getvalue())
    return path


def read_student(folder: Path, student: str) -> StudentKnowledge | None:
    path = Path(folder) / f"{student}.npz"
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as data:
        names = [n for n in data.files if n.startswith("x/")]
        x = {n[2:]: data[n] for n in names} if names else data["x"]
        return StudentKnowledge(student, [str(c) for c in data["classes"]], x, data["keys"],
                                data["cotrain"], data["confident"], data["distill"],
                                data["teachers"])


def write_shared_text(folder: Path, merged: dict[int, np.ndarray]) -> Path:
    buffer = io.BytesIO()
    np.savez(buffer, **{f"width_{w}": t for w, t in merged.items()})
    path = Path(folder) / SHARED_TEXT
    _atomic_bytes(path, buffer.getvalue())
    return path


def read_shared_text(folder: Path) -> dict[int, np.ndarray]:
    path = Path(folder) / SHARED_TEXT
    if not path.is_file():
        return {}
    with np.load(path, allow_pickle=False) as data:
        return {int(n.split("_", 1)[1]): data[n] for n in data.files}


def write_summary(folder: Path, summary: dict[str, Any]) -> Path:
    path = Path(folder) / SUMMARY
    _atomic_bytes(path, json.dumps(summary, indent=2, default=str).encode())
    return path

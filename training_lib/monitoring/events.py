"""Anomaly events in the run store: `RoundFolder.anomalies` (models/<model>/round_<k>/).

One JSON line per event when it is detected; a later line with the same `id` adds
what came of the action (`outcome`), e.g. the checkpoint a rollback went back to.
`read_events` merges them.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from training_lib.runs.folder import RunFolder


@dataclass
class AnomalyEvent:
    id: str
    model: str
    round: int
    step: int
    since_step: int
    kind: str
    severity: str
    action: str  # warn | rollback | stop (what was done), or "warn (no engine)" and the like
    message: str
    time: float = field(default_factory=time.time)
    try_number: int = 1
    value: float | None = None
    threshold: float | None = None
    outcome: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class EventStore:
    """Appends events of one model and round; thread-safe (the sampler thread reports too)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()

    def append(self, event: AnomalyEvent) -> None:
        self._write(event.to_json())

    def update(self, event_id: str, **fields: Any) -> None:
        self._write({"id": event_id, **fields})

    def _write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, default=str) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line)


def read_events(path: Path) -> list[dict[str, Any]]:
    """Events of one anomalies.jsonl, updates merged in, in the order they were detected."""
    merged: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line cut by a kill
        if "id" not in record:
            continue
        merged.setdefault(record["id"], {}).update(record)
    return [e for e in merged.values() if "kind" in e]


def run_events(run_dir: Path) -> list[dict[str, Any]]:
    """Every anomaly event of a run, oldest first."""
    events = []
    for folder in RunFolder(run_dir).rounds():
        events.extend(read_events(folder.anomalies))
    return sorted(events, key=lambda e: (e.get("time", 0), e["model"], e["step"]))

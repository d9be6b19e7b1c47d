"""Where a training run's metrics go besides MLflow: a JSONL file, a heartbeat, the log."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import TextIO


class JsonlSink:
    """Appends one JSON line per logged step: the record reports are drawn from."""

    def __init__(self, path: Path, try_number: int = 1, **fields: object) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.fields = {"try": try_number, **fields}
        self._fh = open(path, "a", encoding="utf-8")

    def log(self, step: int, metrics: dict[str, float]) -> None:
        self._fh.write(json.dumps({"step": step, "time": time.time(), **self.fields,
                                   **metrics}) + "\n")
        self._fh.flush()

    def event(self, kind: str, **data: object) -> None:
        self._fh.write(json.dumps({"event": kind, "time": time.time(), **self.fields, **data})
                       + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


class Heartbeat:
    """Rewrites heartbeat.json (step, time, pid) at most every `interval` seconds.

    The launcher watching the process reads it: no new step within the stall timeout
    means a live process that stopped making progress.
    """

    def __init__(self, path: Path, interval: float = 1.0, total: int | None = None) -> None:
        self.path = path
        self.interval = interval
        self.total = total
        self._last = 0.0
        path.parent.mkdir(parents=True, exist_ok=True)
        self.beat(0, force=True)

    def beat(self, step: int, force: bool = False, paused: str | None = None,
             phase: str = "training") -> None:
        now = time.time()
        if not force and not paused and now - self._last < self.interval:
            return
        self._last = now
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"step": step, "total": self.total, "time": now,
                                   "pid": os.getpid(), "paused": paused, "phase": phase}))
        os.replace(tmp, self.path)


class ProgressPrinter:
    """Prints `model step N/T (epoch e/E) loss .. samples/s .. ETA ..` every few seconds."""

    def __init__(self, model: str, total_steps: int, epochs: int, every_s: float = 5.0,
                 stream: TextIO | None = None) -> None:
        self.model = model
        self.total = total_steps
        self.epochs = epochs
        self.every_s = every_s
        self.stream = stream or sys.stdout
        self._start = time.monotonic()
        self._last = 0.0
        self._first_step: int | None = None

    def log(self, step: int, metrics: dict[str, float]) -> None:
        now = time.monotonic()
        if self._first_step is None:
            self._first_step = step
        if now - self._last < self.every_s and step < self.total:
            return
        self._last = now
        done = step - self._first_step
        rate = done / max(now - self._start, 1e-9)
        eta = f"{(self.total - step) / rate:.0f}s" if rate > 0 else "?"
        loss = metrics.get("loss", metrics.get("epoch_loss", float("nan")))
        print(f"PROGRESS {self.model} step {step}/{self.total} epoch "
              f"{int(metrics.get('epoch', 0))}/{self.epochs} loss {loss:.4f} "
              f"{metrics.get('samples_per_second', 0):.0f} samples/s ETA {eta}",
              file=self.stream, flush=True)

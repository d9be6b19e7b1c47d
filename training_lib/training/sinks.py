"""Where a training run's metrics go besides MLflow: a JSONL file, a heartbeat, the log."""
from __future__ import annotations

import json
import math
import os
import sys
import time
from collections import deque
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
    """Prints `PROGRESS model step N/T epoch e/E loss .. samples/s .. ETA ..` every few seconds.

    Speed and ETA come from a moving window (the last `window_s` seconds) of what the engine
    reported: samples/s is the mean of its per-window rates, the ETA the remaining steps over
    the steps/s seen in the window. Epoch-end records carry no rate; they never turn the
    line into "0 samples/s". No line is printed before a rate is measured, except the last.
    """

    def __init__(self, model: str, total_steps: int, epochs: int, every_s: float = 5.0,
                 stream: TextIO | None = None, window_s: float = 30.0) -> None:
        self.model = model
        self.total = total_steps
        self.epochs = epochs
        self.every_s = every_s
        self.window_s = window_s
        self.stream = stream or sys.stdout
        self._last = time.monotonic()  # the first line after every_s, when a rate exists
        self._steps: deque[tuple[float, int]] = deque()  # (time, global step)
        self._rates: deque[tuple[float, float]] = deque()  # (time, samples/s from the engine)
        self._epoch = 0

    def log(self, step: int, metrics: dict[str, float]) -> None:
        now = time.monotonic()
        self._note(now, step, metrics)
        final = step >= self.total
        if now - self._last < self.every_s and not final:
            return
        steps_per_s = self._steps_per_second()
        if steps_per_s is None and not self._rates and not final:
            return  # nothing measured yet: no "0 samples/s", no "ETA ?"
        self._last = now
        loss = metrics.get("loss", metrics.get("epoch_loss", float("nan")))
        print(f"PROGRESS {self.model} step {step}/{self.total} epoch {self._epoch}/{self.epochs} "
              f"loss {loss:.4f} {self._speed(steps_per_s)} ETA {self._eta(step, steps_per_s)}",
              file=self.stream, flush=True)

    def _note(self, now: float, step: int, metrics: dict[str, float]) -> None:
        self._epoch = int(metrics.get("epoch", self._epoch))
        if not self._steps or step > self._steps[-1][1]:
            self._steps.append((now, step))
        rate = metrics.get("samples_per_second")
        if rate is not None and rate > 0 and math.isfinite(rate):
            self._rates.append((now, float(rate)))
        for points in (self._steps, self._rates):  # keep the window, and at least two points
            while len(points) > 2 and now - points[1][0] >= self.window_s:
                points.popleft()

    def _steps_per_second(self) -> float | None:
        if len(self._steps) < 2:
            return None
        (t0, s0), (t1, s1) = self._steps[0], self._steps[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 and s1 > s0 else None

    def _speed(self, steps_per_s: float | None) -> str:
        if self._rates:
            return f"{sum(r for _, r in self._rates) / len(self._rates):.0f} samples/s"
        return f"{steps_per_s:.1f} steps/s" if steps_per_s else "? samples/s"

    def _eta(self, step: int, steps_per_s: float | None) -> str:
        if step >= self.total:
            return "0s"
        if not steps_per_s:
            return "?"
        seconds = round((self.total - step) / steps_per_s)
        return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"

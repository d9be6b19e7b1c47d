"""Metrics to MLflow from a background thread: training never waits on the server and
never fails because of it.

`log()` only appends to a list. A daemon thread delivers the list every few seconds in
one batched request; when the server is down the metrics stay queued and are delivered
once it is back ("delivered late"). `close()` makes a last attempt with a deadline and
reports what happened, so a gap is stated, never hidden.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, NamedTuple

log = logging.getLogger(__name__)


class Point(NamedTuple):
    key: str
    value: float
    timestamp: int  # ms
    step: int


def _log_batch(run_id: str, metrics: list[Point]) -> None:
    from training_lib.registry.tracking import log_metric_rows

    log_metric_rows(run_id, metrics)


class MlflowMetricSink:
    def __init__(self, run_id: str, *, flush_every_s: float = 5.0, max_backlog: int = 200_000,
                 deliver: Callable[[str, list[Point]], None] | None = None) -> None:
        self.run_id = run_id
        self.flush_every_s = flush_every_s
        self.max_backlog = max_backlog
        self._deliver = deliver or _log_batch
        self._pending: list[Point] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.delivered = 0
        self.delivered_late = 0
        self.dropped = 0
        self.failures = 0
        self.last_error: str | None = None
        self._down_since: float | None = None
        self.outage_seconds = 0.0
        self._thread = threading.Thread(target=self._loop, name="mlflow-metrics", daemon=True)
        self._thread.start()

    def log(self, step: int, metrics: dict[str, float]) -> None:
        now = int(time.time() * 1000)
        rows = [Point(k, float(v), now, step) for k, v in metrics.items()
                if v == v and abs(v) != float("inf")]
        with self._lock:
            self._pending.extend(rows)
            overflow = len(self._pending) - self.max_backlog
            if overflow > 0:  # a very long outage: keep the newest
                self.dropped += overflow
                del self._pending[:overflow]

    def _loop(self) -> None:
        while not self._stop.wait(self.flush_every_s):
            self.flush()

    def flush(self) -> bool:
        """Deliver what is queued; False (metrics kept) when the server did not take it."""
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return True
        try:
            for start in range(0, len(batch), 1000):
                self._deliver(self.run_id, batch[start:start + 1000])
        except Exception as e:  # server down, DB locked: keep the metrics for later
            with self._lock:
                self._pending = batch + self._pending
            self.failures += 1
            self.last_error = f"{type(e).__name__}: {str(e)[:300]}"
            if self._down_since is None:
                self._down_since = time.monotonic()
                log.warning("MLflow not reachable, metrics queued (%d): %s", len(batch),
                            self.last_error)
            return False
        if self._down_since is not None:
            self.outage_seconds += time.monotonic() - self._down_since
            self._down_since = None
            self.delivered_late += len(batch)
            log.warning("MLflow reachable again: %d queued metrics delivered", len(batch))
        self.delivered += len(batch)
        return True

    def close(self, deadline_s: float = 30.0) -> dict[str, Any]:
        """Stop the thread, try to deliver the rest until the deadline, report."""
        self._stop.set()
        self._thread.join(timeout=self.flush_every_s + 60)
        end = time.monotonic() + deadline_s
        while not self.flush() and time.monotonic() < end:
            time.sleep(min(2.0, max(0.0, end - time.monotonic())))
        with self._lock:
            undelivered = len(self._pending)
        if self._down_since is not None:
            self.outage_seconds += time.monotonic() - self._down_since
        report = {"delivered": self.delivered, "delivered_late": self.delivered_late,
                  "undelivered": undelivered, "dropped": self.dropped, "failures": self.failures,
                  "outage_seconds": round(self.outage_seconds, 1), "last_error": self.last_error}
        if undelivered or self.dropped:
            log.error("MLflow metrics gap: %d metrics never delivered (%d dropped): %s",
                      undelivered, self.dropped, self.last_error)
        return report

"""`throughput_collapse`: samples/s far below the recent median for several log points."""
from __future__ import annotations

from collections import deque
from statistics import median

from pydantic import Field

from training_lib.config.anomalies import Action, DetectorConfig
from training_lib.config.extensions import DETECTORS
from training_lib.monitoring.detectors.base import Detector, Finding, Point, finite


@DETECTORS.register
class ThroughputCollapse(Detector):
    """Samples/s below `ratio` x the median of the last `window` normal points for
    `patience` points in a row (the first point of each epoch, which pays for
    validation and graph tracing, and the first `warmup` points are not judged)."""

    name = "throughput_collapse"
    severity = "warning"

    class Config(DetectorConfig):
        action: Action = "warn"
        ratio: float = Field(0.3, gt=0, lt=1,
                             description="below this fraction of the recent median")
        window: int = Field(10, ge=3, le=1000, description="log points in the baseline")
        patience: int = Field(3, ge=1, description="consecutive slow log points")

    def __init__(self, ratio: float = 0.3, window: int = 10, patience: int = 3,
                 warmup: int = 2) -> None:
        self.ratio, self.patience, self.warmup = ratio, patience, warmup
        self.baseline: deque[float] = deque(maxlen=window)
        self.seen = 0
        self.slow_since: int | None = None
        self.slow = 0
        self.active = False

    def update(self, step: int, prev_step: int, value: float, boundary: bool = False
               ) -> Finding | None:
        self.seen += 1
        if boundary or self.seen <= self.warmup or not finite(value):
            return None
        if len(self.baseline) < 3:
            self.baseline.append(value)
            return None
        base = median(self.baseline)
        if value < self.ratio * base:
            self.slow += 1
            self.slow_since = self.slow_since or prev_step + 1
            if self.slow >= self.patience and not self.active:
                self.active = True
                return Finding("throughput_collapse", step, self.slow_since,
                               f"{value:.0f} samples/s for {self.slow} log points, below "
                               f"{self.ratio:.0%} of the recent median {base:.0f}",
                               value, self.ratio * base)
            return None
        self.slow, self.slow_since, self.active = 0, None, False
        self.baseline.append(value)
        return None

    def rewind(self, step: int) -> None:
        self.slow, self.slow_since, self.active = 0, None, False

    def on_point(self, point: Point) -> Finding | None:
        if point.samples_per_second is None:
            return None
        return self.update(point.step, point.prev_step, point.samples_per_second, point.boundary)

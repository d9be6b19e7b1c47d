"""`divergence`: the loss rising steadily well above its best level."""
from __future__ import annotations

from statistics import median

from pydantic import Field

from training_lib.config.anomalies import Action, DetectorConfig
from training_lib.config.extensions import DETECTORS
from training_lib.monitoring.detectors.base import Detector, Finding, Point, finite, rising_fraction


@DETECTORS.register
class Divergence(Detector):
    """A steady rise: over the last `window` points most pairs go up (Kendall-style) and
    their median is `ratio` times the lowest rolling median seen before."""

    name = "divergence"
    severity = "critical"

    class Config(DetectorConfig):
        action: Action = "rollback"
        window: int = Field(8, ge=3, le=1000, description="log points of steady rise")
        ratio: float = Field(1.5, gt=1, description="recent median over the best median so far")

    def __init__(self, window: int = 8, ratio: float = 1.5, smooth: int = 5) -> None:
        self.window, self.ratio, self.smooth = window, ratio, smooth
        self.points: list[tuple[int, float]] = []
        self.best: tuple[int, float] | None = None  # (step, rolling median) at the lowest
        self.active = False

    def update(self, step: int, prev_step: int, value: float) -> Finding | None:
        if not finite(value):
            return None
        self.points.append((step, value))
        if len(self.points) > 20 * self.window + self.smooth:
            del self.points[: len(self.points) - (20 * self.window + self.smooth)]
        if len(self.points) > self.window + self.smooth:
            # the lowest rolling median among points that are older than the recent window
            edge = len(self.points) - self.window
            candidate = (self.points[edge - 1][0],
                         median(v for _, v in self.points[edge - self.smooth:edge]))
            if self.best is None or candidate[1] < self.best[1]:
                self.best = candidate
        if self.best is None:
            return None
        recent = [v for _, v in self.points[-self.window:]]
        rising = rising_fraction(recent)
        level = median(recent)
        high = level > self.ratio * self.best[1] and self.best[1] > 0
        diverging = high and rising >= 0.7
        found = None
        if diverging and not self.active:
            found = Finding("divergence", step, self.best[0] + 1,
                            f"loss rising for {self.window} log points: median {level:.4g} is "
                            f"{level / self.best[1]:.2f}x the best {self.best[1]:.4g} "
                            f"(step {self.best[0]})", level, self.ratio * self.best[1])
        self.active = diverging or (self.active and high)  # one event until the level is back
        return found

    def rewind(self, step: int) -> None:
        self.points = [(s, v) for s, v in self.points if s <= step]
        if self.best is not None and self.best[0] > step:
            self.best = None
        self.active = False

    def on_point(self, point: Point) -> Finding | None:
        return self.update(point.step, point.prev_step, point.loss)

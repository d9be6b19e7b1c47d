"""`loss_spike`: a loss far above its rolling window (robust z-score)."""
from __future__ import annotations

from collections import deque
from statistics import median

from pydantic import Field

from training_lib.config.anomalies import Action, DetectorConfig
from training_lib.config.extensions import DETECTORS
from training_lib.monitoring.detectors.base import Detector, Finding, Point, finite, rising_fraction


@DETECTORS.register
class LossSpike(Detector):
    """A loss far above the rolling window: robust z-score (median, MAD) over `window`
    points above `z`, and at least `min_ratio` times the median. A value that continues a
    rise (the `TREND` points before it mostly going up) is a trend for `Divergence`, not a
    spike."""

    name = "loss_spike"
    severity = "warning"

    class Config(DetectorConfig):
        action: Action = "warn"
        window: int = Field(20, ge=5, le=1000, description="log points in the rolling window")
        z: float = Field(6.0, gt=0, description="robust z-score (median/MAD) of a spike")
        min_ratio: float = Field(1.5, ge=1, description="and at least this multiple of the median")

    TREND = 6

    def __init__(self, window: int = 20, z: float = 6.0, min_ratio: float = 1.5) -> None:
        self.window, self.z, self.min_ratio = window, z, min_ratio
        self.history: deque[tuple[int, float]] = deque(maxlen=window)
        self.active = False

    def update(self, step: int, prev_step: int, value: float) -> Finding | None:
        if not finite(value):
            return None
        found = None
        values = [v for _, v in self.history]
        spike = False
        if len(values) >= max(5, self.window // 2):
            med = median(values)
            mad = median(abs(v - med) for v in values)
            scale = max(1.4826 * mad, 1e-3 * abs(med), 1e-12)
            score = (value - med) / scale
            spike = (score > self.z and value - med > (self.min_ratio - 1) * abs(med)
                     and rising_fraction(values[-self.TREND:]) < 0.7)
            if spike and not self.active:
                found = Finding("loss_spike", step, prev_step + 1,
                                f"loss {value:.4g} is {score:.1f} robust SDs above the median "
                                f"{med:.4g} of the last {len(values)} log points",
                                value, med + self.z * scale)
        self.active = spike
        self.history.append((step, value))
        return found

    def rewind(self, step: int) -> None:
        kept = [(s, v) for s, v in self.history if s <= step]
        self.history = deque(kept, maxlen=self.window)
        self.active = False

    def on_point(self, point: Point) -> Finding | None:
        return self.update(point.step, point.prev_step, point.loss)

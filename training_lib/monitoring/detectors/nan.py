"""`nan`: NaN or Inf in the loss or any logged metric (every batch, log point and epoch)."""
from __future__ import annotations

import math

from training_lib.config.anomalies import Action, DetectorConfig
from training_lib.config.extensions import DETECTORS
from training_lib.monitoring.detectors.base import Detector, Finding, Point


@DETECTORS.register
class NonFinite(Detector):
    """NaN or Inf in the loss or any logged metric."""

    name = "nan"
    severity = "critical"

    class Config(DetectorConfig):
        action: Action = "rollback"

    def __init__(self) -> None:
        self.active = False

    def update(self, step: int, prev_step: int, values: dict[str, float]) -> Finding | None:
        bad = sorted(k for k, v in values.items() if isinstance(v, float) and not math.isfinite(v))
        was, self.active = self.active, bool(bad)
        if bad and not was:
            where = (f"at step {step}" if prev_step + 1 >= step
                     else f"between steps {prev_step + 1} and {step}")
            return Finding("nan", step, prev_step + 1, f"non-finite {', '.join(bad)} {where}")
        return None

    def rewind(self, step: int) -> None:
        self.active = False


    def on_point(self, point: Point) -> Finding | None:
        return self.update(point.step, point.prev_step, {**point.raw, "loss": point.loss})

    def on_epoch(self, step: int, metrics: dict[str, float]) -> Finding | None:
        return self.update(step, step - 1, {k: v for k, v in metrics.items()
                                            if k.startswith("epoch_")})

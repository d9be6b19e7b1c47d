"""DetectorSet: every registered detector of one model, configured from the preset's
`anomalies:` section, fed the three streams the training monitor sees."""
from __future__ import annotations

from typing import Any

from training_lib.config.anomalies import AnomalyConfig
from training_lib.config.extensions import DETECTORS
from training_lib.monitoring.detectors.base import Detector, Finding, Point


class DetectorSet:
    """The detectors in registration order; each stream's findings come in that order."""

    def __init__(self, config: AnomalyConfig, on_gpu: bool = False) -> None:
        self.detectors: dict[str, Detector] = {
            cls.name: cls.from_config(config.check(cls.name))
            for cls in DETECTORS if on_gpu or not cls.gpu_only}

    def get(self, kind: str) -> Detector | None:
        """The running detector of `kind` (None: not registered, or GPU-only on a CPU run)."""
        return self.detectors.get(kind)

    def on_point(self, step: int, prev_step: int, loss: float, raw: dict[str, float],
                 samples_per_second: float | None = None, boundary: bool = False
                 ) -> list[Finding]:
        point = Point(step, prev_step, loss, raw, samples_per_second, boundary)
        return [f for d in self.detectors.values() if (f := d.on_point(point)) is not None]

    def on_epoch(self, step: int, metrics: dict[str, float]) -> list[Finding]:
        return [f for d in self.detectors.values()
                if (f := d.on_epoch(step, metrics)) is not None]

    def on_system(self, sample: dict[str, Any], training: bool = True) -> list[Finding]:
        return [f for d in self.detectors.values()
                if (f := d.on_system(sample, training)) is not None]

    def rewind(self, step: int) -> None:
        for detector in self.detectors.values():
            detector.rewind(step)

"""`gpu_idle`: every GPU of the model idle while training steps are being made (GPU runs only)."""
from __future__ import annotations

from typing import Any

from pydantic import Field

from training_lib.config.anomalies import Action, DetectorConfig
from training_lib.config.extensions import DETECTORS
from training_lib.monitoring.detectors.base import Detector, Finding, finite


@DETECTORS.register
class GpuIdle(Detector):
    """Every GPU of the model below `utilization_pct` for `patience` samples in a row
    while training steps are being made."""

    name = "gpu_idle"
    severity = "warning"
    gpu_only = True  # judged only when the model trains on GPUs

    class Config(DetectorConfig):
        action: Action = "warn"
        utilization_pct: float = Field(5.0, ge=0, le=100)
        patience: int = Field(3, ge=1, description="consecutive system samples")

    def __init__(self, utilization_pct: float = 5.0, patience: int = 3) -> None:
        self.utilization_pct, self.patience = utilization_pct, patience
        self.idle = 0
        self.active = False

    def update(self, sample: dict[str, Any], training: bool = True) -> Finding | None:
        utils = [g.get("util") for g in sample.get("gpus") or [] if finite(g.get("util"))]
        if not utils or not training:
            return None
        if max(utils) < self.utilization_pct:
            self.idle += 1
            if self.idle >= self.patience and not self.active:
                self.active = True
                step = int(sample.get("step") or 0)
                return Finding("gpu_idle", step, step,
                               f"GPU utilization {max(utils):.0f}% for {self.idle} samples "
                               f"while training (threshold {self.utilization_pct:.0f}%)",
                               float(max(utils)), self.utilization_pct)
        else:
            self.idle, self.active = 0, False
        return None

    def rewind(self, step: int) -> None:
        pass

    def on_system(self, sample: dict[str, Any], training: bool = True) -> Finding | None:
        return self.update(sample, training)

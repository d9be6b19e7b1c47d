"""The `anomalies:` section of a preset: which anomaly detectors run while a model trains,
their thresholds, and what each does when it fires.

    anomalies:
      lr_factor: 0.5                       # rollback multiplies the learning rate by this
      nan: {action: rollback}
      loss_spike: {action: warn, z: 6}
      divergence: {action: stop}

Actions: `warn` (record the event and go on), `rollback` (restore the newest good
checkpoint before the anomaly, scale the learning rate by `lr_factor`, continue),
`stop` (end training early; the model is evaluated and saved as it is). Windows and
patiences count *log points* (one every 10 training steps) or epochs, as named.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Action = Literal["warn", "rollback", "stop"]
KINDS = ("nan", "loss_spike", "divergence", "plateau", "overfitting", "throughput_collapse",
         "memory_saturation", "gpu_idle")


class _Check(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class NanCheck(_Check):
    action: Action = "rollback"


class LossSpikeCheck(_Check):
    action: Action = "warn"
    window: int = Field(20, ge=5, le=1000, description="log points in the rolling window")
    z: float = Field(6.0, gt=0, description="robust z-score (median/MAD) of a spike")
    min_ratio: float = Field(1.5, ge=1, description="and at least this multiple of the median")


class DivergenceCheck(_Check):
    action: Action = "rollback"
    window: int = Field(8, ge=3, le=1000, description="log points of steady rise")
    ratio: float = Field(1.5, gt=1, description="recent median over the best median so far")


class PlateauCheck(_Check):
    action: Action = "warn"
    patience_epochs: int = Field(5, ge=1)
    min_delta: float = Field(0.001, ge=0, description="relative improvement that counts")


class OverfittingCheck(_Check):
    action: Action = "warn"
    patience_epochs: int = Field(3, ge=1, description="epochs of validation loss above its best")
    min_gap_growth: float = Field(0.05, ge=0,
                                  description="val-train gap growth, relative to the best val loss")


class ThroughputCheck(_Check):
    action: Action = "warn"
    ratio: float = Field(0.3, gt=0, lt=1, description="below this fraction of the recent median")
    window: int = Field(10, ge=3, le=1000, description="log points in the baseline")
    patience: int = Field(3, ge=1, description="consecutive slow log points")


class MemoryCheck(_Check):
    action: Action = "warn"
    fraction: float = Field(0.95, gt=0, le=1, description="of the memory cap (cgroup or RAM), "
                                                          "or of a GPU's memory")


class GpuIdleCheck(_Check):
    action: Action = "warn"
    utilization_pct: float = Field(5.0, ge=0, le=100)
    patience: int = Field(3, ge=1, description="consecutive system samples")


class AnomalyConfig(_Check):
    enabled: bool = True
    lr_factor: float = Field(0.5, gt=0, lt=1, description="learning rate factor of a rollback")
    nan: NanCheck = NanCheck()
    loss_spike: LossSpikeCheck = LossSpikeCheck()
    divergence: DivergenceCheck = DivergenceCheck()
    plateau: PlateauCheck = PlateauCheck()
    overfitting: OverfittingCheck = OverfittingCheck()
    throughput_collapse: ThroughputCheck = ThroughputCheck()
    memory_saturation: MemoryCheck = MemoryCheck()
    gpu_idle: GpuIdleCheck = GpuIdleCheck()

    def action(self, kind: str) -> Action:
        return getattr(self, kind).action

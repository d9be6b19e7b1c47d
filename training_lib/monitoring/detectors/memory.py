"""`memory_saturation`: host memory (of its cap) or a GPU's memory nearly full."""
from __future__ import annotations

from typing import Any

from pydantic import Field

from training_lib.config.anomalies import Action, DetectorConfig
from training_lib.config.extensions import DETECTORS
from training_lib.monitoring.detectors.base import Detector, Finding, finite


@DETECTORS.register
class MemorySaturation(Detector):
    """Host memory (of its cap) or a GPU's memory at or above `fraction`."""

    name = "memory_saturation"
    severity = "critical"

    class Config(DetectorConfig):
        action: Action = "warn"
        fraction: float = Field(0.95, gt=0, le=1, description="of the memory cap (cgroup or RAM), "
                                                              "or of a GPU's memory")

    def __init__(self, fraction: float = 0.95) -> None:
        self.fraction = fraction
        self.active: set[str] = set()

    def update(self, sample: dict[str, Any]) -> Finding | None:
        usage = {"host": sample.get("memory_fraction")}
        for gpu in sample.get("gpus") or []:
            if gpu.get("mem_total_mb"):
                usage[f"gpu {gpu['index']}"] = gpu["mem_used_mb"] / gpu["mem_total_mb"]
        found = None
        for where, used in usage.items():
            if not finite(used):
                continue
            if used >= self.fraction and where not in self.active:
                self.active.add(where)
                step = int(sample.get("step") or 0)
                found = found or Finding("memory_saturation", step, step,
                                         f"{where} memory at {used:.1%} of its cap "
                                         f"(threshold {self.fraction:.0%})", used, self.fraction)
            elif used < self.fraction - 0.02:
                self.active.discard(where)
        return found

    def rewind(self, step: int) -> None:
        pass  # memory does not roll back with the weights

    def on_system(self, sample: dict[str, Any], training: bool = True) -> Finding | None:
        return self.update(sample)

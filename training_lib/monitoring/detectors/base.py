"""What every anomaly detector shares: the `Finding` it reports, the `Detector` base
class it registers as, and the `Point` a log step hands it.

A detector is a class in its own module of this package, registered with
`@DETECTORS.register` (config.extensions). It carries its `name` (the anomaly kind and
its preset section), its default `severity`, and a `Config` model (a `DetectorConfig`
with the section's fields and defaults, the default action included); it implements
the hooks of the streams it watches (`on_point`, `on_epoch`, `on_system`) and `rewind`.
Each reports an episode once and stays quiet until the condition has cleared; after a
rollback `rewind(step)` forgets what it saw after `step`. Detectors know nothing of
Keras, MLflow or files, so the same code runs inside a training process and on the
synthetic curves of `bench/anomalies.py`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

from training_lib.config.anomalies import DetectorConfig
from training_lib.config.extensions import severity_of


@dataclass(frozen=True)
class Finding:
    kind: str
    step: int
    since_step: int  # first step of the anomalous stretch: a rollback goes to before it
    message: str
    value: float | None = None
    threshold: float | None = None

    @property
    def severity(self) -> str:
        return severity_of(self.kind)


@dataclass(frozen=True)
class Point:
    """One log point (every 10 training steps): `loss` is the interval mean, `raw` the
    logged values; `boundary` marks the first point of an epoch (it pays for validation)."""

    step: int
    prev_step: int
    loss: float
    raw: dict[str, float] = field(default_factory=dict)
    samples_per_second: float | None = None
    boundary: bool = False


class Detector:
    """Base of a registered detector; the hooks it does not override see nothing."""

    name: ClassVar[str]
    severity: ClassVar[str]  # info | warning | critical
    Config: ClassVar[type[DetectorConfig]] = DetectorConfig
    gpu_only: ClassVar[bool] = False  # built only for a model that trains on GPUs

    @classmethod
    def from_config(cls, config: DetectorConfig) -> "Detector":
        """The detector configured by its preset section (fields named as its arguments)."""
        return cls(**config.model_dump(exclude={"action"}))

    def on_point(self, point: Point) -> Finding | None:
        return None

    def on_epoch(self, step: int, metrics: dict[str, float]) -> Finding | None:
        return None

    def on_system(self, sample: dict[str, Any], training: bool = True) -> Finding | None:
        return None

    def rewind(self, step: int) -> None:
        """Forget what was seen after `step` (a rollback went back there)."""


def finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def rising_fraction(values: list[float]) -> float:
    """Share of ordered pairs that go up (1.0: strictly rising; about 0.5: noise)."""
    pairs = [(a, b) for i, a in enumerate(values) for b in values[i + 1:]]
    return sum(b > a for a, b in pairs) / len(pairs) if pairs else 0.0

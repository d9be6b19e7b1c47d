"""`plateau`: the (validation) loss has stopped improving for some epochs."""
from __future__ import annotations

from pydantic import Field

from training_lib.config.anomalies import Action, DetectorConfig
from training_lib.config.extensions import DETECTORS
from training_lib.monitoring.detectors.base import Detector, Finding, finite


@DETECTORS.register
class Plateau(Detector):
    """No relative improvement above `min_delta` for `patience` epochs, the values staying
    within `SPREAD` of the best (a loss that climbs away is overfitting or divergence)."""

    name = "plateau"
    severity = "info"

    class Config(DetectorConfig):
        action: Action = "warn"
        patience_epochs: int = Field(5, ge=1)
        min_delta: float = Field(0.001, ge=0, description="relative improvement that counts")

    SPREAD = 0.05

    def __init__(self, patience: int = 5, min_delta: float = 0.001) -> None:
        self.patience, self.min_delta = patience, min_delta
        self.epochs: list[tuple[int, float]] = []
        self.best: tuple[int, float] | None = None
        self.since_best = 0
        self.fired = False

    def update(self, step: int, value: float, name: str = "loss") -> Finding | None:
        if not finite(value):
            return None
        self.epochs.append((step, value))
        if self.best is None or value < self.best[1] - self.min_delta * abs(self.best[1]):
            self.best, self.since_best, self.fired = (step, value), 0, False
            return None
        self.since_best += 1
        recent = [v for _, v in self.epochs[-self.since_best:]]
        flat = max(recent) <= self.best[1] + self.SPREAD * abs(self.best[1])
        if self.since_best >= self.patience and flat and not self.fired:
            self.fired = True
            return Finding("plateau", step, self.best[0] + 1,
                           f"{name} has not improved by {self.min_delta:.2%} for "
                           f"{self.since_best} epochs (best {self.best[1]:.4g} at step "
                           f"{self.best[0]})", value, self.best[1])
        return None

    def rewind(self, step: int) -> None:
        kept = [(s, v) for s, v in self.epochs if s <= step]
        self.__init__(self.patience, self.min_delta)  # type: ignore[misc]
        for s, v in kept:
            self.update(s, v)
        self.fired = False

    @classmethod
    def from_config(cls, config: DetectorConfig) -> "Plateau":
        return cls(config.patience_epochs, config.min_delta)  # type: ignore[attr-defined]

    def on_epoch(self, step: int, metrics: dict[str, float]) -> Finding | None:
        train, val = metrics.get("epoch_loss"), metrics.get("epoch_val_loss")
        if val is not None:
            return self.update(step, val, "validation loss")
        return self.update(step, train, "training loss") if train is not None else None

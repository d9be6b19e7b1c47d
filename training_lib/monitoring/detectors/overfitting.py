"""`overfitting`: validation loss above its best while the training loss keeps falling."""
from __future__ import annotations

from pydantic import Field

from training_lib.config.anomalies import Action, DetectorConfig
from training_lib.config.extensions import DETECTORS
from training_lib.monitoring.detectors.base import Detector, Finding, finite


@DETECTORS.register
class Overfitting(Detector):
    """Validation loss above its best for `patience` epochs while the training loss keeps
    falling and the val-train gap grew by `min_gap_growth` x the best validation loss."""

    name = "overfitting"
    severity = "warning"

    class Config(DetectorConfig):
        action: Action = "warn"
        patience_epochs: int = Field(3, ge=1,
                                     description="epochs of validation loss above its best")
        min_gap_growth: float = Field(
            0.05, ge=0, description="val-train gap growth, relative to the best val loss")

    def __init__(self, patience: int = 3, min_gap_growth: float = 0.05) -> None:
        self.patience, self.min_gap_growth = patience, min_gap_growth
        self.epochs: list[tuple[int, float, float]] = []
        self.best: tuple[int, float, float] | None = None  # (step, train, val) at best val
        self.since_best = 0
        self.fired = False

    def update(self, step: int, train: float, val: float) -> Finding | None:
        if not (finite(train) and finite(val)):
            return None
        self.epochs.append((step, train, val))
        if self.best is None or val < self.best[2] - 1e-4 * abs(self.best[2]):
            self.best, self.since_best, self.fired = (step, train, val), 0, False
            return None
        self.since_best += 1
        b_step, b_train, b_val = self.best
        growth = (val - train) - (b_val - b_train)
        if (self.since_best >= self.patience and train < b_train
                and growth > self.min_gap_growth * abs(b_val) and not self.fired):
            self.fired = True
            return Finding("overfitting", step, b_step + 1,
                           f"val loss {val:.4g} above its best {b_val:.4g} for "
                           f"{self.since_best} epochs while train loss fell to {train:.4g}; "
                           f"val-train gap grew by {growth:.4g}", val - train, b_val - b_train)
        return None

    def rewind(self, step: int) -> None:
        kept = [e for e in self.epochs if e[0] <= step]
        self.__init__(self.patience, self.min_gap_growth)  # type: ignore[misc]
        for e in kept:
            self.update(*e)
        self.fired = False

    @classmethod
    def from_config(cls, config: DetectorConfig) -> "Overfitting":
        return cls(config.patience_epochs, config.min_gap_growth)  # type: ignore[attr-defined]

    def on_epoch(self, step: int, metrics: dict[str, float]) -> Finding | None:
        train, val = metrics.get("epoch_loss"), metrics.get("epoch_val_loss")
        if train is None or val is None:
            return None
        return self.update(step, train, val)

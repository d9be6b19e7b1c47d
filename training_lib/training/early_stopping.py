"""Early stopping: stop once the monitored validation metric has not improved for
`patience` epochs. Its state travels in every checkpoint, so a resumed fit stops at the
same epoch an uninterrupted one would."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class EarlyStopping:
    """Patience bookkeeping, saved in each checkpoint's state so resume keeps it."""

    monitor: str
    mode: str
    patience: int
    best: float | None = None
    best_epoch: int | None = None
    wait: int = 0

    def update(self, epoch: int, metrics: dict[str, float]) -> bool:
        """Note epoch `epoch`'s (1-based) metrics; True when patience has run out."""
        value = metrics.get(self.monitor)
        if value is None or value != value:  # missing or NaN: not an improvement
            self.wait += 1
        elif self.best is None or (value < self.best if self.mode == "min" else value > self.best):
            self.best, self.best_epoch, self.wait = float(value), epoch, 0
        else:
            self.wait += 1
        return self.wait >= self.patience

    def reason(self) -> str:
        return (f"early stopping: {self.monitor} did not improve for {self.patience} epochs "
                f"(best {self.best:.4g} at epoch {self.best_epoch})" if self.best is not None
                else f"early stopping: no {self.monitor} for {self.patience} epochs")

    def state(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait}

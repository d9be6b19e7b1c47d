"""Streaming anomaly detectors: each sees one value at a time and says when something is
wrong. They know nothing of Keras, MLflow or files, so the same code runs inside a
training process and on the synthetic curves of `bench/anomalies.py`.

Each detector reports an episode once (a `Finding`) and stays quiet until the condition
has cleared; `rewind(step)` forgets what it saw after `step` (after a rollback).

    point detectors  (one value per log point, every 10 steps):  NonFinite, LossSpike,
                     Divergence, ThroughputCollapse
    epoch detectors  (one value per epoch):                      Plateau, Overfitting
    system detectors (one system sample):                        MemorySaturation, GpuIdle
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from statistics import median
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    from training_lib.config.anomalies import AnomalyConfig

SEVERITY = {"nan": "critical", "divergence": "critical", "memory_saturation": "critical",
            "loss_spike": "warning", "overfitting": "warning", "throughput_collapse": "warning",
            "gpu_idle": "warning", "plateau": "info"}


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
        return SEVERITY[self.kind]


def finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def rising_fraction(values: list[float]) -> float:
    """Share of ordered pairs that go up (1.0: strictly rising; about 0.5: noise)."""
    pairs = [(a, b) for i, a in enumerate(values) for b in values[i + 1:]]
    return sum(b > a for a, b in pairs) / len(pairs) if pairs else 0.0


class NonFinite:
    """NaN or Inf in the loss or any logged metric."""

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


class LossSpike:
    """A loss far above the rolling window: robust z-score (median, MAD) over `window`
    points above `z`, and at least `min_ratio` times the median. A value that continues a
    rise (the `TREND` points before it mostly going up) is a trend for `Divergence`, not a
    spike."""

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


class Divergence:
    """A steady rise: over the last `window` points most pairs go up (Kendall-style) and
    their median is `ratio` times the lowest rolling median seen before."""

    def __init__(self, window: int = 8, ratio: float = 1.5, smooth: int = 5) -> None:
        self.window, self.ratio, self.smooth = window, ratio, smooth
        self.points: list[tuple[int, float]] = []
        self.best: tuple[int, float] | None = None  # (step, rolling median) at the lowest
        self.active = False

    def update(self, step: int, prev_step: int, value: float) -> Finding | None:
        if not finite(value):
            return None
        self.points.append((step, value))
        if len(self.points) > 20 * self.window + self.smooth:
            del self.points[: len(self.points) - (20 * self.window + self.smooth)]
        if len(self.points) > self.window + self.smooth:
            # the lowest rolling median among points that are older than the recent window
            edge = len(self.points) - self.window
            candidate = (self.points[edge - 1][0],
                         median(v for _, v in self.points[edge - self.smooth:edge]))
            if self.best is None or candidate[1] < self.best[1]:
                self.best = candidate
        if self.best is None:
            return None
        recent = [v for _, v in self.points[-self.window:]]
        rising = rising_fraction(recent)
        level = median(recent)
        high = level > self.ratio * self.best[1] and self.best[1] > 0
        diverging = high and rising >= 0.7
        found = None
        if diverging and not self.active:
            found = Finding("divergence", step, self.best[0] + 1,
                            f"loss rising for {self.window} log points: median {level:.4g} is "
                            f"{level / self.best[1]:.2f}x the best {self.best[1]:.4g} "
                            f"(step {self.best[0]})", level, self.ratio * self.best[1])
        self.active = diverging or (self.active and high)  # one event until the level is back
        return found

    def rewind(self, step: int) -> None:
        self.points = [(s, v) for s, v in self.points if s <= step]
        if self.best is not None and self.best[0] > step:
            self.best = None
        self.active = False


class ThroughputCollapse:
    """Samples/s below `ratio` x the median of the last `window` normal points for
    `patience` points in a row (the first point of each epoch, which pays for
    validation and graph tracing, and the first `warmup` points are not judged)."""

    def __init__(self, ratio: float = 0.3, window: int = 10, patience: int = 3,
                 warmup: int = 2) -> None:
        self.ratio, self.patience, self.warmup = ratio, patience, warmup
        self.baseline: deque[float] = deque(maxlen=window)
        self.seen = 0
        self.slow_since: int | None = None
        self.slow = 0
        self.active = False

    def update(self, step: int, prev_step: int, value: float, boundary: bool = False
               ) -> Finding | None:
        self.seen += 1
        if boundary or self.seen <= self.warmup or not finite(value):
            return None
        if len(self.baseline) < 3:
            self.baseline.append(value)
            return None
        base = median(self.baseline)
        if value < self.ratio * base:
            self.slow += 1
            self.slow_since = self.slow_since or prev_step + 1
            if self.slow >= self.patience and not self.active:
                self.active = True
                return Finding("throughput_collapse", step, self.slow_since,
                               f"{value:.0f} samples/s for {self.slow} log points, below "
                               f"{self.ratio:.0%} of the recent median {base:.0f}",
                               value, self.ratio * base)
            return None
        self.slow, self.slow_since, self.active = 0, None, False
        self.baseline.append(value)
        return None

    def rewind(self, step: int) -> None:
        self.slow, self.slow_since, self.active = 0, None, False


class Plateau:
    """No relative improvement above `min_delta` for `patience` epochs, the values staying
    within `SPREAD` of the best (a loss that climbs away is overfitting or divergence)."""

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


class Overfitting:
    """Validation loss above its best for `patience` epochs while the training loss keeps
    falling and the val-train gap grew by `min_gap_growth` x the best validation loss."""

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


class MemorySaturation:
    """Host memory (of its cap) or a GPU's memory at or above `fraction`."""

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


class GpuIdle:
    """Every GPU of the model below `utilization_pct` for `patience` samples in a row
    while training steps are being made."""

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


class DetectorSet:
    """All detectors of one model, configured from the preset's `anomalies:` section."""

    def __init__(self, config: AnomalyConfig, on_gpu: bool = False) -> None:
        c = config
        self.nan = NonFinite()
        self.spike = LossSpike(c.loss_spike.window, c.loss_spike.z, c.loss_spike.min_ratio)
        self.divergence = Divergence(c.divergence.window, c.divergence.ratio)
        self.throughput = ThroughputCollapse(c.throughput_collapse.ratio,
                                             c.throughput_collapse.window,
                                             c.throughput_collapse.patience)
        self.plateau = Plateau(c.plateau.patience_epochs, c.plateau.min_delta)
        self.overfitting = Overfitting(c.overfitting.patience_epochs,
                                       c.overfitting.min_gap_growth)
        self.memory = MemorySaturation(c.memory_saturation.fraction)
        self.gpu_idle = GpuIdle(c.gpu_idle.utilization_pct, c.gpu_idle.patience) if on_gpu else None

    def on_point(self, step: int, prev_step: int, loss: float, raw: dict[str, float],
                 samples_per_second: float | None = None, boundary: bool = False
                 ) -> list[Finding]:
        found = [self.nan.update(step, prev_step, {**raw, "loss": loss}),
                 self.spike.update(step, prev_step, loss),
                 self.divergence.update(step, prev_step, loss)]
        if samples_per_second is not None:
            found.append(self.throughput.update(step, prev_step, samples_per_second, boundary))
        return [f for f in found if f is not None]

    def on_epoch(self, step: int, metrics: dict[str, float]) -> list[Finding]:
        train, val = metrics.get("epoch_loss"), metrics.get("epoch_val_loss")
        found = [self.nan.update(step, step - 1, {k: v for k, v in metrics.items()
                                                  if k.startswith("epoch_")})]
        if val is not None:
            found.append(self.plateau.update(step, val, "validation loss"))
            if train is not None:
                found.append(self.overfitting.update(step, train, val))
        elif train is not None:
            found.append(self.plateau.update(step, train, "training loss"))
        return [f for f in found if f is not None]

    def on_system(self, sample: dict[str, Any], training: bool = True) -> list[Finding]:
        found = [self.memory.update(sample)]
        if self.gpu_idle is not None:
            found.append(self.gpu_idle.update(sample, training))
        return [f for f in found if f is not None]

    def rewind(self, step: int) -> None:
        for detector in self._all():
            detector.rewind(step)

    def _all(self) -> Iterable[Any]:
        return [d for d in (self.nan, self.spike, self.divergence, self.throughput, self.plateau,
                            self.overfitting, self.memory, self.gpu_idle) if d is not None]

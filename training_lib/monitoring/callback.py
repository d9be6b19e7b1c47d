"""AnomalyMonitor: runs the detectors on a ResumableFit's metric stream and acts.

    monitor = AnomalyMonitor(preset.anomalies, EventStore(round_folder.anomalies),
                             model_name="logic_model")
    ResumableFit(model, dataset, plan, store, monitors=[monitor]).run()

It is both a metric sink of the engine and a Keras callback. As a sink it sees, every
log step, the global step and metric values the engine has already read from the
device. As a callback it checks every batch's loss for NaN/Inf (Keras has already
converted the batch logs to Python floats for the engine's own callback, so this costs
no extra device sync) and counts the batches of the current `fit()` call, because Keras
logs the *running mean* of the loss since the epoch began: from two log points
(n batches, mean m_n) and (p, m_p) the mean loss of the batches in between is
(n m_n - p m_p) / (n - p), which is what the spike and divergence detectors judge.
"""
from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any, Callable

import keras

from training_lib.config.anomalies import AnomalyConfig
from training_lib.monitoring.detectors import DetectorSet, Finding
from training_lib.monitoring.events import AnomalyEvent, EventStore

if TYPE_CHECKING:
    from training_lib.monitoring.system import SystemSampler
    from training_lib.training.engine import ResumableFit

log = logging.getLogger(__name__)


class AnomalyMonitor(keras.callbacks.Callback):
    def __init__(self, config: AnomalyConfig, store: EventStore, *, model_name: str,
                 round_index: int = 1, try_number: int = 1, system: "SystemSampler | None" = None,
                 on_gpu: bool = False, tagger: Callable[[dict[str, str]], None] | None = None
                 ) -> None:
        super().__init__()
        self.config = config
        self.store = store
        self.model_name = model_name
        self.round_index = round_index
        self.try_number = try_number
        self.system = system
        self.tagger = tagger
        self.detectors = DetectorSet(config, on_gpu=on_gpu)
        self.fit: "ResumableFit | None" = None
        self.events: list[AnomalyEvent] = []
        self.step = 0  # the engine's global step, kept current through `note_step`
        self._prev_step = 0
        self._batches = 0  # batches begun in the current fit() call
        self._prev_mean: tuple[int, float] = (0, 0.0)
        self._boundary = True
        self._pending: AnomalyEvent | None = None  # the event whose rollback is under way

    # ---- engine monitor (ResumableFit(monitors=[...]) binds it and reports every step) -----
    def bind(self, fit: "ResumableFit") -> None:
        self.fit = fit

    def note_step(self, step: int) -> None:
        self.step = step

    # ---- Keras callback ----------------------------------------------------------------------
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._batches, self._prev_mean, self._boundary = 0, (0, 0.0), True

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._batches += 1

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        loss = (logs or {}).get("loss")
        nan: Any = self.detectors.get("nan")  # NonFinite: checked on every batch
        if (self.config.enabled and isinstance(loss, float) and not math.isfinite(loss)
                and nan is not None and not nan.active):
            finding = nan.update(self.step, self.step - 1, {"loss": loss})
            if finding is not None:
                self.act(finding)

    # ---- metric sink -------------------------------------------------------------------------
    def log(self, step: int, metrics: dict[str, float]) -> None:
        self.step = step
        if not self.config.enabled:
            return
        if any(k.startswith("epoch_") for k in metrics):
            findings = self.detectors.on_epoch(step, metrics)
        else:
            loss = self.interval_mean(metrics.get("loss", math.nan))
            raw = {k: v for k, v in metrics.items() if k != "epoch"}
            findings = self.detectors.on_point(step, self._prev_step, loss, raw,
                                               metrics.get("samples_per_second"), self._boundary)
            self._boundary, self._prev_step = False, step
        findings += self.check_system()
        for finding in findings:
            self.act(finding)

    def event(self, kind: str, /, **data: Any) -> None:
        """Engine notices (sinks with `event` get them): a finished rollback."""
        if kind != "rollback":
            return
        to_step = int(data.get("to_step", 0))
        self.detectors.rewind(to_step)
        self.step = self._prev_step = to_step
        if self._pending is not None:
            outcome = (f"rolled back from step {data.get('from_step')} to checkpoint {to_step}, "
                       f"learning rate now {data.get('learning_rate'):.3g}")
            self._pending.outcome = outcome
            self.store.update(self._pending.id, outcome=outcome, rolled_back_to=to_step,
                              learning_rate=data.get("learning_rate"))
            self._pending = None

    def check_system(self) -> list[Finding]:
        if self.system is None or not self.config.enabled:
            return []
        return [f for sample in self.system.drain() for f in self.detectors.on_system(sample)]

    def interval_mean(self, running_mean: float) -> float:
        """Mean loss of the batches since the previous log point of this fit() call."""
        n = self._batches
        p, prev = self._prev_mean
        self._prev_mean = (n, running_mean)
        if p == 0 or n <= p or not math.isfinite(prev):
            return running_mean
        return (n * running_mean - p * prev) / (n - p)

    # ---- actions -----------------------------------------------------------------------------
    def act(self, finding: Finding) -> AnomalyEvent:
        action = self.config.action(finding.kind)
        outcome = None
        if action != "warn" and self.fit is None:
            action, outcome = "warn", f"{action} configured, but no training engine attached"
        elif action == "rollback":
            if self.fit._rollback is not None:  # noqa: SLF001 - one rollback per stop
                outcome = "joined the rollback already requested at this step"
            else:
                self.fit.request_rollback(max(1, finding.since_step), finding.message,
                                          self.config.lr_factor)
                outcome = "requested"
        elif action == "stop":
            self.fit.model.stop_training = True
            outcome = f"training stopped at step {finding.step}"
        event = AnomalyEvent(
            id=f"{self.model_name}/r{self.round_index}/t{self.try_number}/{len(self.events) + 1}",
            model=self.model_name, round=self.round_index, step=finding.step,
            since_step=finding.since_step, kind=finding.kind, severity=finding.severity,
            action=action, message=finding.message, try_number=self.try_number,
            value=_number(finding.value), threshold=_number(finding.threshold), outcome=outcome)
        if action == "rollback" and outcome == "requested":
            self._pending = event
        self.events.append(event)
        self.store.append(event)
        log.warning("ANOMALY %s %s at step %d (%s): %s; action: %s", self.model_name,
                    finding.kind, finding.step, finding.severity, finding.message, action)
        self._tag(event)
        return event

    def _tag(self, event: AnomalyEvent) -> None:
        if self.tagger is None:
            return
        n = len(self.events)
        kinds = sorted({e.kind for e in self.events})
        try:
            self.tagger({f"anomaly.{n:03d}": f"{event.kind} at step {event.step} "
                                              f"({event.severity}), action {event.action}: "
                                              f"{event.message}"[:5000],
                         "anomalies": str(n), "anomaly_kinds": ",".join(kinds)})
        except Exception as e:  # a tracking server hiccup must not stop training
            log.warning("could not tag the MLflow run with anomaly %s: %s", event.id, e)


def _number(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None

"""The resumable fit loop: exact mid-epoch resume on top of `keras.Model.fit`.

Keras' BackupAndRestore restarts an interrupted epoch. We do better: each epoch's
data order is a permutation drawn from (seed, epoch), so after a crash the engine
restores weights, optimizer state and RNG state from the newest valid checkpoint
and runs exactly the batches of that epoch that were not yet done, then goes on.

The engine knows nothing of MLflow or Airflow: metrics go to `sinks` (objects with
`log(step, metrics)`), `on_step` lets the caller beat a heartbeat, and `monitors` (the
anomaly monitor) watch the fit from inside and may roll it back or stop it. Everything is
passed to the constructor; nothing is patched onto the engine afterwards.

`FitPlan.epochs` is an epoch budget. With `patience`, training also stops once the monitored
validation metric has not improved for that many epochs, and the best epoch's checkpoint (which the
store keeps) is restored at the end; the early-stopping state travels in every checkpoint, so a
resumed fit stops where an uninterrupted one would. `FitResult` says where training stopped and why.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

import keras
import numpy as np

from training_lib.data.dataset import Dataset
from training_lib.data.rows import is_streamed
from training_lib.errors import CheckpointError, TrainingError
from training_lib.training.batches import RowBatches
from training_lib.training.checkpoints import Checkpoint, CheckpointStore
from training_lib.training.early_stopping import EarlyStopping
from training_lib.training.optimizer_state import build_before_fit

log = logging.getLogger(__name__)


class MetricSink(Protocol):
    def log(self, step: int, metrics: dict[str, float]) -> None: ...


class FitMonitor(MetricSink, Protocol):
    """A metric sink and Keras callback that may steer the fit (`request_rollback`, stop):
    the engine binds it to itself and tells it every global step."""

    def bind(self, fit: "ResumableFit") -> None: ...

    def note_step(self, step: int) -> None: ...


@dataclass(frozen=True)
class FitPlan:
    epochs: int
    batch_size: int
    seed: int
    every_steps: int | None = None
    every_seconds: float | None = None
    at_epoch_end: bool = True
    log_every_steps: int = 10
    patience: int | None = None  # epochs without improvement before stopping; None = off
    monitor: str = "val_loss"
    mode: str = "min"

    def steps_per_epoch(self, n_train: int) -> int:
        return math.ceil(n_train / self.batch_size)


@dataclass
class FitResult:
    history: list[dict[str, float]]  # one entry per completed epoch (this process)
    resumed_from_step: int | None
    steps_run: int  # optimizer steps this process ran
    global_step: int
    seconds: float
    samples_per_second: float
    checkpoints_written: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    stopped_at_epoch: int = 0  # the last epoch that ran to its end (1-based)
    stop_reason: str = ""  # "epoch budget", "early stopping: ...", "stopped by a monitor"
    best_epoch: int | None = None  # the epoch of the best monitored value (early stopping)
    restored_best: bool = False  # the weights are the best epoch's, not the last one's


def epoch_permutation(seed: int, epoch: int, n: int) -> np.ndarray:
    """The data order of one epoch: depends on (seed, epoch) only."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def snapshot(model: keras.Model) -> dict[str, np.ndarray]:
    """Host copies of every model and optimizer variable, in a stable order."""
    sync = getattr(model, "jax_state_sync", None)
    if sync is not None:  # JAX keeps the training state off the variables during fit
        sync()
    arrays = {f"model/{i:05d}": np.array(v.numpy()) for i, v in enumerate(model.variables)}
    if model.optimizer is not None:
        for i, v in enumerate(model.optimizer.variables):
            arrays[f"optimizer/{i:05d}"] = np.array(v.numpy())
    return arrays


def restore(model: keras.Model, checkpoint: Checkpoint) -> None:
    """Load a snapshot back; CheckpointError when the architecture does not match."""
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    groups = {"model": list(model.variables),
              "optimizer": list(model.optimizer.variables) if model.optimizer else []}
    for prefix, variables in groups.items():
        keys = sorted(k for k in checkpoint.arrays if k.startswith(prefix + "/"))
        if len(keys) != len(variables):
            raise CheckpointError(
                f"checkpoint {checkpoint.path} has {len(keys)} {prefix} variables, the model has "
                f"{len(variables)}: the model or its config changed since it was written")
        for key, variable in zip(keys, variables):
            value = checkpoint.arrays[key]
            if tuple(value.shape) != tuple(variable.shape):
                raise CheckpointError(f"checkpoint {checkpoint.path}: {key} has shape {value.shape},"
                                      f" {variable.path} expects {tuple(variable.shape)}")
            variable.assign(value)


class ResumableFit:
    """Fit `model` on `dataset` with checkpoints in `store`, resuming if one exists.

        fit = ResumableFit(model, dataset, FitPlan(epochs=3, batch_size=32, seed=1,
                           every_steps=50), store, config=resolved_config)
        result = fit.run()
    """

    def __init__(self, model: keras.Model, dataset: Dataset, plan: FitPlan,
                 store: CheckpointStore, *, config: dict[str, Any] | None = None,
                 sinks: list[MetricSink] | None = None,
                 on_step: Callable[[int], None] | None = None,
                 extra_callbacks: list[keras.callbacks.Callback] | None = None,
                 pause_when: Callable[[], str | None] | None = None,
                 on_pause: Callable[[int, str], None] | None = None,
                 monitors: Sequence[FitMonitor] = ()) -> None:
        self.pause_when = pause_when  # returns why training must pause now, or None
        self.on_pause = on_pause  # called every few seconds while paused (heartbeat)
        self.model = model
        self.dataset = dataset
        self.plan = plan
        self.store = store
        self.config = config or {}
        self.monitors = tuple(monitors)
        self.sinks = [*(sinks or []), *self.monitors]
        self.on_step = on_step
        self.extra_callbacks = [*(extra_callbacks or []), *self.monitors]
        self.pause_poll_s = 5.0
        self.max_rollbacks = 3
        self.rollbacks = 0
        self._rollback: dict[str, Any] | None = None
        self.early_stopping = (EarlyStopping(plan.monitor, plan.mode, plan.patience)
                               if plan.patience and dataset.size("val") else None)
        self._patience_ran_out = False
        self.n_train = dataset.size("train")
        self.streamed = is_streamed(dataset.x["train"])  # read batch by batch from disk
        if self.n_train == 0:
            raise ValueError(f"dataset for {dataset.model!r} has no training rows")
        self.steps_per_epoch = plan.steps_per_epoch(self.n_train)
        for monitor in self.monitors:
            monitor.bind(self)

    def run(self) -> FitResult:
        start = time.monotonic()
        epoch, step_in_epoch, global_step, resumed = 0, 0, 0, None
        checkpoint = self.store.latest()
        if checkpoint is not None:
            epoch, step_in_epoch = self._restore(checkpoint)
            global_step = resumed = checkpoint.step
            log.info("resumed from checkpoint at step %d (epoch %d, batch %d of %d)",
                     global_step, epoch + 1, step_in_epoch, self.steps_per_epoch)
            for sink in self.sinks:
                if hasattr(sink, "event"):
                    sink.event("resumed", from_step=global_step, epoch=epoch + 1,
                               batch=step_in_epoch)
        tracker = _StepTracker(self, global_step)
        val = self._validation_data()
        reason = "epoch budget"
        if self._patience_ran_out:  # the checkpoint was written as patience ran out
            epoch, reason = self.plan.epochs, self.early_stopping.reason()
        while epoch < self.plan.epochs:
            tracker.begin_epoch(epoch, step_in_epoch)
            order = epoch_permutation(self.plan.seed, epoch,
                                      self.n_train)[step_in_epoch * self.plan.batch_size:]
            self._fit_epoch(epoch, order, val, tracker)
            if self._rollback is not None:
                epoch, step_in_epoch = self._roll_back(tracker)
                continue
            if self._patience_ran_out:
                reason = self.early_stopping.reason()
                tracker.events.append({"kind": "early_stopping", "step": tracker.global_step,
                                       "epoch": epoch + 1, "reason": reason})
                epoch += 1
                break
            if self.model.stop_training:
                tracker.events.append({"kind": "stopped", "step": tracker.global_step})
                reason = "stopped by a monitor"
                break
            epoch, step_in_epoch = epoch + 1, 0
        self.store.flush()
        restored = self._restore_best()
        seconds = time.monotonic() - start
        samples = tracker.steps_run * self.plan.batch_size
        return FitResult(tracker.history, resumed, tracker.steps_run, tracker.global_step,
                         seconds, samples / seconds if seconds else 0.0,
                         tracker.checkpoints_written, tracker.events,
                         stopped_at_epoch=min(epoch, self.plan.epochs), stop_reason=reason,
                         best_epoch=self.early_stopping.best_epoch if self.early_stopping else None,
                         restored_best=restored)

    # ---- early stopping ---------------------------------------------------------------------
    def note_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        """Epoch `epoch` (0-based) ended with `metrics`: update patience before the
        epoch-end checkpoint is written, so the checkpoint carries it."""
        if self.early_stopping is not None and self.early_stopping.update(epoch + 1, metrics):
            self._patience_ran_out = True

    def _restore_best(self) -> bool:
        """Load the best epoch's checkpoint (the store keeps it) when early stopping is on
        and the last epoch was not the best one."""
        es = self.early_stopping
        if es is None or es.best_epoch is None or es.wait == 0:
            return False
        best = self.store.best() if self.store.monitor == es.monitor else None
        if best is None or int(best.state.get("epoch", -1)) != es.best_epoch:
            log.warning("%s: no checkpoint of the best epoch %s on %s kept; keeping the last "
                        "epoch's weights", self.dataset.model, es.best_epoch, es.monitor)
            return False
        restore(self.model, best)
        log.info("%s: restored the best epoch (%d, %s %.4g)", self.dataset.model,
                 es.best_epoch, es.monitor, es.best)
        return True

    # ---- rollback on anomalies --------------------------------------------------------------
    def request_rollback(self, before_step: int, reason: str, lr_factor: float = 0.5) -> None:
        """Ask the loop (from a callback) to go back to the newest checkpoint written before
        `before_step` whose metrics are finite, scale the learning rate, and continue."""
        self._rollback = {"before_step": before_step, "reason": reason, "lr_factor": lr_factor}
        self.model.stop_training = True

    def _roll_back(self, tracker: "_StepTracker") -> tuple[int, int]:
        request, self._rollback = self._rollback, None
        self.model.stop_training = False
        self.rollbacks += 1
        if self.rollbacks > self.max_rollbacks:
            raise TrainingError(f"{self.dataset.model}: {request['reason']}; already rolled back "
                                f"{self.max_rollbacks} times, giving up")
        self.store.flush()
        checkpoint = self.store.latest_good(request["before_step"])
        if checkpoint is None:
            raise TrainingError(f"{self.dataset.model}: {request['reason']}; no good checkpoint "
                                f"before step {request['before_step']} to roll back to")
        epoch, step_in_epoch = self._restore(checkpoint)
        lr = self.model.optimizer.learning_rate
        new_lr = float(keras.ops.convert_to_numpy(lr)) * request["lr_factor"]
        lr.assign(new_lr)
        event = {"kind": "rollback", "from_step": tracker.global_step, "to_step": checkpoint.step,
                 "reason": request["reason"], "learning_rate": new_lr}
        tracker.events.append(event)
        tracker.global_step = checkpoint.step
        for sink in self.sinks:
            if hasattr(sink, "event"):
                sink.event("rollback", **{k: v for k, v in event.items() if k != "kind"})
        log.warning("rolled back from step %d to checkpoint %d (%s); learning rate now %g",
                    event["from_step"], checkpoint.step, request["reason"], new_lr)
        return epoch, step_in_epoch

    def _restore(self, checkpoint: Checkpoint) -> tuple[int, int]:
        restore(self.model, checkpoint)
        saved = checkpoint.state.get("early_stopping")
        if self.early_stopping is not None and saved:
            es = self.early_stopping
            es.best, es.best_epoch, es.wait = saved["best"], saved["best_epoch"], saved["wait"]
            self._patience_ran_out = es.wait >= es.patience
        return int(checkpoint.state["epoch"]), int(checkpoint.state["step_in_epoch"])

    def _fit_epoch(self, epoch: int, order: np.ndarray, val: Any, tracker: "_StepTracker") -> None:
        """One epoch (or its rest) over the train rows in `order`: from memory, or batch
        by batch from disk when the loader left the split there (same batches either way)."""
        build_before_fit(self.model)  # one trace of the train step instead of two
        callbacks = [tracker, *self.extra_callbacks]
        common = {"epochs": epoch + 1, "initial_epoch": epoch, "validation_data": val,
                  "verbose": 0, "callbacks": callbacks, "shuffle": False}  # `order` is the order
        if self.streamed:
            batches = RowBatches(self.dataset.x["train"], self.dataset.y["train"], order,
                                 self.plan.batch_size)
            try:
                self.model.fit(batches, **common)
            finally:
                batches.close()
                if isinstance(val, RowBatches):
                    val.close()
            return
        x, y = self.dataset.take("train", order)
        self.model.fit(x, y, batch_size=self.plan.batch_size, **common)

    def _validation_data(self) -> Any:
        if self.dataset.size("val") == 0:
            return None
        x, y = self.dataset.x["val"], self.dataset.y["val"]
        if is_streamed(x):
            return RowBatches(x, y, np.arange(self.dataset.size("val")), self.plan.batch_size)
        return x, y

    def save_checkpoint(self, epoch: int, step_in_epoch: int, global_step: int,
                        metrics: dict[str, float]) -> None:
        if step_in_epoch >= self.steps_per_epoch:  # an epoch's end is the next epoch's start
            epoch, step_in_epoch = epoch + 1, 0
        state = {"epoch": epoch, "step_in_epoch": step_in_epoch, "seed": self.plan.seed,
                 "steps_per_epoch": self.steps_per_epoch, "batch_size": self.plan.batch_size,
                 "metrics": metrics, "config": self.config, "time": time.time()}
        if self.early_stopping is not None:
            state["early_stopping"] = self.early_stopping.state()
        self.store.save(global_step, state, snapshot(self.model))


class _StepTracker(keras.callbacks.Callback):
    """Counts steps, writes checkpoints on schedule, forwards metrics to the sinks."""

    def __init__(self, fit: ResumableFit, global_step: int) -> None:
        super().__init__()
        self.fit = fit
        self.global_step = global_step
        self.steps_run = 0
        self.checkpoints_written = 0
        self.history: list[dict[str, float]] = []
        self.events: list[dict[str, Any]] = []
        self._epoch = 0
        self._first = 0
        self._last_save_time = time.monotonic()
        self._window_start = time.monotonic()
        self._window_steps = 0

    def begin_epoch(self, epoch: int, first_batch: int) -> None:
        self._epoch, self._first = epoch, first_batch

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        plan = self.fit.plan
        self.global_step += 1
        self.steps_run += 1
        self._window_steps += 1
        step_in_epoch = self._first + batch + 1
        for monitor in self.fit.monitors:
            monitor.note_step(self.global_step)
        if self.fit.on_step is not None:
            self.fit.on_step(self.global_step)
        if self.fit.pause_when is not None and self.global_step % 10 == 0:
            self._maybe_pause(step_in_epoch, logs)
        due_log = self.global_step % plan.log_every_steps == 0
        due_steps = plan.every_steps and self.global_step % plan.every_steps == 0
        due_time = plan.every_seconds and time.monotonic() - self._last_save_time >= plan.every_seconds
        end_of_epoch = step_in_epoch >= self.fit.steps_per_epoch
        due_save = (due_steps or due_time) and not (end_of_epoch and plan.at_epoch_end)
        if not (due_log or due_save):
            return  # the common case: nothing to read from the logs, no host sync
        metrics = {k: float(v) for k, v in (logs or {}).items()}
        if due_log:
            now = time.monotonic()
            rate = self._window_steps * plan.batch_size / max(now - self._window_start, 1e-9)
            self._window_start, self._window_steps = now, 0
            self._emit({**metrics, "samples_per_second": rate, "epoch": self._epoch + 1})
        if due_save:
            self._save(step_in_epoch, metrics)

    def _maybe_pause(self, step_in_epoch: int, logs: dict[str, Any] | None) -> None:
        reason = self.fit.pause_when()
        if reason is None:
            return
        self._save(step_in_epoch, {k: float(v) for k, v in (logs or {}).items()})
        self.fit.store.flush()
        start = time.monotonic()
        log.warning("pausing at step %d after a checkpoint: %s", self.global_step, reason)
        self.events.append({"kind": "paused", "step": self.global_step, "reason": reason})
        while reason is not None:
            if self.fit.on_pause is not None:
                self.fit.on_pause(self.global_step, reason)
            time.sleep(self.fit.pause_poll_s)
            reason = self.fit.pause_when()
        waited = time.monotonic() - start
        log.warning("resuming at step %d after %.0fs paused", self.global_step, waited)
        self.events.append({"kind": "resumed", "step": self.global_step, "paused_s": waited})

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        metrics = {k: float(v) for k, v in (logs or {}).items()}
        self.history.append({"epoch": epoch + 1, "step": self.global_step, **metrics})
        self._emit({f"epoch_{k}": v for k, v in metrics.items()} | {"epoch": epoch + 1})
        self.fit.note_epoch_end(epoch, metrics)
        if self.fit.plan.at_epoch_end:
            self._save(self.fit.steps_per_epoch, metrics)

    def _save(self, step_in_epoch: int, metrics: dict[str, float]) -> None:
        self.fit.save_checkpoint(self._epoch, step_in_epoch, self.global_step, metrics)
        self.checkpoints_written += 1
        self._last_save_time = time.monotonic()

    def _emit(self, metrics: dict[str, float]) -> None:
        for sink in self.fit.sinks:
            sink.log(self.global_step, metrics)

"""The anomaly monitor on a real (small) training run of the engine: a NaN injected by the
real fault injector is detected at its step and recovered from by rolling back to the last
good checkpoint with a lower learning rate; `stop` and `warn` do what they say."""
from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from training_lib.config.anomalies import AnomalyConfig
from training_lib.data.dataset import Dataset
from training_lib.monitoring.callback import AnomalyMonitor
from training_lib.monitoring.events import EventStore, read_events
from training_lib.training.checkpoints import CheckpointStore
from training_lib.training.engine import FitPlan, ResumableFit
from training_lib.training.faults import InjectFaults

PLAN = FitPlan(epochs=3, batch_size=16, seed=3, every_steps=4)  # 10 steps per epoch


def _dataset(n: int = 150) -> Dataset:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n + 40, 8)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int32")
    return Dataset("toy", {"train": x[:n], "val": x[n:]}, {"train": y[:n], "val": y[n:]})


def _model() -> keras.Model:
    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(2)])
    model.compile(keras.optimizers.Adam(1e-2),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _run(tmp_path, config: AnomalyConfig, nan_at: int | None = 13):
    model = _model()
    tags: dict[str, str] = {}
    monitor = AnomalyMonitor(config, EventStore(tmp_path / "anomalies.jsonl"),
                             model_name="toy", tagger=tags.update)
    fit = ResumableFit(model, _dataset(), PLAN, CheckpointStore(tmp_path / "ckpt"),
                       extra_callbacks=[InjectFaults({"nan_at_step": nan_at})] if nan_at else [],
                       monitors=[monitor])
    assert monitor.fit is fit  # bound by the engine, nothing patched onto it
    result = fit.run()
    return model, result, monitor, tags, read_events(tmp_path / "anomalies.jsonl")


def test_injected_nan_is_rolled_back_and_training_finishes(tmp_path):
    model, result, monitor, tags, events = _run(tmp_path, AnomalyConfig())
    assert result.global_step == 30  # the whole schedule ran
    assert all(np.isfinite(w).all() for w in model.get_weights())
    rollbacks = [e for e in result.events if e["kind"] == "rollback"]
    # the weights went NaN after step 13, so step 14's loss is the first non-finite one;
    # checkpoints every 4 steps: 12 is the last good one before 14
    assert len(rollbacks) == 1 and rollbacks[0]["to_step"] == 12
    assert rollbacks[0]["learning_rate"] == pytest.approx(5e-3)
    [event] = events
    assert event["kind"] == "nan" and event["step"] == 14 and event["severity"] == "critical"
    assert event["action"] == "rollback" and event["rolled_back_to"] == 12
    assert event["outcome"].startswith("rolled back from step 14 to checkpoint 12")
    assert tags["anomalies"] == "1" and tags["anomaly_kinds"] == "nan"
    assert tags["anomaly.001"].startswith("nan at step 14 (critical), action rollback")


def test_stop_action_ends_training_at_the_anomaly(tmp_path):
    config = AnomalyConfig.model_validate({"nan": {"action": "stop"}})
    _, result, _, _, events = _run(tmp_path, config)
    assert result.global_step == 14 and {"kind": "stopped", "step": 14} in result.events
    assert [(e["kind"], e["action"]) for e in events] == [("nan", "stop")]


def test_warn_records_and_goes_on(tmp_path):
    config = AnomalyConfig.model_validate({"nan": {"action": "warn"}})
    model, result, _, _, events = _run(tmp_path, config)
    assert result.global_step == 30 and not [e for e in result.events if e["kind"] == "rollback"]
    assert [(e["kind"], e["action"]) for e in events] == [("nan", "warn")]
    assert not all(np.isfinite(w).all() for w in model.get_weights())  # nothing was repaired


def test_disabled_monitor_records_nothing(tmp_path):
    config = AnomalyConfig.model_validate({"enabled": False})
    _, result, _, _, events = _run(tmp_path, config)
    assert events == [] and result.global_step == 30


def test_interval_mean_undoes_the_running_mean_keras_logs():
    monitor = AnomalyMonitor(AnomalyConfig(), EventStore.__new__(EventStore), model_name="m")
    losses = np.linspace(2.0, 1.0, 25)
    monitor.on_train_begin()
    got = []
    for n in range(1, 26):
        monitor.on_train_batch_begin(n - 1)
        if n % 10 == 0 or n == 25:
            got.append(monitor.interval_mean(float(losses[:n].mean())))
    assert got == pytest.approx([losses[:10].mean(), losses[10:20].mean(), losses[20:].mean()])
    monitor.on_train_begin()  # the next epoch: Keras restarts its running mean
    monitor.on_train_batch_begin(0)
    assert monitor.interval_mean(0.7) == 0.7
    assert math.isnan(monitor.interval_mean(math.nan))

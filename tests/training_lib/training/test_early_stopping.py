"""Early stopping in ResumableFit: stops after `patience` epochs without a better val_loss,
restores the best epoch's checkpoint, says why, and stops at the same epoch after a resume."""
from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from training_lib.data.dataset import Dataset
from training_lib.training.checkpoints import CheckpointStore
from training_lib.training.engine import FitPlan, ResumableFit
from tests.fixtures.fit_callbacks import Preempt

tf.config.experimental.enable_op_determinism()


def _noisy_dataset() -> Dataset:
    """Labels that are noise apart from one feature: val_loss falls, then rises as the
    model memorizes the noise."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(140, 20)).astype("float32")
    y = ((x[:, 0] > 0) ^ (rng.random(140) < 0.3)).astype("int32")
    return Dataset("toy", {"train": x[:100], "val": x[100:]}, {"train": y[:100], "val": y[100:]})


def _model() -> keras.Model:
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dense(2)])
    model.compile(keras.optimizers.Adam(3e-2),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


PLAN = FitPlan(epochs=40, batch_size=10, seed=5, every_steps=7, patience=3)


def test_stops_after_patience_and_restores_the_best_epoch(tmp_path):
    data, model = _noisy_dataset(), _model()
    result = ResumableFit(model, data, PLAN, CheckpointStore(tmp_path / "c")).run()
    val_losses = [h["val_loss"] for h in result.history]
    best = int(np.argmin(val_losses)) + 1
    assert result.stopped_at_epoch < PLAN.epochs
    assert result.stopped_at_epoch == len(result.history) == best + PLAN.patience
    assert result.best_epoch == best
    assert result.stop_reason.startswith("early stopping: val_loss did not improve for 3 epochs")
    assert result.restored_best
    # the weights are the best epoch's: its val_loss again, not the last epoch's
    again = model.evaluate(data.x["val"], data.y["val"], verbose=0)
    assert again == pytest.approx(val_losses[best - 1], rel=1e-4)
    assert again < val_losses[-1]


def test_without_patience_the_budget_ends_training(tmp_path):
    plan = FitPlan(epochs=4, batch_size=10, seed=5)
    result = ResumableFit(_model(), _noisy_dataset(), plan, CheckpointStore(tmp_path / "c")).run()
    assert (result.stopped_at_epoch, result.stop_reason, result.best_epoch) == (4, "epoch budget",
                                                                                None)
    assert not result.restored_best


@pytest.mark.parametrize("kill_after", [23, 45])
def test_a_resumed_fit_stops_where_an_uninterrupted_one_does(tmp_path, kill_after):
    data = _noisy_dataset()
    reference = _model()
    full = ResumableFit(reference, data, PLAN, CheckpointStore(tmp_path / "ref")).run()
    assert full.stopped_at_epoch * 10 > kill_after  # the kill comes before the stop
    with pytest.raises(RuntimeError, match="preempted"):
        ResumableFit(_model(), data, PLAN, CheckpointStore(tmp_path / "run"),
                     extra_callbacks=[Preempt(kill_after)]).run()
    resumed = _model()
    result = ResumableFit(resumed, data, PLAN, CheckpointStore(tmp_path / "run")).run()
    assert (result.stopped_at_epoch, result.best_epoch) == (full.stopped_at_epoch, full.best_epoch)
    assert result.global_step == full.global_step
    for a, b in zip(reference.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)

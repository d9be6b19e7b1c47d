"""ResumableFit: an interrupted run resumed from its checkpoint ends with the same weights
as an uninterrupted one, having run exactly the missing batches."""
from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from training_lib.data.dataset import Dataset
from training_lib.training.checkpoints import CheckpointStore
from training_lib.training.engine import FitPlan, ResumableFit, epoch_permutation
from tests.fixtures.fit_callbacks import CountBatches, Preempt, count_train_step_traces

tf.config.experimental.enable_op_determinism()


def _dataset(n: int = 150) -> Dataset:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n + 40, 8)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int32")
    return Dataset("toy", {"train": x[:n], "val": x[n:]}, {"train": y[:n], "val": y[n:]})


def _model() -> keras.Model:
    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dropout(0.3), keras.layers.Dense(2)])
    model.compile(keras.optimizers.Adam(1e-2),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


PLAN = FitPlan(epochs=3, batch_size=16, seed=3, every_steps=4, at_epoch_end=True)


@pytest.mark.parametrize("kill_after", [5, 10, 15, 27])
def test_resume_mid_epoch_matches_uninterrupted(tmp_path, kill_after):
    data = _dataset()
    reference = _model()
    full = ResumableFit(reference, data, PLAN, CheckpointStore(tmp_path / "ref")).run()
    assert full.global_step == 30  # 10 batches x 3 epochs

    interrupted = _model()
    with pytest.raises(RuntimeError, match="preempted"):
        ResumableFit(interrupted, data, PLAN, CheckpointStore(tmp_path / "run"),
                     extra_callbacks=[Preempt(kill_after)]).run()

    resumed = _model()  # a fresh process would rebuild the model from scratch
    counter = CountBatches()
    result = ResumableFit(resumed, data, PLAN, CheckpointStore(tmp_path / "run"),
                          extra_callbacks=[counter]).run()
    # step checkpoints every 4 steps; epoch-end ones (10, 20) only once the epoch has ended,
    # which happens after its last batch (so not when the kill hits that batch)
    last_checkpoint = max(s for s in range(0, kill_after + 1)
                          if s % 4 == 0 or (s % 10 == 0 and s < kill_after))
    assert result.resumed_from_step == (last_checkpoint or None)
    assert counter.count == 30 - last_checkpoint  # exactly the batches not yet done
    assert result.global_step == 30
    for a, b in zip(reference.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(reference.optimizer.iterations.numpy(),
                               resumed.optimizer.iterations.numpy())


def test_the_train_step_is_traced_once_over_all_epochs(tmp_path):
    model = _model()
    traces = count_train_step_traces(model)
    ResumableFit(model, _dataset(), PLAN, CheckpointStore(tmp_path / "run")).run()
    assert len(traces) == 1  # optimizer built before the first fit (optimizer_state.py)


def test_epoch_order_depends_on_seed_and_epoch_only():
    a = epoch_permutation(1, 0, 50)
    assert np.array_equal(a, epoch_permutation(1, 0, 50))
    assert not np.array_equal(a, epoch_permutation(1, 1, 50))
    assert sorted(a.tolist()) == list(range(50))


def test_changed_architecture_is_refused(tmp_path):
    data = _dataset()
    ResumableFit(_model(), data, FitPlan(epochs=1, batch_size=16, seed=1, every_steps=5),
                 CheckpointStore(tmp_path)).run()
    other = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4), keras.layers.Dense(2)])
    other.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    from training_lib.errors import CheckpointError

    with pytest.raises(CheckpointError, match="model or its config changed"):
        ResumableFit(other, data, FitPlan(epochs=2, batch_size=16, seed=1),
                     CheckpointStore(tmp_path)).run()


def test_metrics_reach_sinks(tmp_path):
    class Collect:
        def __init__(self):
            self.rows = []

        def log(self, step, metrics):
            self.rows.append((step, metrics))

    sink = Collect()
    ResumableFit(_model(), _dataset(), FitPlan(epochs=2, batch_size=16, seed=1, log_every_steps=5),
                 CheckpointStore(tmp_path), sinks=[sink]).run()
    steps = [s for s, m in sink.rows if "loss" in m]
    assert steps == [5, 10, 15, 20]
    assert all(np.isfinite(m["loss"]) and m["samples_per_second"] > 0
               for s, m in sink.rows if "loss" in m)
    assert [m["epoch"] for s, m in sink.rows if "epoch_loss" in m] == [1, 2]


class PoisonAt(keras.callbacks.Callback):
    """Makes the weights NaN at one step (once), then asks the engine to roll back."""

    def __init__(self, fit_ref: list, step: int) -> None:
        super().__init__()
        self.fit_ref, self.step, self.seen, self.fired = fit_ref, step, 0, False

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.step and not self.fired:
            self.fired = True
            for v in self.model.trainable_variables:
                v.assign(np.full(v.shape, np.nan, dtype="float32"))
        loss = float((logs or {}).get("loss", 0.0))
        if self.fired and not np.isfinite(loss):
            self.fit_ref[0].request_rollback(self.seen, f"NaN loss at step {self.seen}")


def test_rollback_to_last_good_checkpoint_with_reduced_lr(tmp_path):
    data = _dataset()
    model = _model()
    ref: list = []
    poison = PoisonAt(ref, 13)
    fit = ResumableFit(model, data, PLAN, CheckpointStore(tmp_path), extra_callbacks=[poison])
    ref.append(fit)
    result = fit.run()
    rollbacks = [e for e in result.events if e["kind"] == "rollback"]
    assert len(rollbacks) == 1 and rollbacks[0]["to_step"] == 12
    assert rollbacks[0]["learning_rate"] == pytest.approx(5e-3)
    assert result.global_step == 30
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_low_disk_pauses_after_a_checkpoint_and_resumes_when_space_returns(tmp_path):
    """auto_pause_on_low_disk: the pause check (every 10 steps) says "low" at step 20 for
    three polls; training checkpoints, waits, then goes on to the same final weights."""
    data = _dataset()
    reference = _model()
    ResumableFit(reference, data, PLAN, CheckpointStore(tmp_path / "ref")).run()

    low = "0.40 GB free, under min_disk_space_gb 1.0"
    answers = iter([None, low, low, low])  # step 10: fine; step 20: low for three polls
    beats = []
    model = _model()
    store = CheckpointStore(tmp_path / "run", asynchronous=False, keep_last=10)
    fit = ResumableFit(model, data, PLAN, store,
                       pause_when=lambda: next(answers, None),
                       on_pause=lambda step, why: beats.append((step, why)))
    fit.pause_poll_s = 0.01
    result = fit.run()
    paused = [e for e in result.events if e["kind"] == "paused"]
    resumed = [e for e in result.events if e["kind"] == "resumed"]
    assert [(e["step"], e["reason"][:9]) for e in paused] == [(20, "0.40 GB f")]
    assert resumed and resumed[0]["step"] == 20
    assert 20 in store.steps()  # checkpointed before waiting
    assert [s for s, _ in beats] == [20, 20, 20]  # the heartbeat says "paused" while waiting
    assert result.global_step == 30
    for a, b in zip(reference.get_weights(), model.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)

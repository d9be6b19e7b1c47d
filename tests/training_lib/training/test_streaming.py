"""Training from rows kept on disk (`CachedRows` + `RowBatches`) is the same training as
from memory: same batches, same weights, and an exact mid-epoch resume."""
from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from training_lib.data.dataset import Dataset
from training_lib.data.rows import CachedRows
from training_lib.training.batches import RowBatches, predict_rows
from training_lib.training.checkpoints import CheckpointStore
from training_lib.training.engine import FitPlan, ResumableFit, epoch_permutation
from training_lib.training.evaluation import evaluate
from tests.fixtures.fit_callbacks import Preempt

tf.config.experimental.enable_op_determinism()

PLAN = FitPlan(epochs=2, batch_size=16, seed=3, every_steps=4, at_epoch_end=True)


def _arrays(n: int = 150) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n + 40, 8)).astype("float32")
    return x, (x[:, 0] + x[:, 1] > 0).astype("int32")


def _on_disk(x: np.ndarray, folder) -> CachedRows:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, row in enumerate(x):
        np.save(folder / f"{i}.npy", row)
        paths.append(folder / f"{i}.npy")
    return CachedRows.of(paths)


def _datasets(tmp_path, n: int = 150) -> tuple[Dataset, Dataset]:
    x, y = _arrays(n)
    memory = Dataset("toy", {"train": x[:n], "val": x[n:], "test": x[n:]},
                     {"train": y[:n], "val": y[n:], "test": y[n:]}, classes=["a", "b"])
    disk = Dataset("toy", {"train": _on_disk(x[:n], tmp_path / "train"),
                           "val": _on_disk(x[n:], tmp_path / "val"),
                           "test": _on_disk(x[n:], tmp_path / "test")},
                   dict(memory.y), classes=["a", "b"])
    return memory, disk


def _model() -> keras.Model:
    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dropout(0.3), keras.layers.Dense(2)])
    model.compile(keras.optimizers.Adam(1e-2),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def test_batches_hold_the_rows_of_the_order_in_order(tmp_path):
    memory, disk = _datasets(tmp_path)
    order = epoch_permutation(3, 0, 150)[37:]  # a resumed epoch's remaining rows
    batches = RowBatches(disk.x["train"], disk.y["train"], order, 16, workers=2)
    assert len(batches) == 8  # ceil(113 / 16)
    xs, ys = zip(*(batches[i] for i in range(len(batches))))
    np.testing.assert_array_equal(np.concatenate(xs), memory.x["train"][order])
    np.testing.assert_array_equal(np.concatenate(ys), memory.y["train"][order])


def test_training_from_disk_equals_training_from_memory(tmp_path):
    memory, disk = _datasets(tmp_path)
    a, b = _model(), _model()
    ra = ResumableFit(a, memory, PLAN, CheckpointStore(tmp_path / "a")).run()
    rb = ResumableFit(b, disk, PLAN, CheckpointStore(tmp_path / "b")).run()
    assert rb.global_step == ra.global_step == 20
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, atol=1e-6)
    assert [h["val_loss"] for h in rb.history] == pytest.approx([h["val_loss"] for h in ra.history],
                                                                abs=1e-6)
    assert evaluate("classification", b, disk) == evaluate("classification", a, memory)
    np.testing.assert_allclose(predict_rows(b, disk.x["test"], 7), a.predict(memory.x["test"]),
                               atol=1e-6)


def test_resume_mid_epoch_from_disk_is_exact(tmp_path):
    memory, disk = _datasets(tmp_path)
    reference = _model()
    ResumableFit(reference, memory, PLAN, CheckpointStore(tmp_path / "ref")).run()
    with pytest.raises(RuntimeError, match="preempted"):
        ResumableFit(_model(), disk, PLAN, CheckpointStore(tmp_path / "run"),
                     extra_callbacks=[Preempt(14)]).run()
    resumed = _model()
    result = ResumableFit(resumed, disk, PLAN, CheckpointStore(tmp_path / "run")).run()
    # step 12's checkpoint (every 4 steps) or, when its write was still in flight at the
    # kill (JAX dispatches asynchronously), the epoch-end one at step 10
    assert result.resumed_from_step in (10, 12)
    assert result.steps_run == 20 - result.resumed_from_step
    for wa, wb in zip(reference.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(wa, wb, atol=1e-6)

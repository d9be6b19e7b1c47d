"""Bias correction of new classes after a fine-tune: the offset that minimises the
validation cross-entropy, written into the logits layer's bias, new classes only."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from training_lib.data.dataset import Dataset
from training_lib.incremental.calibrate import best_offset, correct_new_class_bias
from training_lib.incremental.recipe import finish_finetune


def _brute_force(logits: np.ndarray, labels: np.ndarray, columns: list[int]) -> float:
    grid = np.linspace(-10, 10, 20001)
    losses = []
    for d in grid:
        z = logits.astype(np.float64).copy()
        z[:, columns] += d
        z -= z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        losses.append(-log_p[np.arange(len(labels)), labels].mean())
    return float(grid[int(np.argmin(losses))])


def test_the_offset_minimises_the_validation_cross_entropy():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=200)
    logits = rng.normal(size=(200, 3)) + 2.0 * np.eye(3)[labels]
    logits[:, 2] += 1.5  # the new class answered too often
    offset = best_offset(logits, labels, [2])
    assert abs(offset - _brute_force(logits, labels, [2])) < 2e-3
    assert -2.0 < offset < -1.0  # takes most of the +1.5 back


def _model_and_data(new_too_strong: float) -> tuple[keras.Model, Dataset]:
    """A linear classifier over one-hot inputs: class i's logit is 2 on its own rows,
    plus `new_too_strong` on class 2 everywhere (the new class, answered too often)."""
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(3, name="logits")(inputs))
    model.get_layer("logits").set_weights([2.0 * np.eye(3, dtype="float32"),
                                           np.asarray([0, 0, new_too_strong], "float32")])
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(3), 30)
    x = (np.eye(3)[labels] + rng.normal(scale=0.8, size=(90, 3))).astype("float32")
    data = Dataset("m", {"train": x, "val": x, "test": x},
                   {"train": labels, "val": labels, "test": labels}, ["a", "b", "c"], {}, [], {})
    return model, data


def test_the_new_classes_bias_is_corrected_in_the_model_and_old_classes_are_untouched():
    model, data = _model_and_data(new_too_strong=3.0)
    before = float(np.mean(model.predict(data.x["val"], verbose=0).argmax(-1) == data.y["val"]))
    record = correct_new_class_bias(model, data, champion_classes=["a", "b"])
    bias = model.get_layer("logits").get_weights()[1]
    assert record["new_classes"] == ["c"] and record["val_rows"] == 90
    assert bias[0] == 0 and bias[1] == 0  # old classes keep theirs
    assert bias[2] == pytest.approx(3.0 + record["bias_offset"]) and record["bias_offset"] < -2
    after = float(np.mean(model.predict(data.x["val"], verbose=0).argmax(-1) == data.y["val"]))
    assert after > before + 0.15  # 0.54 -> 0.72 with this seed


def test_nothing_is_corrected_without_a_new_class_or_without_its_validation_rows():
    model, data = _model_and_data(new_too_strong=3.0)
    assert correct_new_class_bias(model, data, ["a", "b", "c"]) == \
        {"bias_offset": None, "why": "no new class"}
    data.y["val"] = np.zeros(90, "int32")  # only old-class rows
    assert correct_new_class_bias(model, data, ["a", "b"])["bias_offset"] is None
    assert model.get_layer("logits").get_weights()[1][2] == 3.0


def test_finish_finetune_corrects_classifiers_only():
    model, data = _model_and_data(new_too_strong=3.0)
    assert finish_finetune("regression", model, data, ["a", "b"]) == {}
    record = finish_finetune("classification", model, data, ["a", "b"])
    assert record["bias_correction"]["bias_offset"] < -2

"""Bias correction of new classes after a fine-tune: the offset that maximises the
validation accuracy, written into the logits layer's bias, new classes only."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from training_lib.data.dataset import Dataset
from training_lib.incremental.calibrate import best_offset, correct_new_class_bias
from training_lib.incremental.recipe import finish_finetune


def _shifted(logits: np.ndarray, columns: list[int], d: float) -> np.ndarray:
    z = logits.astype(np.float64).copy()
    z[:, columns] += d
    return z


def _accuracy(logits: np.ndarray, labels: np.ndarray, columns: list[int], d: float) -> float:
    return float(np.mean(_shifted(logits, columns, d).argmax(axis=1) == labels))


def _cross_entropy(logits: np.ndarray, labels: np.ndarray, columns: list[int], d: float) -> float:
    z = _shifted(logits, columns, d)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(p[np.arange(len(labels)), labels])))


def test_the_offset_maximises_the_validation_accuracy_and_stays_at_0_when_nothing_helps():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=200)
    logits = rng.normal(size=(200, 3)) + 2.0 * np.eye(3)[labels]
    assert best_offset(5.0 * np.eye(3)[labels], labels, [2]) == 0.0  # nothing to gain: left alone
    biased = logits.copy()
    biased[:, 2] += 1.5  # the new class answered too often
    offset = best_offset(biased, labels, [2])
    fine = max(_accuracy(biased, labels, [2], d) for d in np.linspace(-6, 6, 4801))
    assert _accuracy(biased, labels, [2], offset) == fine
    assert fine > _accuracy(biased, labels, [2], 0.0) + 0.05
    assert -2.5 < offset < -0.5  # takes most of the +1.5 back


def test_where_the_cross_entropy_alone_would_over_correct_accuracy_wins():
    """Six old rows answered "new" so confidently that no offset fixes them pull the
    cross-entropy's minimum below -0.5, where the new class's own rows (margin 0.5) turn
    wrong; the accuracy keeps the offset above it."""
    labels = np.asarray([0] * 8 + [1] * 8 + [2] * 8)
    logits = np.zeros((24, 3))
    logits[np.arange(24), labels] = 2.0
    logits[16:, 2] = 0.5  # the new class's rows: right by a margin of 0.5
    logits[:6, 2] = 9.0  # old rows answered "new", beyond any offset's reach
    offset = best_offset(logits, labels, [2])
    free = min(np.linspace(-6, 6, 2401), key=lambda d: _cross_entropy(logits, labels, [2], d))
    assert free < -0.5 and _accuracy(logits, labels, [2], free) == pytest.approx(10 / 24)
    assert -0.5 < offset <= 0 and _accuracy(logits, labels, [2], offset) == pytest.approx(18 / 24)


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
    assert bias[2] == pytest.approx(3.0 + record["bias_offset"]) and record["bias_offset"] < -1
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
    assert record["bias_correction"]["bias_offset"] < -1

"""Distillation from the champion on replayed rows: the targets, the compile round trip,
and the fine-tune recipe that puts replay and distillation together."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from training_lib.data.dataset import Dataset
from training_lib.incremental import distill
from training_lib.incremental.recipe import seed_finetune
from training_lib.models.common import compile_classifier
from training_lib.training.optimizer_state import restore_compile


def test_replayed_rows_mix_their_label_with_the_champions_answer_placed_by_class_name():
    classes = ["a", "b", "new"]
    labels = np.asarray([0, 1, 2])
    distilled = np.asarray([True, True, False])  # the new-class row keeps its label
    logits = np.log(np.asarray([[0.2, 0.8], [0.6, 0.4]]))  # champion classes: b, a
    out = distill.soft_targets(labels, classes, distilled, logits, ["b", "a"], weight=0.5)
    np.testing.assert_allclose(out, [[0.5 + 0.4, 0.1, 0.0],   # a: label a, champion a=0.8
                                     [0.2, 0.5 + 0.3, 0.0],   # b: label b, champion b=0.6
                                     [0.0, 0.0, 1.0]], atol=1e-6)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-6)
    plain = distill.soft_targets(labels, classes, distilled, logits, ["b", "a"], weight=0.0)
    np.testing.assert_array_equal(plain, np.eye(3, dtype=np.float32))


def test_logits_that_do_not_match_the_distilled_rows_are_a_clear_error():
    with pytest.raises(ValueError, match=r"champion logits of shape \(1, 2\); expected \(2, 2\)"):
        distill.soft_targets(np.asarray([0, 1]), ["a", "b"], np.asarray([True, True]),
                             np.zeros((1, 2)), ["a", "b"], 0.5)
    with pytest.raises(ValueError, match="weight: got 1.5"):
        distill.soft_targets(np.asarray([0]), ["a"], np.asarray([False]), np.zeros((0, 1)),
                             ["a"], 1.5)


def _classifier(n_classes: int, seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(8, activation="relu", name="hidden")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(n_classes, name="logits")(hidden))
    return compile_classifier(model, 1e-2)


def _three_classes(n_per_class: int = 30) -> Dataset:
    """Classes a, b (old) and c (new): train rows of c are new-*, the rest old-*."""
    rng = np.random.default_rng(0)
    centers = np.asarray([[3, 0, 0, 0], [0, 3, 0, 0], [0, 0, 3, 0]], "float32")
    x, y, keys = {}, {}, {}
    for split, n in (("train", n_per_class), ("val", 4), ("test", 6)):
        labels = np.repeat(np.arange(3), n)
        x[split] = (centers[labels] + rng.normal(size=(3 * n, 4))).astype("float32")
        y[split] = labels.astype("int32")
        keys[split] = [f"{'new' if c == 2 else 'old'}-{split}-{i}" for i, c in enumerate(labels)]
    return Dataset("m", x, y, ["a", "b", "c"], {}, [], keys)


def test_the_recipe_replays_balanced_distils_old_rows_and_compiles_back():
    data = _three_classes()
    old_keys = {k for s in data.keys.values() for k in s if k.startswith("old-")}
    champion = _classifier(2)
    champion.fit(data.x["train"][:60], data.y["train"][:60], epochs=5, verbose=0)
    model = _classifier(3, seed=1)
    tuned, record = seed_finetune("classification", champion, ["a", "b"], model, data, old_keys,
                                  replay_ratio=1.0, distillation_weight=0.5, seed=0)
    assert record["counts"]["replay_per_class"] == {"a": 30, "b": 30}
    assert record["distillation"] == {"distilled_rows": 60, "distillation_weight": 0.5}
    np.testing.assert_array_equal(model.get_layer("hidden").get_weights()[0],
                                  champion.get_layer("hidden").get_weights()[0])
    y = tuned.y["train"]
    assert y.shape == (90, 3) and tuned.y["val"].shape == (12, 3)
    new_rows = np.asarray([k.startswith("new-") for k in tuned.keys["train"]])
    np.testing.assert_array_equal(y[new_rows], np.eye(3, dtype="float32")[[2] * 30])
    old_rows = y[~new_rows]
    assert np.all(old_rows[:, 2] == 0)  # the champion never knew c
    labels = np.asarray(data.y["train"])[:60]
    expected_teacher = keras.ops.convert_to_numpy(
        keras.ops.softmax(champion.predict(data.x["train"][:60], verbose=0)))
    np.testing.assert_allclose(old_rows[:, :2],  # all 60 old rows, in their order
                               0.5 * np.eye(2)[labels] + 0.5 * expected_teacher, atol=1e-5)

    assert isinstance(model.loss, keras.losses.CategoricalCrossentropy)
    model.fit(tuned.x["train"], y, validation_data=(tuned.x["val"], tuned.y["val"]), epochs=1,
              verbose=0)
    assert restore_compile(model) is True
    assert isinstance(model.loss, keras.losses.SparseCategoricalCrossentropy)
    model.evaluate(data.x["test"], data.y["test"], verbose=0)  # own loss, index labels
    assert restore_compile(model) is False  # nothing left to restore


def test_without_distillation_or_for_other_tasks_targets_and_compile_stay():
    data = _three_classes()
    old_keys = {k for s in data.keys.values() for k in s if k.startswith("old-")}
    for task, weight in (("classification", 0.0), ("regression", 0.5)):
        model = _classifier(3)
        loss = model.loss
        tuned, record = seed_finetune(task, _classifier(2), ["a", "b"], model, data, old_keys,
                                      replay_ratio=1.0, distillation_weight=weight, seed=0)
        assert record["distillation"] is None and model.loss is loss
        assert tuned.y["train"].ndim == 1


def test_a_model_not_on_logits_is_fine_tuned_on_labels_with_a_note():
    data = _three_classes()
    old_keys = {k for s in data.keys.values() for k in s if k.startswith("old-")}
    model = _classifier(3)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    tuned, record = seed_finetune("classification", _classifier(2), ["a", "b"], model, data,
                                  old_keys, replay_ratio=1.0, distillation_weight=0.5, seed=0)
    assert record["distillation"] is None and tuned.y["train"].ndim == 1
    assert "no distillation: the model is not a classifier compiled on logits" in record["notes"]

"""Incremental learning pieces: old/new split by keys, head growth, per-row
outcomes and their paired comparison, the short-circuit, and a rejected version keeping
the champion. (The guard's rule: test_guard.py; baselines: test_baseline.py; replay:
test_replay.py; distillation: test_distill.py.)"""
from __future__ import annotations

import keras
import numpy as np
import pytest

from training_lib.data.dataset import Dataset
from training_lib.incremental import finetune


def _dataset(n_train: int = 40) -> Dataset:
    rng = np.random.default_rng(0)
    x = {s: rng.normal(size=(n, 4)).astype("float32") for s, n in
         (("train", n_train), ("val", 5), ("test", 10))}
    y = {s: (v[:, 0] > 0).astype("int32") for s, v in x.items()}
    keys = {s: [f"{s}-{i}" for i in range(len(v))] for s, v in x.items()}
    return Dataset("m", x, y, ["neg", "pos"], {}, [], keys)


def test_missing_keys_are_a_clear_error():
    data = _dataset()
    data.keys = {}
    with pytest.raises(ValueError, match="no sample keys"):
        finetune.old_new_index(data, "train", set())


def _classifier(n_classes: int) -> keras.Model:
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(3, name="hidden")(inputs)
    return keras.Model(inputs, keras.layers.Dense(n_classes, name="head")(hidden))


def test_weights_transfer_into_a_head_with_new_classes_by_name():
    old, new = _classifier(2), _classifier(3)
    notes = finetune.transfer_weights(old, ["cat", "dog"], new, ["bird", "cat", "dog"])
    np.testing.assert_array_equal(new.get_layer("hidden").get_weights()[0],
                                  old.get_layer("hidden").get_weights()[0])
    w_old, b_old = old.get_layer("head").get_weights()
    w_new, _ = new.get_layer("head").get_weights()
    np.testing.assert_array_equal(w_new[:, 1], w_old[:, 0])  # cat
    np.testing.assert_array_equal(w_new[:, 2], w_old[:, 1])  # dog
    assert notes and "1 new class" in notes[0]


def test_scores_map_predictions_through_the_models_own_classes():
    data = _dataset()
    data.classes = ["neg", "pos"]
    model = _classifier(2)
    old = {f"test-{i}" for i in range(5)}
    score = finetune.score_old_new("classification", model, ["neg", "pos"], data, old)
    assert score.n_old == 5 and score.n_new == 5 and 0 <= score.old <= 1
    flipped = finetune.score_old_new("classification", model, ["pos", "neg"], data, old)
    assert flipped.old == pytest.approx(1 - score.old)  # same outputs, names swapped


def test_paired_comparison_uses_the_same_rows_for_champion_and_candidate():
    data = _dataset()
    old = {f"test-{i}" for i in range(5)}
    model = _classifier(2)
    champion = finetune.row_outcomes("classification", model, ["neg", "pos"], data, old)
    flipped = finetune.row_outcomes("classification", model, ["pos", "neg"], data, old)
    sides = finetune.compare(champion, flipped, data, old)
    for side in ("old", "new"):
        c = sides[side]
        assert c.n == 5 and c.a_only + c.b_only == 5  # every row flips
        assert c.metric_a == pytest.approx(1 - c.metric_b)
    assert finetune.compare(champion, champion, data, set())["old"] is None  # no old rows


def test_nothing_new_short_circuits_with_a_clear_message(tmp_path):
    from tests.fixtures.incremental_runs import champion_trained_on, incremental_night
    from training_lib.incremental.snapshot import save_snapshot
    from training_lib.incremental.step import detect_new_data

    model, _ = champion_trained_on(tmp_path, ["aaa"])
    first = incremental_night(tmp_path, "incr_test", "run-1", model, ["aaa", "bbb"])
    assert detect_new_data(first)["proceed"] is True  # bbb is new to the champion
    save_snapshot(first, ["aaa", "bbb"], [model])
    second = incremental_night(tmp_path, "incr_test", "run-2", model, ["aaa", "bbb"])
    summary = detect_new_data(second)
    assert summary["proceed"] is False
    assert summary["message"].startswith("nothing new since run run-1")
    third = incremental_night(tmp_path, "incr_test", "run-3", model, ["aaa", "bbb", "ccc"])
    assert detect_new_data(third)["models_with_new_data"] == [model]


def test_rejected_version_is_tagged_and_the_champion_stays():
    from tests.fixtures.registry_models import alias_of as _alias, register_versions as _versions
    from training_lib.registry import tracking
    from training_lib.registry.promotion import _apply_guard, move_alias

    name = _versions(2)
    move_alias(name, "champion", "1", "first")
    decision = _apply_guard(name, "2", {"champion_version": "1", "accepted": False,
                                        "reason": "forgetting: old-data metric fell 0.9 -> 0.8"})
    assert decision["tag"] == "rejected" and _alias(name, "champion") == "1"
    version = tracking.client().get_model_version(name, "2")
    assert version.tags["status"] == "rejected" and "forgetting" in version.tags["status_reason"]


def test_rows_are_predicted_eagerly_with_the_outputs_of_predict():
    model = _classifier(3)
    x = np.random.default_rng(0).normal(size=(300, 4)).astype("float32")  # two batches
    np.testing.assert_allclose(finetune.predict_rows(model, x),
                               model.predict(x, batch_size=256, verbose=0), rtol=1e-5, atol=1e-6)
    inputs = {"a": keras.Input((2,), name="a"), "b": keras.Input((2,), name="b")}
    joined = keras.layers.Concatenate()([inputs["a"], inputs["b"]])
    two = keras.Model(inputs, keras.layers.Dense(2)(joined))
    parts = {"a": x[:, :2], "b": x[:, 2:]}
    np.testing.assert_allclose(finetune.predict_rows(two, parts),
                               two.predict(parts, verbose=0), rtol=1e-5, atol=1e-6)


class _PredictOnly:
    def predict(self, x, batch_size=None, verbose=0):
        return np.ones((len(x), 2))


def test_a_model_that_only_predicts_is_asked_to_predict():
    assert finetune.predict_rows(_PredictOnly(), np.zeros((3, 4))).shape == (3, 2)

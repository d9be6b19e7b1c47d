"""A student's round: own rows keep their labels and gain KL targets, unlabeled paired
items are appended with their soft targets, steps stay those of the own rows."""
from __future__ import annotations

import keras
import numpy as np

from training_lib.collab.consume import apply_knowledge, epochs_for
from training_lib.training.optimizer_state import restore_compile
from training_lib.collab.knowledge import StudentKnowledge
from training_lib.config.schema import Collaboration
from training_lib.data.dataset import Dataset
from training_lib.models.common import compile_classifier

COLLAB = Collaboration(strategies=("cotraining", "distillation"), cotraining_weight=0.5)


def _student() -> tuple[keras.Model, Dataset]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    ds = Dataset("m", {"train": x[:20], "val": x[20:25], "test": x[25:]},
                 {"train": y[:20], "val": y[20:25], "test": y[25:]}, ["neg", "pos"])
    keras.utils.set_random_seed(0)
    model = compile_classifier(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]), 0.01)
    return model, ds


def _knowledge(ds: Dataset) -> StudentKnowledge:
    new = np.array([[9, 9, 9, 9], [8, 8, 8, 8], [7, 7, 7, 7]], np.float32)
    x = np.concatenate([ds.x["train"][[2, 5]], new])  # two own rows, three new items
    cotrain = np.array([[0, 0], [0, 0], [0.1, 0.9], [0, 0], [0, 0]], np.float32)
    confident = np.array([False, False, True, False, False])
    distill = np.array([[0.3, 0.7], [0, 0], [0.2, 0.8], [0.4, 0.6], [0, 0]], np.float32)
    return StudentKnowledge("m", ["neg", "pos"], x, np.array(list("abcde")), cotrain, confident,
                            distill, np.ones(5, np.int32))


def test_own_rows_gain_distillation_and_new_items_are_appended():
    model, ds = _student()
    out, stats = apply_knowledge(model, ds, _knowledge(ds), {}, COLLAB)
    y = out.y["train"]
    assert stats["matched_own_rows"] == 2 and stats["distilled_own_rows"] == 1
    assert stats["added_rows"] == 2 and stats["added_pseudo_labeled"] == 1
    assert out.size("train") == 22 and y.shape == (22, 4)
    np.testing.assert_allclose(y[2], [*np.eye(2)[ds.y["train"][2]], 0.3, 0.7])  # label kept
    np.testing.assert_array_equal(y[5, 2:], [0, 0])  # own row without a distillation target
    np.testing.assert_allclose(y[20], [0.05, 0.45, 0.2, 0.8])  # pseudo-label x weight 0.5
    np.testing.assert_allclose(y[21], [0, 0, 0.4, 0.6])  # unsure: distils only
    assert not any((out.x["train"] == 7).all(axis=1))  # no target at all: dropped
    assert out.y["test"] is ds.y["test"] and out.y["val"].shape == (5, 4)
    assert ds.size("train") == 20  # the worker evaluates on the untouched dataset


def test_the_round_trains_on_soft_targets_and_the_saved_model_has_its_own_loss(tmp_path):
    model, ds = _student()
    out, _ = apply_knowledge(model, ds, _knowledge(ds), {}, COLLAB)
    history = model.fit(out.x["train"], out.y["train"], epochs=2, verbose=0,
                        validation_data=(out.x["val"], out.y["val"]))
    assert np.isfinite(history.history["loss"]).all() and "val_accuracy" in history.history
    assert restore_compile(model) and not restore_compile(model)
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")  # no custom objects needed
    assert "sparse_categorical_crossentropy" in str(again.loss)


def test_knowledge_for_other_classes_is_skipped():
    model, ds = _student()
    k = _knowledge(ds)
    k.classes = ["a", "b"]
    out, stats = apply_knowledge(model, ds, k, {}, COLLAB)
    assert out is ds and stats["targets"].startswith("skipped")


def test_same_steps_scales_the_epochs_by_the_step_ratio():
    assert epochs_for(10, own_rows=64, train_rows=128, batch_size=32, cfg=COLLAB) == 5
    assert epochs_for(10, own_rows=20, train_rows=88, batch_size=32, cfg=COLLAB) == 3
    assert epochs_for(10, 64, 64, 32, COLLAB) == 10
    more = COLLAB.model_copy(update={"same_steps": False})
    assert epochs_for(10, 64, 128, 32, more) == 10


def test_nothing_new_leaves_the_dataset_and_the_loss_alone():
    model, ds = _student()
    k = _knowledge(ds)
    own = [0, 1]  # co-training only, and only for rows the model has labels for
    only_own = type(k)("m", k.classes, k.x[own], k.keys[own], k.cotrain[own],
                       k.confident[own], np.zeros_like(k.distill[own]), k.teachers[own])
    out, stats = apply_knowledge(model, ds, only_own, {}, COLLAB)
    assert out is ds and stats["targets"].startswith("none: all 2 items")
    assert not restore_compile(model)  # never recompiled

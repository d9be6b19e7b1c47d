"""Distillation from the champion on the replayed rows (learning without forgetting).

A fine-tune's replayed old rows are trained towards a mix of their label and the
champion's own answer on them: `(1 - weight) x one-hot label + weight x softmax(champion
logits)`, the champion's columns placed by class name (a class it did not know gets 0).
New rows keep their one-hot label, so the new data is learned as it is. The champion's
answer carries what it knew about the old classes beyond the label (which old texts
look alike), which replay alone loses while the new class pulls the shared n-gram
embeddings its way: on the demo fortunes, night 1 (love added), two seeds, balanced
replay alone left old-data accuracy 7.9 points under a full retrain's, with distillation
at weight 0.5 1.6 points under. The preset's 0.75 kept every night of the demo fortunes
(weight 0.5: two forgetting rejections), at 3.5 points of new-data accuracy on the real
docstrings (README "Nightly incremental learning").

Targets become (n, classes) probabilities, so the model is compiled for them
(`compile_for_soft_targets`) and compiled back with its own loss after the fit
(`training.optimizer_state.restore_compile`), before it is evaluated and saved.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from training_lib.data.dataset import Dataset
from training_lib.incremental.finetune import old_new_index, predict_rows
from training_lib.training.optimizer_state import compile_temporarily



def soft_targets(labels: np.ndarray, classes: list[str], distilled: np.ndarray,
                 champion_logits: np.ndarray, champion_classes: list[str],
                 weight: float) -> np.ndarray:
    """(n, len(classes)) float32 targets: one-hot labels, mixed on rows `distilled`
    (a boolean mask, one logits row of the champion per True) with the champion's
    softmax at `weight`."""
    if not 0 <= weight <= 1:
        raise ValueError(f"distillation weight: got {weight}; expected 0 <= weight <= 1")
    labels = np.asarray(labels, np.int64)
    out = np.zeros((len(labels), len(classes)), np.float32)
    out[np.arange(len(labels)), labels] = 1.0
    logits = np.asarray(champion_logits, np.float64)
    if logits.shape != (int(np.sum(distilled)), len(champion_classes)):
        raise ValueError(f"champion logits of shape {logits.shape}; expected "
                         f"({int(np.sum(distilled))}, {len(champion_classes)}): one row per "
                         "distilled row, one column per champion class")
    p = np.exp(logits - logits.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    teacher = np.zeros((len(p), len(classes)), np.float32)
    for i, name in enumerate(champion_classes):
        if name in classes:
            teacher[:, classes.index(name)] = p[:, i]
    out[distilled] = (1 - weight) * out[distilled] + weight * teacher
    return out


def with_champion_targets(dataset: Dataset, old_keys: set[str], champion: Any,
                          champion_classes: list[str] | None, weight: float,
                          batch_size: int = 256) -> tuple[Dataset, dict[str, Any]]:
    """`dataset` (new + replayed rows) with probability targets: the replayed (old) train
    rows distilled from `champion`, every other train and val row one-hot."""
    classes = list(dataset.classes or [])
    old, _ = old_new_index(dataset, "train", old_keys)
    distilled = np.zeros(dataset.size("train"), dtype=bool)
    distilled[old] = True
    logits = (predict_rows(champion, dataset.take("train", old)[0], batch_size) if len(old) else
              np.zeros((0, len(champion_classes or classes)), np.float32))
    y = {"train": soft_targets(dataset.y["train"], classes, distilled, logits,
                               list(champion_classes or classes), weight)}
    if dataset.size("val"):
        y["val"] = soft_targets(dataset.y["val"], classes, np.zeros(dataset.size("val"), bool),
                                np.zeros((0, len(classes))), classes, 0.0)
    out = dataclasses.replace(dataset, y={**dataset.y, **y})
    return out, {"distilled_rows": int(len(old)), "distillation_weight": weight}


def can_distill(model: Any, dataset: Dataset) -> str:
    """Why `model` cannot be fine-tuned with distillation ("" when it can)."""
    y = dataset.y.get("train")
    if not dataset.classes or y is None or isinstance(y, dict) or np.asarray(y).ndim != 1:
        return "not a classifier with class-index targets"
    if not getattr(getattr(model, "loss", None), "from_logits", False):
        return "the model is not a classifier compiled on logits"
    return ""


def compile_for_soft_targets(model: Any) -> None:
    """Compile for probability targets (cross-entropy on logits), an optimizer of the same
    kind and settings; the original compile config is kept for `restore_compile`."""
    import keras

    compile_temporarily(model, keras.losses.CategoricalCrossentropy(from_logits=True),
                        [keras.metrics.CategoricalAccuracy(name="accuracy")])

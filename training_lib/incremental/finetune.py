"""Fine-tuning from the champion: old/new split by sample keys, weight transfer into a
model whose class list grew, per-row outcomes of champion and candidate on the same
old-data and new-data test rows and their paired comparison. (Which old rows are
replayed: replay.py; distillation from the champion: distill.py.)

Pure functions over `Dataset`s and Keras models, so the worker and bench/incremental.py
run the same code.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from training_lib.data.dataset import Dataset, num_rows, take_rows
from training_lib.training.evaluation import r2
from training_lib.training.significance import (PairedComparison, compare_bootstrap,
                                                 compare_proportions)


def old_new_index(dataset: Dataset, split: str, old_keys: set[str]) -> tuple[np.ndarray, np.ndarray]:
    keys = dataset.keys.get(split)
    if keys is None or len(keys) != dataset.size(split):
        raise ValueError(f"{dataset.model}: no sample keys for split {split!r}; incremental "
                         "learning needs a loader that records them")
    old = np.asarray([i for i, k in enumerate(keys) if k in old_keys], dtype=np.int64)
    new = np.asarray([i for i, k in enumerate(keys) if k not in old_keys], dtype=np.int64)
    return old, new


def transfer_weights(source: Any, source_classes: list[str] | None, target: Any,
                     target_classes: list[str] | None) -> list[str]:
    """Copy the source model's weights into target, layer by layer in order. A layer whose
    last axis is the class list (the head) is copied column by column by class name, so
    a model trained on fewer classes seeds one with new classes. Returns notes."""
    notes = []
    src_layers = [l for l in source.layers if l.weights]
    dst_layers = [l for l in target.layers if l.weights]
    if len(src_layers) != len(dst_layers):
        raise ValueError(f"champion has {len(src_layers)} weighted layers, the new model "
                         f"{len(dst_layers)}: architectures differ")
    for src, dst in zip(src_layers, dst_layers):
        values = []
        for s, d in zip(src.get_weights(), dst.get_weights()):
            if s.shape == d.shape:
                values.append(s)
            elif (source_classes and target_classes and s.shape[:-1] == d.shape[:-1]
                  and s.shape[-1] == len(source_classes) and d.shape[-1] == len(target_classes)):
                merged = d.copy()
                for i, name in enumerate(source_classes):
                    if name in target_classes:
                        merged[..., target_classes.index(name)] = s[..., i]
                values.append(merged)
                notes.append(f"{dst.name}: {len(target_classes) - len(source_classes)} new "
                             "class(es) start from fresh weights")
            else:
                raise ValueError(f"layer {dst.name}: weight shape {s.shape} vs {d.shape}")
        dst.set_weights(values)
    return notes


@dataclass(frozen=True)
class Score:
    old: float | None
    new: float | None
    n_old: int
    n_new: int


@dataclass(frozen=True)
class Outcomes:
    """One model's per-row outcomes on the old-data and new-data test rows: right/wrong
    for classification and exact match, predictions otherwise (R^2)."""

    task: str
    old: np.ndarray
    new: np.ndarray

    def score(self, dataset: Dataset, old_keys: set[str]) -> Score:
        old, new = old_new_index(dataset, "test", old_keys)
        return Score(self._metric(dataset, old, self.old), self._metric(dataset, new, self.new),
                     len(old), len(new))

    def _metric(self, dataset: Dataset, index: np.ndarray, rows: np.ndarray) -> float | None:
        if len(index) == 0:
            return None
        if self.task in PROPORTION_TASKS:
            return float(np.mean(rows))
        return r2(dataset.take("test", index)[1], rows)


PROPORTION_TASKS = ("classification", "seq2seq")


def row_outcomes(task: str, model: Any, model_classes: list[str] | None, dataset: Dataset,
                  old_keys: set[str]) -> Outcomes:
    """The model's per-row outcomes on old-data and new-data test rows, mapping its
    predictions through its own class list (it may know fewer classes)."""
    old, new = old_new_index(dataset, "test", old_keys)
    rows = _rows(task, model, model_classes, dataset, np.concatenate([old, new]))
    return Outcomes(task, rows[:len(old)], rows[len(old):])  # one predict call: one trace


def score_old_new(task: str, model: Any, model_classes: list[str] | None, dataset: Dataset,
                  old_keys: set[str]) -> Score:
    """The model's test metric on old-data and on new-data test rows."""
    return row_outcomes(task, model, model_classes, dataset, old_keys).score(dataset, old_keys)


def compare(champion: Outcomes, candidate: Outcomes, dataset: Dataset, old_keys: set[str],
            seed: int = 0) -> dict[str, PairedComparison | None]:
    """Champion against candidate on the same old-data and new-data test rows (McNemar
    for proportions, a paired bootstrap of R^2 otherwise); None for a side without rows."""
    index = dict(zip(("old", "new"), old_new_index(dataset, "test", old_keys)))
    out: dict[str, PairedComparison | None] = {}
    for side in ("old", "new"):
        a, b = getattr(champion, side), getattr(candidate, side)
        if len(index[side]) == 0:
            out[side] = None
        elif champion.task in PROPORTION_TASKS:
            out[side] = compare_proportions(a, b)
        else:
            truth = dataset.take("test", index[side])[1]
            out[side] = compare_bootstrap(truth, a, b, r2, seed=seed)
    return out


EAGER_MAX_ROWS = 8192  # above it, a traced predict function pays for itself


def predict_rows(model: Any, x: Any, batch_size: int = 256) -> np.ndarray:
    """The model's outputs on `x` (an array or a dict of arrays). Up to EAGER_MAX_ROWS rows
    are run eagerly, batch by batch, in inference mode: `model.predict` first traces a
    function per model, 0.13-0.33 s for the audio and text models on this CPU, while the
    eager pass over their ~90 test rows takes 0.02-0.05 s with the same outputs; a
    nightly step evaluates four times (champion, replayed rows, validation, candidate)."""
    n = num_rows(x)
    if not callable(model) or n > EAGER_MAX_ROWS:
        return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
    import keras

    parts = []
    for start in range(0, n, batch_size):
        part = take_rows(x, np.arange(start, min(n, start + batch_size)))
        parts.append(keras.ops.convert_to_numpy(model(part, training=False)))
    return np.concatenate(parts) if parts else np.asarray(model.predict(x, verbose=0))


def _rows(task: str, model: Any, model_classes: list[str] | None, dataset: Dataset,
          index: np.ndarray) -> np.ndarray:
    if len(index) == 0:
        return np.zeros(0, dtype=bool)
    x, y = dataset.take("test", index)
    predicted = predict_rows(model, x)
    if task == "classification":
        names = model_classes or dataset.classes
        guess = [names[i] for i in predicted.argmax(-1)]
        truth = [dataset.classes[i] for i in y]
        return np.asarray([g == t for g, t in zip(guess, truth)], dtype=bool)
    if task == "seq2seq":
        return np.all(predicted.argmax(-1) == y, axis=-1)
    return predicted

"""Held-out test metrics per task, and the trivial baseline each must beat.

classification: accuracy vs the majority class of the training split;
seq2seq: exact match of the whole output vs the most frequent training answer;
regression: R^2 vs predicting the training mean (R^2 of that baseline is ~0);
autoencoder: reconstruction R^2 vs reconstructing every row as the training mean.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from training_lib.data.dataset import Dataset
from training_lib.training.batches import predict_rows


METRIC_OF_TASK = {"classification": "accuracy", "seq2seq": "exact_match", "regression": "r2",
                  "autoencoder": "reconstruction_r2"}


def metric_name(default: str, dataset: Dataset) -> str:
    """The metric's name: the catalog's, unless the dataset decided its own task."""
    task = dataset.info.get("task")
    return METRIC_OF_TASK.get(task, default) if task else default


def evaluate(task: str, model: Any, dataset: Dataset, batch_size: int = 256) -> dict[str, float]:
    """Metric and baseline on the test split: {"metric": .., "baseline": .., "n_test": ..}.

    A dataset that decides its own task (a table's target column: `info["task"]`)
    is scored by that task, not the catalog's default.
    """
    task = dataset.info.get("task") or task
    x, y = dataset.x["test"], dataset.y["test"]
    predicted = predict_rows(model, x, batch_size)
    return score(task, predicted, y, dataset.y["train"])


def score(task: str, predicted: np.ndarray, y_test: np.ndarray, y_train: np.ndarray) -> dict[str, float]:
    if task == "classification":
        metric = float(np.mean(predicted.argmax(-1) == y_test))
        majority = Counter(np.asarray(y_train).tolist()).most_common(1)[0][0]
        baseline = float(np.mean(np.asarray(y_test) == majority))
    elif task == "seq2seq":
        metric = float(np.mean(np.all(predicted.argmax(-1) == y_test, axis=-1)))
        counts = Counter(tuple(row) for row in np.asarray(y_train).tolist())
        common = np.asarray(counts.most_common(1)[0][0])
        baseline = float(np.mean(np.all(np.asarray(y_test) == common, axis=-1)))
    elif task in ("regression", "autoencoder"):
        metric = r2(y_test, predicted)
        baseline = r2(y_test, np.broadcast_to(np.mean(y_train, axis=0), np.shape(y_test)))
    else:
        raise ValueError(f"unknown task {task!r}; expected classification, seq2seq, "
                         "regression or autoencoder")
    return {"metric": metric, "baseline": baseline, "n_test": int(len(y_test))}


def r2(y_true: Any, y_pred: Any) -> float:
    y_true = np.asarray(y_true, dtype=np.float64).reshape(len(y_true), -1)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(len(y_true), -1)
    ss_res = np.sum((y_true - y_pred) ** 2)
    ss_tot = np.sum((y_true - y_true.mean(axis=0)) ** 2)
    return float(1 - ss_res / ss_tot) if ss_tot > 0 else 0.0

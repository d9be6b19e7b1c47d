"""The Keras side of collaboration: the loss and metric a student compiles with for a
round that learns from its peers, and the (n, 2C) target layout they read.

`CollaborativeLoss` trains on targets of width 2C per row: C "hard" columns (a
one-hot label, or a co-training soft target scaled by its weight; all zero for a
row that only distils) and C distillation columns (zero where there is none).
Kept apart from the strategies so that registering them (preset validation, DAG
parse) never imports keras.
"""
from __future__ import annotations

from typing import Any

import keras
import numpy as np


@keras.saving.register_keras_serializable(package="training_lib")
class CollaborativeLoss(keras.losses.Loss):
    """Cross-entropy on the hard columns + weight * T^2 * KL on the distillation columns.

    y_true (batch, 2C), y_pred logits (batch, C).
    """

    def __init__(self, n_classes: int, temperature: float = 2.0, distillation_weight: float = 0.5,
                 name: str = "collaborative_loss", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.n_classes = int(n_classes)
        self.temperature = float(temperature)
        self.distillation_weight = float(distillation_weight)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        ops = keras.ops
        c = self.n_classes
        y_true = ops.cast(y_true, y_pred.dtype)
        hard, soft = y_true[:, :c], y_true[:, c:]
        ce = -ops.sum(hard * ops.log_softmax(y_pred, axis=-1), axis=-1)
        log_q = ops.log_softmax(y_pred / self.temperature, axis=-1)
        safe = ops.where(soft > 0, soft, ops.ones_like(soft))
        kl = ops.sum(ops.where(soft > 0, soft * (ops.log(safe) - log_q), ops.zeros_like(soft)),
                     axis=-1)
        return ce + self.distillation_weight * self.temperature ** 2 * kl

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "n_classes": self.n_classes,
                "temperature": self.temperature,
                "distillation_weight": self.distillation_weight}


@keras.saving.register_keras_serializable(package="training_lib")
class HardTargetAccuracy(keras.metrics.Metric):
    """Accuracy of argmax(logits) against argmax of the hard columns, over rows that
    have any (rows that only distil have no label to be right about)."""

    def __init__(self, n_classes: int, name: str = "accuracy", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.n_classes = int(n_classes)
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        ops = keras.ops
        hard = ops.cast(y_true[:, :self.n_classes], "float32")
        has = ops.cast(ops.sum(hard, axis=-1) > 0, "float32")
        hit = ops.cast(ops.equal(ops.argmax(hard, axis=-1), ops.argmax(y_pred, axis=-1)), "float32")
        self.correct.assign_add(ops.sum(hit * has))
        self.count.assign_add(ops.sum(has))

    def result(self) -> Any:
        return keras.ops.divide_no_nan(self.correct, self.count)

    def reset_state(self) -> None:
        self.correct.assign(0.0)
        self.count.assign(0.0)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "n_classes": self.n_classes}


def stack_targets(hard: np.ndarray, soft: np.ndarray) -> np.ndarray:
    """The (n, 2C) float32 target layout `CollaborativeLoss` reads."""
    if hard.shape != soft.shape:
        raise ValueError(f"hard targets {hard.shape} and distillation targets {soft.shape} "
                         "must have the same shape")
    return np.concatenate([hard, soft], axis=1).astype(np.float32)


def one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    out = np.zeros((len(labels), n_classes), np.float32)
    out[np.arange(len(labels)), np.asarray(labels, np.int64)] = 1.0
    return out

"""The original project's concept models, on its JSON record formats.

- environment_simulator: an MLP from state_before + action to state_after (regression);
- adaptive_learning_controller: an MLP from a run's context to the best strategy;
- alpha_deep_model: a bottleneck autoencoder over feature vectors (its y is its x).

Inputs are standardized inside the model with the training split's statistics the
loader computed (`info["x_mean"]`, `info["x_std"]`); regression outputs are mapped
back to raw units the same way, so the saved model reads and writes raw values.
"""
from __future__ import annotations

import keras
from keras import layers

from training_lib.data.dataset import Dataset
from training_lib.models.blocks import compile_regressor, destandardize, standardize
from training_lib.models.common import compile_classifier


def _inputs(dataset: Dataset, name: str) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    info = dataset.info
    raw = keras.Input((info["n_features"],), dtype="float32", name=name)
    return raw, standardize(raw, info["x_mean"], info["x_std"], "standardize")


def build_environment(dataset: Dataset, learning_rate: float) -> keras.Model:
    raw, x = _inputs(dataset, "state_action")
    for units in (128, 128):
        x = layers.Dense(units, activation="relu")(x)
    x = layers.Dense(dataset.info["n_outputs"], name="state_after_standardized")(x)
    out = destandardize(x, dataset.info["y_mean"], dataset.info["y_std"], "state_after")
    return compile_regressor(keras.Model(raw, out, name="environment_simulator"), learning_rate)


def build_strategy(dataset: Dataset, learning_rate: float) -> keras.Model:
    raw, x = _inputs(dataset, "context")
    for units in (64, 64):
        x = layers.Dense(units, activation="relu")(x)
        x = layers.Dropout(0.1)(x)
    out = layers.Dense(len(dataset.classes), name="logits")(x)
    return compile_classifier(keras.Model(raw, out, name="adaptive_learning_controller"),
                              learning_rate)


def build_autoencoder(dataset: Dataset, learning_rate: float) -> keras.Model:
    n = dataset.info["n_features"]
    code = max(2, min(16, n // 4))
    raw, x = _inputs(dataset, "features")
    x = layers.Dense(max(2 * code, n // 2), activation="relu", name="encoder")(x)
    x = layers.Dense(code, name="code")(x)
    x = layers.Dense(max(2 * code, n // 2), activation="relu", name="decoder")(x)
    x = layers.Dense(n, name="reconstruction_standardized")(x)
    out = destandardize(x, dataset.info["y_mean"], dataset.info["y_std"], "reconstruction")
    return compile_regressor(keras.Model(raw, out, name="alpha_deep_model"), learning_rate)

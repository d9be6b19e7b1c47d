"""data_analysis_model: an MLP over a table's columns, classifier or regressor by target.

The loader decides the task from the target column (`info["task"]`): text or few
integer values -> classification, any other number -> regression. Features are
standardized inside the model with training-split statistics; a regression output is
mapped back to the target's raw units.
"""
from __future__ import annotations

import keras
from keras import layers

from training_lib.data.dataset import Dataset
from training_lib.models.blocks import compile_regressor, destandardize, standardize
from training_lib.models.common import compile_classifier


def build(dataset: Dataset, learning_rate: float) -> keras.Model:
    info = dataset.info
    raw = keras.Input((info["n_features"],), dtype="float32", name="features")
    x = standardize(raw, info["x_mean"], info["x_std"], "standardize")
    for units in (64, 32):
        x = layers.Dense(units, activation="relu")(x)
        x = layers.Dropout(0.1)(x)
    if info.get("task") == "regression":
        x = layers.Dense(1, name="target_standardized")(x)
        out = destandardize(x, info["y_mean"], info["y_std"], "target")
        return compile_regressor(keras.Model(raw, out, name="data_analysis_model"), learning_rate)
    out = layers.Dense(len(dataset.classes), name="logits")(x)
    return compile_classifier(keras.Model(raw, out, name="data_analysis_model"), learning_rate)

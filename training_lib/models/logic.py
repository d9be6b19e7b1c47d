"""logic_model: a sequence classifier over the tokens of a boolean proposition."""
from __future__ import annotations

import keras
from keras import layers

from training_lib.data.dataset import Dataset
from training_lib.models.common import compile_classifier, sequence_encoder


def build(dataset: Dataset, learning_rate: float) -> keras.Model:
    ids = keras.Input((dataset.info["input_length"],), dtype="int32", name="tokens")
    x = sequence_encoder(ids, dataset.info["vocab_size"], 64, "proposition")
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(len(dataset.classes), name="logits")(x)
    return compile_classifier(keras.Model(ids, outputs, name="logic_model"), learning_rate)

"""causal_reasoning_engine: a text classifier over UTF-8 byte ids (learned n-gram filters)."""
from __future__ import annotations

import keras
from keras import layers

from training_lib.data.dataset import Dataset
from training_lib.models.blocks import byte_encoder
from training_lib.models.common import compile_classifier


def build(dataset: Dataset, learning_rate: float) -> keras.Model:
    ids = keras.Input((dataset.info["input_length"],), dtype="int32", name="text")
    x = byte_encoder(ids, "text", width=128)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(len(dataset.classes), name="logits")(x)
    return compile_classifier(keras.Model(ids, outputs, name="causal_reasoning_engine"),
                              learning_rate)

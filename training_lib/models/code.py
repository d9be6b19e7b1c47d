"""code_model: the language of a source file from the byte ids of its opening lines.

A fastText-style bag of hashed character 1-5-grams and identifiers (`ngram_bag_encoder`),
averaged and read by one linear softmax layer.
"""
from __future__ import annotations

import keras
from keras import layers

from training_lib.data.dataset import Dataset
from training_lib.models.blocks import ngram_bag_encoder
from training_lib.models.common import compile_classifier


def build(dataset: Dataset, learning_rate: float) -> keras.Model:
    ids = keras.Input((dataset.info["input_length"],), dtype="int32", name="source")
    x = ngram_bag_encoder(ids, "code", dim=64)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(len(dataset.classes), name="logits")(x)
    return compile_classifier(keras.Model(ids, outputs, name="code_model"), learning_rate)

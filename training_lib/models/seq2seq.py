"""math_model: character-level encoder-decoder with attention, problem text -> answer text.

The encoder (a bidirectional GRU) reads the problem's characters. The decoder has one
slot per answer character (the loader writes answers units digit first, so slot k is
always place value 10^k): a GRU over the repeated problem summary gives each slot a
query, multi-head attention lets the slot read the problem characters it needs (the
operands' digits of its place value), and a second GRU over [query, context] carries
between places before the character softmax. Judged by exact match of the whole
decoded answer.
"""
from __future__ import annotations

import keras
from keras import layers

from training_lib.data.dataset import Dataset


def build(dataset: Dataset, learning_rate: float) -> keras.Model:
    info = dataset.info
    ids = keras.Input((info["input_length"],), dtype="int32", name="problem")
    chars = layers.Embedding(info["vocab_size"], 48, mask_zero=True, name="chars")(ids)
    encoded = layers.Bidirectional(layers.GRU(96, return_sequences=True), name="encoder")(chars)
    summary = layers.GlobalAveragePooling1D(name="summary")(encoded)
    summary = layers.Dropout(0.2)(summary)
    slots = layers.RepeatVector(info["output_length"])(summary)
    queries = layers.GRU(128, return_sequences=True, name="decoder_queries")(slots)
    context = layers.MultiHeadAttention(4, 32, name="attention")(queries, encoded)
    x = layers.Concatenate()([queries, context])
    x = layers.GRU(128, return_sequences=True, name="decoder")(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(info["vocab_size"], name="char_logits")(x)
    model = keras.Model(ids, outputs, name="math_model")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="char_accuracy")])
    return model

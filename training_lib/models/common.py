"""Pieces shared by the model builders (Keras 3 APIs only: TensorFlow and JAX backends)."""
from __future__ import annotations

import keras


def compile_classifier(model: keras.Model, learning_rate: float) -> keras.Model:
    """Softmax-free classifier head: logits out, sparse labels in."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    return model


def sequence_encoder(ids: keras.KerasTensor, vocab_size: int, width: int,
                     name: str) -> keras.KerasTensor:
    """Embedding + bidirectional GRU over padded token ids (0 = padding)."""
    x = keras.layers.Embedding(vocab_size, width, mask_zero=True, name=f"{name}_embedding")(ids)
    return keras.layers.Bidirectional(keras.layers.GRU(width), name=f"{name}_gru")(x)


def compile_for_task(model: keras.Model, task: str, learning_rate: float) -> keras.Model:
    """Default loss/metrics for a user's model returned uncompiled."""
    if task in ("classification", "seq2seq"):
        return compile_classifier(model, learning_rate)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    return model

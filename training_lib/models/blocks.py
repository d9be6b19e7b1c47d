"""Encoders and layers several builders share (Keras 3 APIs only: TensorFlow and JAX).

- `byte_encoder`: text as UTF-8 byte ids (0 = padding) through parallel 1-D convolutions
  of widths 3, 5 and 7 and a global max: learned character n-gram detectors;
- `spectrogram_encoder`: a log-mel spectrogram (mels, frames) as a sequence of frames
  through 1-D convolutions over time;
- `image_encoder`: uint8 pixels through a small CNN pooled to a 4x4 grid;
- `standardize` / `destandardize`: fixed affine layers from training-split statistics
  the loader computed, so a saved model takes and returns raw values;
- `ModalityDropout`: hides whole modalities at random while training so a fusion
  model also learns to predict from what is left.
"""
from __future__ import annotations

from typing import Any, Sequence

import keras
import numpy as np
from keras import layers

BYTE_VOCAB = 257  # UTF-8 byte + 1, 0 = padding


def byte_encoder(ids: Any, name: str, width: int = 96, embed: int = 32) -> Any:
    x = layers.Embedding(BYTE_VOCAB, embed, name=f"{name}_bytes")(ids)
    pooled = []
    for k in (3, 5, 7):
        c = layers.Conv1D(width, k, padding="same", activation="relu", name=f"{name}_conv{k}")(x)
        pooled.append(layers.GlobalMaxPooling1D(name=f"{name}_max{k}")(c))
    return layers.Concatenate(name=f"{name}_ngrams")(pooled)


def spectrogram_encoder(mel: Any, name: str, stats: tuple[np.ndarray, np.ndarray],
                        width: int = 64) -> Any:
    """(mels, frames) -> a vector; `stats` are per-mel mean and std of the training clips."""
    x = layers.Permute((2, 1), name=f"{name}_frames")(mel)  # (frames, mels)
    x = standardize(x, stats[0], stats[1], f"{name}_standardize")
    for i, filters in enumerate((width, 2 * width)):
        x = layers.Conv1D(filters, 5, padding="same", name=f"{name}_conv{i}")(x)
        x = layers.BatchNormalization(name=f"{name}_bn{i}")(x)
        x = layers.Activation("relu")(x)
        x = layers.MaxPooling1D(2, padding="same")(x)
    x = layers.Conv1D(2 * width, 3, padding="same", activation="relu", name=f"{name}_conv2")(x)
    return layers.Concatenate(name=f"{name}_pool")([layers.GlobalMaxPooling1D()(x),
                                                     layers.GlobalAveragePooling1D()(x)])


def mel_statistics(spectrograms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-mel mean and std over clips and frames of (n, mels, frames) training data."""
    if len(spectrograms) == 0:
        return np.zeros(spectrograms.shape[1]), np.ones(spectrograms.shape[1])
    mean = spectrograms.mean(axis=(0, 2))
    std = spectrograms.std(axis=(0, 2))
    return mean, np.where(std > 1e-6, std, 1.0)


def image_encoder(pixels: Any, name: str, filters: Sequence[int] = (32, 64)) -> Any:
    x = layers.Rescaling(1.0 / 255, name=f"{name}_rescale")(pixels)
    for i, f in enumerate(filters):
        x = layers.Conv2D(f, 3, padding="same", activation="relu", name=f"{name}_conv{i}")(x)
        x = layers.MaxPooling2D(name=f"{name}_pool{i}")(x)
    x = layers.AdaptiveMaxPooling2D((4, 4), name=f"{name}_grid")(x)
    return layers.Flatten(name=f"{name}_flatten")(x)


def standardize(x: Any, mean: Any, std: Any, name: str) -> Any:
    variance = np.square(np.asarray(std, dtype="float32"))
    return layers.Normalization(mean=np.asarray(mean, dtype="float32"), variance=variance,
                                name=name)(x)


def destandardize(x: Any, mean: Any, std: Any, name: str) -> Any:
    variance = np.square(np.asarray(std, dtype="float32"))
    return layers.Normalization(mean=np.asarray(mean, dtype="float32"), variance=variance,
                                invert=True, name=name)(x)


def compile_regressor(model: keras.Model, learning_rate: float) -> keras.Model:
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse",
                  metrics=[keras.metrics.MeanAbsoluteError(name="mae")])
    return model


@keras.saving.register_keras_serializable(package="training_lib")
class ModalityDropout(layers.Layer):
    """Zero each present modality's flag with probability `rate` in training.

    Input and output: presence flags (batch, n_modalities) in {0, 1}. A sample never
    loses all of its present modalities: if every one was dropped, it keeps them all.
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate = rate
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, present: Any, training: bool | None = None) -> Any:
        if not training or self.rate <= 0:
            return present
        noise = keras.random.uniform(keras.ops.shape(present), seed=self.seed_generator)
        kept = present * keras.ops.cast(noise >= self.rate, present.dtype)
        empty = keras.ops.cast(keras.ops.sum(kept, axis=-1, keepdims=True) == 0, present.dtype)
        return kept + empty * present

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


@keras.saving.register_keras_serializable(package="training_lib")
class Gate(layers.Layer):
    """[vectors (batch, d), flags (batch, k)] -> vectors * flags[:, index]."""

    def __init__(self, index: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.index = index

    def call(self, inputs: Any) -> Any:
        vectors, flags = inputs
        return vectors * flags[:, self.index:self.index + 1]

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape[0]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "index": self.index}

"""audio_service: a spoken-word classifier over log-mel spectrograms (mels, frames)."""
from __future__ import annotations

import keras
from keras import layers

from training_lib.data.dataset import Dataset
from training_lib.models.blocks import mel_statistics, spectrogram_encoder
from training_lib.models.common import compile_classifier


def build(dataset: Dataset, learning_rate: float) -> keras.Model:
    info = dataset.info
    mel = keras.Input((info["n_mels"], info["frames"]), dtype="float32", name="log_mel")
    x = spectrogram_encoder(mel, "audio", mel_statistics(dataset.x["train"]))
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(len(dataset.classes), name="logits")(x)
    return compile_classifier(keras.Model(mel, outputs, name="audio_service"), learning_rate)

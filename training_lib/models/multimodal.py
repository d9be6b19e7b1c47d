"""multimodal_service: late fusion of image, audio and text encoders over paired samples.

Inputs: {"image": uint8 (S,S,3), "audio": float32 log-mel (mels, frames), "text": int32
byte ids, "present": float32 (3,) flags}. Each encoder's embedding is multiplied by its
presence flag, so a missing modality (zero-filled by the loader) contributes nothing;
the flags themselves also reach the head. While training, `ModalityDropout` hides
modalities at random, so every encoder learns to carry the label on its own.
"""
from __future__ import annotations

import keras
import numpy as np
from keras import layers

from training_lib.data.dataset import Dataset
from training_lib.models.blocks import (Gate, ModalityDropout, byte_encoder, image_encoder,
                                        mel_statistics, spectrogram_encoder)
from training_lib.models.common import compile_classifier

EMBED = 64


def build(dataset: Dataset, learning_rate: float) -> keras.Model:
    info = dataset.info
    train = dataset.x["train"]
    size = info["image_size"]
    image = keras.Input((size, size, 3), dtype="uint8", name="image")
    audio = keras.Input((info["n_mels"], info["frames"]), dtype="float32", name="audio")
    text = keras.Input((info["input_length"],), dtype="int32", name="text")
    present = keras.Input((3,), dtype="float32", name="present")
    with_audio = train["audio"][train["present"][:, 1] > 0]
    encoded = [image_encoder(image, "image", (16, 32)),
               spectrogram_encoder(audio, "audio", _stats(with_audio, info["n_mels"]), width=32),
               byte_encoder(text, "text", width=48)]
    flags = ModalityDropout(0.35, seed=7, name="modality_dropout")(present)
    parts = []
    for i, (name, vector) in enumerate(zip(("image", "audio", "text"), encoded)):
        z = layers.Dense(EMBED, activation="relu", name=f"{name}_embedding")(vector)
        parts.append(Gate(i, name=f"{name}_gated")([z, flags]))
    x = layers.Concatenate(name="fusion")([*parts, flags])
    x = layers.Dense(EMBED, activation="relu", name="fused")(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(len(dataset.classes), name="logits")(x)
    model = keras.Model({"image": image, "audio": audio, "text": text, "present": present},
                        outputs, name="multimodal_service")
    return compile_classifier(model, learning_rate)


def _stats(spectrograms: np.ndarray, n_mels: int) -> tuple[np.ndarray, np.ndarray]:
    if len(spectrograms) == 0:
        return np.zeros(n_mels), np.ones(n_mels)
    return mel_statistics(spectrograms)

"""References for media inputs: images, audio clips and paired samples.

images -> pixels downscaled to 16x16 grey, standardized, logistic regression;
audio -> log-mel statistics (mean and std of each mel band over time), logistic regression;
pairs -> both of those and the caption's byte histogram side by side (a missing
modality is zeros, as the Keras model sees it), logistic regression.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from training_lib.data.dataset import Dataset
from training_lib.training.references.registry import Reference, register_reference

PIXELS = 16  # images are averaged down to PIXELS x PIXELS grey


def logistic_regression(c: float = 1.0) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=300))


def pixel_features(images: Any, size: int = PIXELS, chunk: int = 2048) -> np.ndarray:
    """(n, S, S, C) uint8 -> (n, size*size) grey levels in [0, 1], area-averaged; `chunk`
    rows at a time, so a split kept on disk is never read into memory whole."""
    n = len(images)
    if n > chunk:
        return np.concatenate([pixel_features(images[i:i + chunk], size, chunk)
                               for i in range(0, n, chunk)])
    grey = np.asarray(images, dtype=np.float32).mean(axis=-1) / 255.0
    n, height, width = grey.shape
    rows = np.linspace(0, height, size + 1).astype(int)
    cols = np.linspace(0, width, size + 1).astype(int)
    # sum over blocks via cumulative sums: exact area averages for any S >= size
    padded = np.zeros((n, height + 1, width + 1), np.float32)
    padded[:, 1:, 1:] = grey.cumsum(1).cumsum(2)
    r0, r1, c0, c1 = rows[:-1], rows[1:], cols[:-1], cols[1:]
    total = (padded[:, r1][:, :, c1] - padded[:, r0][:, :, c1] - padded[:, r1][:, :, c0]
             + padded[:, r0][:, :, c0])
    area = np.outer(np.maximum(r1 - r0, 1), np.maximum(c1 - c0, 1))
    return (total / area).reshape(n, -1)


def mel_statistics(spectrograms: np.ndarray) -> np.ndarray:
    """(n, mels, frames) log-mel -> (n, 2*mels): per band its mean and std over time."""
    x = np.asarray(spectrograms, dtype=np.float32)
    return np.concatenate([x.mean(axis=2), x.std(axis=2)], axis=1)


def byte_histogram(ids: np.ndarray) -> np.ndarray:
    """(n, L) byte ids (0 = padding) -> (n, 257) relative byte frequencies."""
    ids = np.asarray(ids, dtype=np.int64)
    counts = np.zeros((len(ids), 257), np.float32)
    np.add.at(counts, (np.repeat(np.arange(len(ids)), ids.shape[1]), ids.ravel()), 1.0)
    counts[:, 0] = 0.0
    return counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)


@register_reference("images")
def images(dataset: Dataset, task: str) -> Reference:
    return Reference(f"{PIXELS}x{PIXELS} grey pixels, logistic regression",
                     lambda d, split: pixel_features(d.x[split]), logistic_regression(0.1))


@register_reference("audio")
def audio(dataset: Dataset, task: str) -> Reference:
    return Reference("log-mel band mean+std, logistic regression",
                     lambda d, split: mel_statistics(d.x[split]), logistic_regression())


def _pair_features(dataset: Dataset, split: str) -> np.ndarray:
    x = dataset.x[split]
    parts = [pixel_features(x["image"]), mel_statistics(x["audio"])]
    if "text" in x:
        parts.append(byte_histogram(x["text"]))
    return np.concatenate(parts + [np.asarray(x["present"], np.float32)], axis=1)


@register_reference("pairs")
def pairs(dataset: Dataset, task: str) -> Reference | None:
    if not isinstance(dataset.x["train"], dict) or "image" not in dataset.x["train"]:
        return None
    return Reference("pixels + log-mel stats + caption bytes, logistic regression",
                     _pair_features, logistic_regression(0.1))

"""Numeric rows shared by the record and table loaders: parsing, shapes, standardization.

Every record becomes one float32 row. Standardization statistics are computed on the
training split only and handed to the model in `Dataset.info` (`x_mean`, `x_std`,
`y_mean`, `y_std`); the models normalize inside, so a saved model takes raw values.
"""
from __future__ import annotations

import logging
import math
from collections import Counter
from typing import Any

import numpy as np

from training_lib.data.dataset import Dataset
from training_lib.data.loaders.registry import LoadRequest
from training_lib.data.loaders.splits import split_rows

log = logging.getLogger(__name__)

MIN_RECORDS = 30


def numbers(value: Any) -> list[float] | None:
    """A number, a (nested) list of numbers or a dict of numbers as a flat list, else None."""
    if isinstance(value, bool):
        return [float(value)]
    if isinstance(value, (int, float)):
        return [float(value)] if math.isfinite(value) else None
    if isinstance(value, dict):
        value = [value[k] for k in sorted(value)]
    if isinstance(value, (list, tuple)) and value:
        out: list[float] = []
        for item in value:
            part = numbers(item)
            if part is None:
                return None
            out.extend(part)
        return out
    return None


def standardization(train: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-column mean and standard deviation of the training rows (std 1 where flat)."""
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std = np.where(std > 1e-8, std, 1.0)
    return mean.astype(float).tolist(), std.astype(float).tolist()


def common_shape(rows: list[tuple], vectors: tuple[int, ...], model: str,
                  what: str) -> list[tuple]:
    """Keep the rows whose vectors (items at `vectors`) have the most common lengths."""
    def shape(row: tuple) -> tuple[int, ...]:
        return tuple(len(row[i]) for i in vectors)

    shapes = Counter(shape(row) for row in rows)
    if not shapes:
        return rows
    best, _ = shapes.most_common(1)[0]
    kept = [row for row in rows if shape(row) == best]
    if len(kept) < len(rows):
        log.warning("%s: %d %s records of other sizes than %s skipped", model,
                    len(rows) - len(kept), what, best)
    return kept


def numeric_dataset(req: LoadRequest, rows: list[tuple[str, Any, Any]], classes: list[str] | None,
             info: dict[str, Any]) -> Dataset:
    """The Dataset of numeric rows (split, x, y): standardization statistics of the
    training split go to `info`, so the model normalizes inside and takes raw values."""
    x, y = split_rows(rows, MIN_RECORDS, req.model)
    info["x_mean"], info["x_std"] = standardization(x["train"])
    if classes is None:
        info["y_mean"], info["y_std"] = standardization(np.asarray(y["train"]).reshape(
            len(y["train"]), -1))
    info["n_features"] = int(x["train"].shape[1])
    return Dataset(req.model, x, y, classes, info, [r.content_hash for r in req.records])

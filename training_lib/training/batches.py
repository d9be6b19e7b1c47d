"""Batches read from disk while the model trains: a `keras.utils.PyDataset` over rows.

The engine uses it for splits the loader left on disk (`training_lib.data.rows.CachedRows`,
large datasets): batch `i` holds rows `order[i*b:(i+1)*b]`, exactly the rows the
in-memory path would feed in that position, so an epoch's data order (and therefore an
exact mid-epoch resume) does not depend on which path is taken. `workers` threads read
batches ahead (`max_queue_size` of them), in order. PyDataset is Keras' own, so the same
code feeds TensorFlow and JAX.
"""
from __future__ import annotations

import math
import os
from typing import Any

import keras
import numpy as np

from training_lib.data.dataset import num_rows, take_rows
from training_lib.data.rows import is_streamed


def reader_threads() -> int:
    """Threads reading batches ahead (`TLIB_READ_THREADS`, default 2)."""
    return max(1, int(os.environ.get("TLIB_READ_THREADS", "2")))


class RowBatches(keras.utils.PyDataset):
    """(x, y) batches of `order`'s rows; x and y as a `Dataset` holds them (arrays,
    `CachedRows` or dicts of them); `y=None` for prediction (inputs only)."""

    def __init__(self, x: Any, y: Any, order: np.ndarray, batch_size: int, *,
                 workers: int | None = None, max_queue_size: int = 8) -> None:
        threads = reader_threads() if workers is None else workers
        super().__init__(workers=threads, use_multiprocessing=False,
                         max_queue_size=max_queue_size)
        self.x, self.y = x, y
        self.order = np.asarray(order)
        self.batch_size = batch_size

    def __len__(self) -> int:
        return math.ceil(len(self.order) / self.batch_size)

    def __getitem__(self, index: int) -> Any:
        rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        x = take_rows(self.x, rows)
        return x if self.y is None else (x, take_rows(self.y, rows))


def predict_rows(model: keras.Model, x: Any, batch_size: int = 256) -> np.ndarray:
    """`model.predict` over every row of `x`, batch by batch when it is kept on disk."""
    if is_streamed(x):
        batches = RowBatches(x, None, np.arange(num_rows(x)), batch_size)
        return np.asarray(model.predict(batches, verbose=0))
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))

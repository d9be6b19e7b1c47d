"""Batches read from disk while the model trains: a `keras.utils.PyDataset` over rows.

The engine uses it for splits the loader left on disk (`training_lib.data.rows.CachedRows`,
large datasets): batch `i` holds rows `order[i*b:(i+1)*b]`, exactly the rows the
in-memory path would feed in that position, so an epoch's data order (and therefore an
exact mid-epoch resume) does not depend on which path is taken. `TLIB_READ_THREADS`
threads read the next batches while the model trains on this one. PyDataset is Keras'
own, so the same code feeds TensorFlow and JAX.
"""
from __future__ import annotations

import math
import os
from concurrent.futures import Future, ThreadPoolExecutor
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
    `CachedRows` or dicts of them); `y=None` for prediction (inputs only).

    Reading ahead is ours, not Keras' enqueuer: asked for batch i, it returns i and has
    `workers` threads read the next `ahead` batches. Keras then reads batches in index
    order with no queue of its own (its threaded enqueuer can hand the JAX trainer a
    batch out of order), so the batches are the same on every backend."""

    def __init__(self, x: Any, y: Any, order: np.ndarray, batch_size: int, *,
                 workers: int | None = None, ahead: int = 8) -> None:
        super().__init__(workers=1, use_multiprocessing=False)
        self.x, self.y = x, y
        self.order = np.asarray(order)
        self.batch_size = batch_size
        self.threads = reader_threads() if workers is None else workers
        self.ahead = ahead
        self._pool: ThreadPoolExecutor | None = None
        self._pending: dict[int, Future] = {}

    def __len__(self) -> int:
        return math.ceil(len(self.order) / self.batch_size)

    def __getitem__(self, index: int) -> Any:
        future = self._pending.pop(index, None)
        if self.threads > 1:
            self._read_ahead(index)
        return future.result() if future is not None else self._read(index)

    def _read_ahead(self, index: int) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="row-batches")
        for stale in [i for i in self._pending if i < index]:  # a restarted pass
            self._pending.pop(stale).cancel()
        for i in range(index + 1, min(index + 1 + self.ahead, len(self))):
            if i not in self._pending:
                self._pending[i] = self._pool.submit(self._read, i)

    def _read(self, index: int) -> Any:
        rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        x = take_rows(self.x, rows)
        return x if self.y is None else (x, take_rows(self.y, rows))

    def close(self) -> None:
        """Stop the reader threads (batches read ahead are dropped)."""
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def predict_rows(model: keras.Model, x: Any, batch_size: int = 256) -> np.ndarray:
    """`model.predict` over every row of `x`, batch by batch when it is kept on disk."""
    if is_streamed(x):
        batches = RowBatches(x, None, np.arange(num_rows(x)), batch_size)
        try:
            return np.asarray(model.predict(batches, verbose=0))
        finally:
            batches.close()
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))

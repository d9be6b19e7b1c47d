"""A split's rows: one array in memory when small, read from the feature cache when large.

A loader hands `split_rows` one `CacheEntry` (the path of a feature-cache `.npy`) per
sample instead of the decoded array. `stack_entries` then decides by size:

- up to `stream_threshold_bytes()` (default 256 MiB, `TLIB_STREAM_ABOVE_MB`), the rows
  are read and stacked into one in-memory array, as before: `keras.Model.fit` on arrays
  is the fastest path while the data fits comfortably;
- above it, the split stays on disk as `CachedRows`: a list of paths with the array
  protocol of a read-only array (`len`, `shape`, `dtype`, indexing by an index array,
  which reads just those rows). The engine feeds such splits batch by batch through a
  `keras.utils.PyDataset` (`training_lib.training.batches`), so memory holds a few
  batches, not the dataset.

Why 256 MiB: the whole-array path costs about 3.4x the raw bytes at peak (Keras converts
the array and casts each batch), so 256 MiB of uint8 is about 0.9 GB of RSS, well inside
a small worker; above it the memory saved outweighs the per-file reads (see the README's
"Datasets larger than memory" for the measured throughput of both paths).
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from training_lib.errors import DataError

log = logging.getLogger(__name__)

DEFAULT_STREAM_ABOVE_MB = 256.0


def stream_threshold_bytes() -> int:
    """Splits above this many bytes are streamed from the cache (`TLIB_STREAM_ABOVE_MB`)."""
    value = os.environ.get("TLIB_STREAM_ABOVE_MB", "")
    try:
        mb = float(value) if value else DEFAULT_STREAM_ABOVE_MB
    except ValueError:
        raise DataError(f"TLIB_STREAM_ABOVE_MB={value!r} is not a number; set it to a size in "
                        f"MiB (default {DEFAULT_STREAM_ABOVE_MB:g})") from None
    return int(mb * 2**20)


@dataclass(frozen=True)
class CacheEntry:
    """One sample's array, stored as a `.npy` file in the feature cache."""

    path: Path


def unreadable(path: Path, cause: object) -> DataError:
    return DataError(f"feature cache entry {path} unreadable ({cause}); rebuild the cache "
                     f"(delete the file and rerun)")


def read_entry(path: Path) -> np.ndarray:
    try:
        return np.load(path)
    except (OSError, ValueError) as e:
        raise unreadable(path, e) from e


def _header(path: Path) -> tuple[tuple[int, ...], np.dtype, bytes]:
    """Shape, dtype and the raw header bytes of a C-ordered .npy file, without its data."""
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                    else np.lib.format.read_array_header_2_0)
            shape, fortran_order, dtype = read(f)
            end = f.tell()
            f.seek(0)
            prefix = f.read(end)
    except (OSError, ValueError) as e:
        raise unreadable(path, e) from e
    if fortran_order and len(shape) > 1:
        raise DataError(f"feature cache entry {path} is Fortran-ordered; rebuild the cache")
    return tuple(shape), dtype, prefix


class CachedRows:
    """Rows kept on disk, one `.npy` per row, all of one shape and dtype; indexing
    (an int, a slice or an index array) reads and returns just those rows."""

    def __init__(self, paths: Sequence[Path], row_shape: tuple[int, ...], dtype: np.dtype,
                 header: bytes) -> None:
        self.paths = list(paths)
        self.row_shape = tuple(row_shape)
        self.dtype = np.dtype(dtype)
        self.header = header

    @classmethod
    def of(cls, paths: Sequence[Path]) -> "CachedRows":
        return cls(paths, *_header(paths[0]))

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.paths), *self.row_shape)

    @property
    def ndim(self) -> int:
        return 1 + len(self.row_shape)

    @property
    def row_bytes(self) -> int:
        return int(np.prod(self.row_shape)) * self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return len(self.paths) * self.row_bytes

    def __getitem__(self, index: Any) -> np.ndarray:
        if isinstance(index, (int, np.integer)):
            return self._row(self.paths[index]).copy()
        picked = (self.paths[index] if isinstance(index, slice)
                  else [self.paths[i] for i in np.asarray(index).ravel()])
        out = np.empty((len(picked), *self.row_shape), self.dtype)
        for i, path in enumerate(picked):
            out[i] = self._row(path)
        return out

    def _row(self, path: Path) -> np.ndarray:
        """One row, read-only. Rows of one split share their .npy header byte for byte, so a
        row is its bytes after the split's header; the header is never parsed here, because
        reader threads run this and CPython 3.11's `ast` (which `np.load` parses headers
        with) is not thread-safe (gh-106905: "AST constructor recursion depth mismatch")."""
        try:
            raw = path.read_bytes()
        except OSError as e:
            raise unreadable(path, e) from e
        if not raw.startswith(self.header):  # another shape, or a header written otherwise
            row = read_entry(path)
            if row.shape == self.row_shape and row.dtype == self.dtype:
                return row
            raise DataError(f"feature cache entry {path} has shape {row.shape} {row.dtype}, "
                            f"the split's rows are {self.row_shape} {self.dtype}")
        data = memoryview(raw)[len(self.header):]
        if len(data) != self.row_bytes:
            raise unreadable(path, f"{len(data)} bytes of data after its header, "
                                   f"{self.row_shape} {self.dtype} needs {self.row_bytes}")
        return np.frombuffer(data, self.dtype).reshape(self.row_shape)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """The whole split in memory (for code that needs it at once, e.g. a reference)."""
        log.info("reading %d cached rows (%.0f MiB) into memory", len(self), self.nbytes / 2**20)
        out = self[slice(None)]
        return out.astype(dtype, copy=False) if dtype is not None else out

    def __repr__(self) -> str:
        return f"CachedRows({len(self)} rows of {self.row_shape} {self.dtype})"


def is_streamed(value: Any) -> bool:
    """True for a split (or any input of a dict split) kept on disk."""
    if isinstance(value, dict):
        return any(is_streamed(v) for v in value.values())
    return isinstance(value, CachedRows)


def stack_entries(entries: list[CacheEntry]) -> np.ndarray | CachedRows:
    """One split's cache entries -> an in-memory array, or `CachedRows` above the threshold."""
    paths = [e.path for e in entries]
    rows = CachedRows.of(paths)
    if rows.nbytes > stream_threshold_bytes():
        log.info("%d rows (%.0f MiB) above the streaming threshold (%.0f MiB): read from the "
                 "feature cache batch by batch", len(rows), rows.nbytes / 2**20,
                 stream_threshold_bytes() / 2**20)
        return rows
    return rows[slice(None)]

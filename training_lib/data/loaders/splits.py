"""Helpers every loader shares: split fractions, the sample cap, rows into split arrays.

Splits are deterministic (`records.split_of` on a content key), so a sample keeps its
split across rescans, runs and machines; these helpers only gather the rows.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from training_lib.config.schema import PresetModel
from training_lib.data.records import SPLITS, FileRecord
from training_lib.data.rows import CacheEntry, stack_entries
from training_lib.errors import NoDataForModel


def split_fractions(settings: PresetModel) -> tuple[float, float]:
    """(validation, test) fractions of a preset, as `records.split_of` takes them."""
    return settings.validation_split, settings.test_split


def limit_records(records: list[FileRecord], settings: PresetModel) -> list[FileRecord]:
    """The preset's `max_samples_per_model` files, chosen by content hash (stable)."""
    cap = settings.max_samples_per_model
    return sorted(records, key=lambda r: r.content_hash)[:cap] if cap else records


def split_rows(rows: list[tuple], min_rows: int, model: str,
               keys_out: dict[str, list[str]] | None = None) -> tuple[dict, dict]:
    """rows of (split, x, y[, sample key]) -> per-split stacked arrays (x, y).

    An x that is a `CacheEntry` (a feature-cache file) is read when the split is
    stacked, or left on disk as `CachedRows` when the split is too large to hold
    (`training_lib.data.rows`).

    With `keys_out`, the sample keys (content hash of a file, or of a JSON record) are
    collected per split in row order: incremental learning tells old from new by them.
    Raises NoDataForModel under `min_rows` rows or when a split needed for training
    or testing is empty.
    """
    if len(rows) < min_rows:
        raise NoDataForModel(f"{model}: {len(rows)} usable samples, needs at least {min_rows}")
    xs: dict[str, list] = {s: [] for s in SPLITS}
    ys: dict[str, list] = {s: [] for s in SPLITS}
    keys: dict[str, list[str]] = {s: [] for s in SPLITS}
    for row in rows:
        split, x, y = row[:3]
        xs[split].append(x)
        ys[split].append(y)
        if len(row) > 3:
            keys[split].append(row[3])
    if keys_out is not None and all(len(keys[s]) == len(xs[s]) for s in keys):
        keys_out.update(keys)
    if not xs["train"] or not xs["test"]:
        raise NoDataForModel(f"{model}: the deterministic split left no train or no test rows "
                             f"({len(rows)} samples)")
    return ({s: _stack(v) for s, v in xs.items()}, {s: _stack(v) for s, v in ys.items()})


def _stack(values: list) -> Any:
    if not values:
        return None
    if isinstance(values[0], CacheEntry):
        return stack_entries(values)
    if isinstance(values[0], dict):
        return {k: np.stack([v[k] for v in values]) for k in values[0]}
    return np.stack(values) if isinstance(values[0], np.ndarray) else np.asarray(values)

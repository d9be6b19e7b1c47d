"""Shared text representation: one byte tokenizer, one embedding table, merged per round.

Models that read text as UTF-8 byte ids (`models/blocks.py` `byte_encoder`: ids
0..256, 0 = padding) already share a tokenizer. Between rounds their byte embedding
tables (an `Embedding` with input_dim 257 named `*_bytes`) are averaged, weighted by
each model's training-set size, and every one of them starts the next round from
the merged table. Tables of different widths are merged separately.

    >>> import numpy as np
    >>> merge_tables([np.ones((2, 1)), np.zeros((2, 1))], [3, 1]).ravel().tolist()
    [0.75, 0.75]
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from training_lib.collab import knowledge
from training_lib.collab.strategies.base import Strategy
from training_lib.config.extensions import STRATEGIES

if TYPE_CHECKING:
    from training_lib.config.schema import Collaboration, PresetModel
    from training_lib.data.dataset import Dataset

TOKENIZER = "utf-8 bytes: id = byte + 1, 0 = padding (257 ids)"
BYTE_VOCAB = 257


def byte_embeddings(model: Any) -> list[Any]:
    """The model's byte embedding layers (input_dim 257, name ending in `_bytes`)."""
    import keras

    found = []
    for layer in getattr(model, "layers", []):
        if isinstance(layer, keras.Model):
            found.extend(byte_embeddings(layer))  # a nested model's layers
        elif (isinstance(layer, keras.layers.Embedding) and layer.input_dim == BYTE_VOCAB
              and layer.name.endswith("_bytes")):
            found.append(layer)
    return found


def merge_tables(tables: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """sum(w_i * table_i) / sum(w_i); every table must have the same shape."""
    if not tables:
        raise ValueError("merge_tables: got no tables")
    shapes = {np.shape(t) for t in tables}
    if len(shapes) != 1:
        raise ValueError(f"merge_tables: tables of shapes {sorted(shapes)}; expected one shape")
    w = np.asarray(weights, np.float64)
    if len(w) != len(tables) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"merge_tables: weights {list(weights)}; expected one non-negative "
                         f"weight per table with a positive sum")
    stacked = np.stack([np.asarray(t, np.float64) for t in tables])
    return (np.tensordot(w, stacked, axes=1) / w.sum()).astype(np.float32)


def merged_by_width(
        tables: dict[str, list[np.ndarray]],
        sizes: dict[str, int]) -> tuple[dict[int, np.ndarray], dict[int, dict[str, int]]]:
    """{model: [tables]} -> ({width: merged table}, {width: {model: weight}}), for widths
    that at least two models share (one model alone has nothing to merge with)."""
    by_width: dict[int, list[tuple[str, np.ndarray]]] = {}
    for model, model_tables in tables.items():
        for table in model_tables:
            by_width.setdefault(int(table.shape[1]), []).append((model, table))
    merged, weights = {}, {}
    for width, entries in sorted(by_width.items()):
        if len({m for m, _ in entries}) < 2:
            continue
        merged[width] = merge_tables([t for _, t in entries], [sizes[m] for m, _ in entries])
        weights[width] = {m: sizes[m] for m, _ in entries}
    return merged, weights


def apply_tables(model: Any, merged: dict[int, np.ndarray]) -> list[str]:
    """Set every byte embedding of `model` whose width has a merged table; returns names."""
    changed = []
    for layer in byte_embeddings(model):
        table = merged.get(int(layer.output_dim))
        if table is not None:
            layer.embeddings.assign(table)
            changed.append(layer.name)
    return changed


@STRATEGIES.register
class SharedText(Strategy):
    """Share: the byte embedding tables of the round's models, merged per width and
    weighted by training-set size. Consume: the student's tables start from them."""

    name = "shared_text"

    def share(self, participants: Sequence[Any],
              settings: "PresetModel") -> tuple[dict[int, np.ndarray], dict[str, Any]]:
        tables = {p.name: [np.asarray(layer.embeddings.numpy()) for layer in
                           byte_embeddings(p.model)] for p in participants}
        tables = {m: t for m, t in tables.items() if t}
        sizes = {p.name: max(1, p.train_size) for p in participants}
        merged, weights = merged_by_width(tables, sizes)
        return merged, {"tokenizer": TOKENIZER, "models": sorted(tables),
                        "merged": {str(w): ws for w, ws in weights.items()}}

    def write(self, folder: Path, payload: dict[int, np.ndarray]) -> None:
        if payload:
            knowledge.write_shared_text(folder, payload)

    def read(self, folder: Path, student: str) -> dict[int, np.ndarray]:
        return knowledge.read_shared_text(folder)

    def consume(self, model: Any, dataset: "Dataset", payload: Any,
                cfg: "Collaboration") -> tuple["Dataset", dict[str, Any]]:
        return dataset, {"shared_text_layers": apply_tables(model, payload) if payload else []}

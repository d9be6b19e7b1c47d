"""`Dataset`: the arrays one model trains on, split into train/val/test."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

Arrays = "np.ndarray | dict[str, np.ndarray]"


@dataclass
class Dataset:
    """Inputs and targets per split; inputs are an array or a dict of named arrays."""

    model: str
    x: dict[str, Any]  # split -> array | {input name: array}
    y: dict[str, Any]  # split -> array (autoencoders: the inputs themselves)
    classes: list[str] | None = None
    info: dict[str, Any] = field(default_factory=dict)  # vocab sizes, lengths, feature names
    sources: list[str] = field(default_factory=list)  # content hashes of the files used
    keys: dict[str, list[str]] = field(default_factory=dict)  # split -> sample key per row

    def subset(self, split: str, index: Any) -> "Dataset":
        """A copy whose `split` holds only rows `index` (other splits unchanged)."""
        x, y = self.take(split, index)
        keys = dict(self.keys)
        if split in keys:
            keys[split] = [keys[split][i] for i in index]
        return Dataset(self.model, {**self.x, split: x}, {**self.y, split: y}, self.classes,
                       self.info, self.sources, keys)

    def size(self, split: str) -> int:
        return num_rows(self.x.get(split))

    def take(self, split: str, index: np.ndarray) -> tuple[Any, Any]:
        """Rows `index` of one split, inputs and targets alike."""
        return take_rows(self.x[split], index), take_rows(self.y[split], index)

    def summary(self) -> dict[str, Any]:
        return {"model": self.model, "classes": self.classes,
                "sizes": {s: self.size(s) for s in ("train", "val", "test")},
                "n_sources": len(self.sources), **{k: v for k, v in self.info.items()
                                                   if isinstance(v, (int, float, str))}}


def num_rows(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, dict):
        return num_rows(next(iter(value.values()))) if value else 0
    return int(len(value))


def take_rows(value: Any, index: np.ndarray) -> Any:
    if isinstance(value, dict):
        return {k: v[index] for k, v in value.items()}
    return value[index]

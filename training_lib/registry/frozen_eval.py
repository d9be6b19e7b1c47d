"""The frozen evaluation set of a registered model: one test set every version is scored on.

It is written once, from the test split of the first run that trains the model, to
`<store>/eval_sets/<model>/` (arrays + label names + an encoding signature) and never
changes, so a version's score on it, computed when the version is trained and kept as
a tag, compares fairly with the champion's. A model whose input encoding differs
(another image size, vocabulary or sequence length) cannot be scored on it; the caller
then says so in the decision's reason.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training_lib import settings
from training_lib.data.dataset import Dataset
from training_lib.training.evaluation import score

# Dataset.info keys that decide how inputs are encoded
ENCODING_KEYS = ("image_size", "channels", "vocab", "input_length", "output_length",
                 "answer_reversed", "n_mels", "frames", "text_max_length", "feature_names",
                 "columns", "target_column", "task")


@dataclass(frozen=True)
class FrozenSet:
    path: Path
    x: Any
    y: np.ndarray
    classes: list[str] | None
    signature: str
    info: dict[str, Any]


def encoding_signature(dataset: Dataset) -> str:
    parts = {k: dataset.info[k] for k in ENCODING_KEYS if k in dataset.info}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def eval_set_dir(model: str) -> Path:
    return settings.store_dir() / "eval_sets" / model


def load_frozen(model: str) -> FrozenSet | None:
    folder = eval_set_dir(model)
    try:
        meta = json.loads((folder / "meta.json").read_text())
        with np.load(folder / "arrays.npz", allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError):
        return None
    x = arrays["x"] if "x" in arrays else {k[2:]: v for k, v in arrays.items() if k.startswith("x/")}
    return FrozenSet(folder, x, arrays["y"], meta.get("classes"), meta["signature"], meta)


def freeze(model: str, dataset: Dataset, source: str) -> FrozenSet:
    """Write the frozen set from `dataset`'s test split unless one exists (first one wins)."""
    existing = load_frozen(model)
    if existing is not None:
        return existing
    folder = eval_set_dir(model)
    folder.mkdir(parents=True, exist_ok=True)
    x = dataset.x["test"]
    arrays = ({f"x/{k}": v for k, v in x.items()} if isinstance(x, dict) else {"x": x})
    tmp = folder / f".arrays.{os.getpid()}.npz"
    np.savez(tmp, y=np.asarray(dataset.y["test"]), **arrays)
    tmp.replace(folder / "arrays.npz")
    meta = {"classes": dataset.classes, "signature": encoding_signature(dataset),
            "source": source, "n": dataset.size("test"),
            "info": {k: dataset.info[k] for k in ENCODING_KEYS if k in dataset.info}}
    marker = folder / "meta.json"
    try:
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    except FileExistsError:  # a parallel run froze it first: theirs stands
        return load_frozen(model)  # type: ignore[return-value]
    with os.fdopen(fd, "w") as fh:
        json.dump(meta, fh, default=str)
    return load_frozen(model)  # type: ignore[return-value]


def score_on_frozen(task: str, model: Any, dataset: Dataset,
                    frozen: FrozenSet) -> tuple[float | None, str]:
    """(score, note): None with the reason when the model cannot read the frozen inputs."""
    if encoding_signature(dataset) != frozen.signature:
        return None, "input encoding differs from the frozen evaluation set's"
    predicted = np.asarray(model.predict(frozen.x, batch_size=256, verbose=0))
    y = frozen.y
    if task == "classification" and frozen.classes is not None and dataset.classes is not None:
        own = [dataset.classes[i] for i in predicted.argmax(-1)]
        truth = [frozen.classes[i] for i in y]
        return float(np.mean([a == b for a, b in zip(own, truth)])), "frozen set"
    result = score(task, predicted, y, y)
    return result["metric"], "frozen set"

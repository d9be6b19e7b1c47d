"""Paired items and each model's view of them.

A pairs manifest (`pairs.jsonl`, records {"image", "audio", "text", "label"}) links
files of one item. A model's view is what it reads of an item: the image, the
clip, the caption (a unimodal model, by its loader) or the whole item (the
multimodal model). Features come from the shared `FeatureCache` with the preset's
preprocessing, in the dtypes the loaders use, so a view of an item is
byte-identical to that file's row in the model's own dataset.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training_lib.config.schema import PresetModel
from training_lib.data.records import FileRecord, canonical_key, split_key, split_of
from training_lib.errors import DataError

log = logging.getLogger(__name__)

MODALITIES = ("image", "audio", "text")
DTYPES = {"image": np.uint8, "audio": np.float32, "text": np.int32}
VIEW_OF_LOADER = {"images": "image", "audio": "audio", "texts": "text", "pairs": "pair"}


@dataclass(frozen=True)
class PairItem:
    key: str  # canonical key of the pairs record: its split for the multimodal model
    label: str | None
    files: dict[str, FileRecord | None]  # modality -> the linked file, if usable


def view_of(loader: str) -> str | None:
    """The view a model with this loader has of a paired item (None: no view)."""
    return VIEW_OF_LOADER.get(loader)


def read_pairs(records: list[FileRecord], data_root: Path, settings: PresetModel) -> list[PairItem]:
    """Every pairs record in the catalog's JSON files, its linked files resolved against
    the catalog (files below the quality floor or not scanned count as missing)."""
    from training_lib.data.loaders.json_records import records_of
    from training_lib.data.loaders.registry import LoadRequest

    manifests = [r for r in records if r.type == "json"
                 and r.meta.get("record_format") == "pairs" and r.score >= settings.quality_floor]
    known = {r.path: r for r in records if r.score >= settings.quality_floor}
    req = LoadRequest("pairs", manifests, data_root, settings)
    items = []
    for _split, record in records_of(req, "pairs"):
        files = {}
        for m in MODALITIES:
            rel = record.get(m)
            files[m] = known.get(str(rel).replace("\\", "/")) if isinstance(rel, str) else None
        label = record.get("label")
        items.append(PairItem(canonical_key(record), None if label in (None, "") else str(label),
                              files))
    return items


def modality_features(items: list[PairItem], modality: str, data_root: Path,
                      settings: PresetModel,
                      cache: Any = None) -> tuple[np.ndarray | None, np.ndarray]:
    """(features (n, ...) zero-filled where missing, present (n,) bool) of one modality."""
    from training_lib.data.features.cache import FeatureCache

    cache = cache if cache is not None else FeatureCache()
    params = settings.preprocessing
    arrays: list[np.ndarray | None] = []
    for item in items:
        rec = item.files.get(modality)
        if rec is None:
            arrays.append(None)
            continue
        kind = "document" if rec.type == "document" and modality == "image" else modality
        try:
            arrays.append(np.asarray(cache.get(kind, data_root, rec, params), DTYPES[modality]))
        except DataError as e:
            log.warning("pair view %s not usable: %s", rec.path, e)
            arrays.append(None)
    shape = next((a.shape for a in arrays if a is not None), None)
    if shape is None:
        return None, np.zeros(len(items), bool)
    present = np.array([a is not None and a.shape == shape for a in arrays])
    out = np.zeros((len(items), *shape), DTYPES[modality])
    for i, a in enumerate(arrays):
        if present[i]:
            out[i] = a
    return out, present


def pair_inputs(features: dict[str, np.ndarray | None], present: dict[str, np.ndarray],
                shapes: dict[str, tuple[int, ...]], n: int) -> dict[str, np.ndarray]:
    """The multimodal model's inputs for n items, as the pairs loader builds them: a
    modality that is missing, or not of the model's input shape, is zeros with flag 0."""
    x: dict[str, np.ndarray] = {}
    flags = []
    for m in MODALITIES:
        value, shape = features.get(m), tuple(shapes[m])
        ok = present[m] if value is not None and value.shape[1:] == shape else np.zeros(n, bool)
        x[m] = (value * ok.reshape(-1, *[1] * len(shape)).astype(DTYPES[m]) if ok.any()
                else np.zeros((n, *shape), DTYPES[m]))
        flags.append(ok)
    x["present"] = np.stack(flags, axis=1).astype(np.float32)
    return x


def view_split(item: PairItem, view: str, settings: PresetModel) -> str | None:
    """The split a model with this view puts the item in (as its loader would)."""
    fractions = (settings.validation_split, settings.test_split)
    if view == "pair":
        return split_of(item.key, fractions)
    rec = item.files.get(view)
    return split_of(split_key(rec), fractions) if rec is not None else None


def view_key(item: PairItem, view: str) -> str:
    if view == "pair":
        return item.key
    rec = item.files.get(view)
    return rec.content_hash if rec is not None else ""


def row_digest(x: Any, i: int) -> str:
    """A digest of row i of an input array or dict of arrays (identifies a sample)."""
    h = hashlib.sha1()
    if isinstance(x, dict):
        for name in sorted(x):
            h.update(name.encode())
            h.update(np.ascontiguousarray(x[name][i]).tobytes())
    else:
        h.update(np.ascontiguousarray(x[i]).tobytes())
    return h.hexdigest()

"""The multimodal loader: paired samples, one per {"image", "audio", "text", "label"} record.

A record links an image, an audio clip and a caption by their paths under the data
root (a caption may also be the text itself), in the user's field names if need be
(`{"picture": ..., "caption": ..., "digit": 3}`, see `config.record_fields`); each
modality's features come from the shared `FeatureCache`.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from training_lib.data.dataset import Dataset
from training_lib.data.features.preprocess import token_ids
from training_lib.data.loaders.json_records import read_records
from training_lib.data.loaders.media import BYTE_VOCAB, MIN_FILES
from training_lib.data.loaders.registry import LoadRequest, register_loader
from training_lib.data.loaders.splits import split_rows
from training_lib.data.records import FileRecord
from training_lib.errors import DataError, NoDataForModel

log = logging.getLogger(__name__)

MODALITIES = ("image", "audio", "text")


@register_loader("pairs", kinds=("records:pairs",))
def pairs(req: LoadRequest) -> Dataset:
    """{"image", "audio", "text", "label"} records -> one sample per record.

    Inputs are {"image": uint8 (S,S,3), "audio": float32 (mels, frames), "text": int32
    (L,), "present": float32 (3,)}; a modality whose file is missing or undecodable is
    zero-filled and its presence flag is 0, so partial samples still train and predict.
    Linked files routing did not hand over (captions have no class folder) are probed
    here and used only when their quality score reaches the preset's floor.
    """
    manifests = dataclasses.replace(req, records=[r for r in req.records if r.type == "json"])
    found = read_records(manifests, "pairs")
    items = [(s, r) for s, r in found.items if r.get("label") not in (None, "")]
    if not items:
        raise found.no_match(req.model, "labeled {image, audio, text, label} records (a pairs "
                             "manifest)", needs=("label",))
    classes = sorted({str(r["label"]) for _, r in items})
    if len(classes) < 2:
        raise NoDataForModel(f"{req.model}: paired samples of {len(classes)} class; a "
                             "classifier needs at least 2")
    known = {r.path: r for r in req.records}
    used = {r.content_hash for r in manifests.records}
    features: list[dict[str, np.ndarray | None]] = []
    for _, item in items:
        features.append({m: _modality(req, known, m, item.get(m), used) for m in MODALITIES})
    shapes = {m: next((f[m].shape for f in features if f[m] is not None), None) for m in MODALITIES}
    if all(shape is None for shape in shapes.values()):
        raise NoDataForModel(f"{req.model}: none of the files the pairs link could be decoded")
    pre = req.settings.preprocessing
    fallback = {"image": (pre.image_size, pre.image_size, 3), "audio": (40, 1),
                "text": (pre.text_max_length,)}
    dtypes = {"image": np.uint8, "audio": np.float32, "text": np.int32}
    rows = []
    for (split, item), feats in zip(items, features):
        x: dict[str, np.ndarray] = {}
        present = []
        for m in MODALITIES:
            shape = shapes[m] or fallback[m]
            value = feats[m]
            ok = value is not None and value.shape == shape
            x[m] = value.astype(dtypes[m]) if ok else np.zeros(shape, dtypes[m])
            present.append(1.0 if ok else 0.0)
        if not any(present):
            continue
        x["present"] = np.asarray(present, np.float32)
        rows.append((split, x, classes.index(str(item["label"]))))
    x, y = split_rows(rows, MIN_FILES, req.model)
    coverage = {m: float(np.mean(x["train"]["present"][:, i])) for i, m in enumerate(MODALITIES)}
    log.info("%s: %d paired samples, modality coverage in train %s", req.model, len(rows), coverage)
    return Dataset(req.model, x, y, classes,
                   {"image_size": int(x["train"]["image"].shape[1]),
                    "n_mels": int(x["train"]["audio"].shape[1]),
                    "frames": int(x["train"]["audio"].shape[2]),
                    "input_length": int(x["train"]["text"].shape[1]), "vocab_size": BYTE_VOCAB,
                    "modalities": list(MODALITIES), **found.info()},
                   sorted(used))


def _modality(req: LoadRequest, known: dict[str, FileRecord], kind: str, rel: Any,
              used: set[str]) -> np.ndarray | None:
    if not isinstance(rel, str) or not rel:
        return None
    if kind == "text" and _inline(req, rel):
        return token_ids(rel, req.settings.preprocessing.text_max_length)
    path = PurePosixPath(rel.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts:
        log.warning("%s: pair link %r leaves the data root; ignored", req.model, rel)
        return None
    rec = known.get(str(path)) or _probe(req, str(path))
    if rec is None:
        return None
    if rec.type == "document" and kind == "image":
        kind = "document"
    try:
        array = np.asarray(req.cache.get(kind, req.data_root, rec, req.settings.preprocessing))
    except DataError as e:
        log.warning("%s: %s of a pair not usable: %s", req.model, rel, e)
        return None
    used.add(rec.content_hash)
    return array


def _inline(req: LoadRequest, value: str) -> bool:
    """Whether a record's text is the caption itself, not the path of a caption file:
    no such file, and it reads as words (a space, or no file suffix)."""
    if any(ch in value for ch in "\n\r") or len(value) > 4096:
        return True
    if " " not in value.strip() and PurePosixPath(value).suffix:
        return False  # a path, even when the file is missing
    try:
        return not (req.data_root / value).is_file()
    except (OSError, ValueError):  # a name no file system holds
        return True


def _probe(req: LoadRequest, rel: str) -> FileRecord | None:
    """Inspect a linked file routing did not hand over, as the scanner would."""
    from training_lib.data.quality.limits import QualityLimits
    from training_lib.data.quality.scores import score_of
    from training_lib.data.scan.probe import probe_file

    full = req.data_root / rel
    if not full.is_file():
        log.warning("%s: pair link %s: no such file", req.model, rel)
        return None
    result = probe_file(str(full), rel, QualityLimits())
    score = score_of(result["flags"])
    if not result["content_hash"] or score < req.settings.quality_floor:
        log.warning("%s: pair link %s left out (flags %s)", req.model, rel, result["flags"])
        return None
    return FileRecord(path=rel, size=result["size"], mtime_ns=result["mtime_ns"],
                      content_hash=result["content_hash"], type=result["type"],
                      format=result["format"], score=score, flags=tuple(result["flags"]),
                      meta=result["meta"])

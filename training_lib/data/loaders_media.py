"""Loaders for decoded media: spoken words, labeled text, source code and paired samples.

Each file's features come from the shared `FeatureCache` (log-mel spectrograms, byte
ids, pixels); the label is the file's class folder (`audio/<word>/x.wav`) or, for
source files, the language the scanner detected. Splits are per file, from its
content hash, so a file keeps its split across rescans and machines. A file the
cache cannot decode is logged and skipped.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import PurePosixPath
from typing import Any, Callable

import numpy as np

from training_lib.data.dataset import Dataset
from training_lib.data.loaders import (LOADERS, LoadRequest, _fractions, _limit, _split_arrays,
                                       records_of)
from training_lib.data.records import FileRecord, split_of
from training_lib.errors import DataError, NoDataForModel

log = logging.getLogger(__name__)

MIN_FILES = 20
CODE_MAX_LENGTH = 512  # bytes of a source file the code model reads (its opening lines)
BYTE_VOCAB = 257  # byte ids: UTF-8 byte + 1, 0 = padding


def _folder_label(rec: FileRecord) -> str | None:
    return rec.label


def _code_label(rec: FileRecord) -> str | None:
    return rec.label or rec.meta.get("language")


def _classified(req: LoadRequest, kind: str, dtype: str,
                label_of: Callable[[FileRecord], str | None],
                params: Any = None,
                keys: dict[str, list[str]] | None = None) -> tuple[dict, dict, list[str], list[str]]:
    """(x, y, classes, sources) for files labeled by `label_of`, features of `kind`
    (the files' content hashes per split go to `keys`)."""
    params = params if params is not None else req.settings.preprocessing
    labeled = [(r, label_of(r)) for r in _limit(req.records, req.settings)]
    labeled = [(r, label) for r, label in labeled if label]
    classes = sorted({label for _, label in labeled})
    if len(classes) < 2:
        raise NoDataForModel(f"{req.model}: labeled files of {len(classes)} class(es) "
                             f"({', '.join(classes) or 'none'}); a classifier needs at least 2")
    rows, used = [], []
    for rec, label in labeled:
        try:
            features = req.cache.get(kind, req.data_root, rec, params)
        except DataError as e:
            log.warning("skipping %s: %s", rec.path, e)
            continue
        rows.append((split_of(rec.content_hash, _fractions(req.settings)),
                     np.asarray(features, dtype=dtype), classes.index(label), rec.content_hash))
        used.append(rec.content_hash)
    x, y = _split_arrays(rows, MIN_FILES, req.model, keys)
    return x, y, classes, used


def audio(req: LoadRequest) -> Dataset:
    """Audio clips labeled by class folder -> float32 log-mel (mels, frames)."""
    keys: dict[str, list[str]] = {}
    x, y, classes, used = _classified(req, "audio", "float32", _folder_label, keys=keys)
    mels, frames = x["train"].shape[1:]
    return Dataset(req.model, x, y, classes, {"n_mels": int(mels), "frames": int(frames)}, used,
                   keys)


def texts(req: LoadRequest) -> Dataset:
    """Text files labeled by class folder -> int32 byte ids (text_max_length,)."""
    keys: dict[str, list[str]] = {}
    x, y, classes, used = _classified(req, "text", "int32", _folder_label, keys=keys)
    return Dataset(req.model, x, y, classes,
                   {"input_length": int(x["train"].shape[1]), "vocab_size": BYTE_VOCAB}, used,
                   keys)


def code(req: LoadRequest) -> Dataset:
    """Source files labeled by language folder (or the detected language) -> byte ids.

    The code model reads the first CODE_MAX_LENGTH bytes, or more when the preset's
    text_max_length is larger: a file's opening lines name its language well.
    """
    pre = req.settings.preprocessing
    params = pre.model_copy(update={"text_max_length": max(pre.text_max_length, CODE_MAX_LENGTH)})
    keys: dict[str, list[str]] = {}
    x, y, classes, used = _classified(req, "text", "int32", _code_label, params, keys=keys)
    return Dataset(req.model, x, y, classes,
                   {"input_length": int(x["train"].shape[1]), "vocab_size": BYTE_VOCAB}, used,
                   keys)


# ---- paired samples (multimodal) ----------------------------------------------------------
MODALITIES = ("image", "audio", "text")


def pairs(req: LoadRequest) -> Dataset:
    """{"image", "audio", "text", "label"} records -> one sample per record.

    Inputs are {"image": uint8 (S,S,3), "audio": float32 (mels, frames), "text": int32
    (L,), "present": float32 (3,)}; a modality whose file is missing or undecodable is
    zero-filled and its presence flag is 0, so partial samples still train and predict.
    Linked files routing did not hand over (captions have no class folder) are probed
    here and used only when their quality score reaches the preset's floor.
    """
    manifests = dataclasses.replace(req, records=[r for r in req.records if r.type == "json"])
    items = [(s, r) for s, r in records_of(manifests, "pairs")
             if r.get("label") not in (None, "")]
    if not items:
        raise NoDataForModel(f"{req.model}: no labeled {{image, audio, text, label}} records "
                             "(a pairs manifest)")
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
    x, y = _split_arrays(rows, MIN_FILES, req.model)
    coverage = {m: float(np.mean(x["train"]["present"][:, i])) for i, m in enumerate(MODALITIES)}
    log.info("%s: %d paired samples, modality coverage in train %s", req.model, len(rows), coverage)
    return Dataset(req.model, x, y, classes,
                   {"image_size": int(x["train"]["image"].shape[1]),
                    "n_mels": int(x["train"]["audio"].shape[1]),
                    "frames": int(x["train"]["audio"].shape[2]),
                    "input_length": int(x["train"]["text"].shape[1]), "vocab_size": BYTE_VOCAB,
                    "modalities": list(MODALITIES)},
                   sorted(used))


def _modality(req: LoadRequest, known: dict[str, FileRecord], kind: str, rel: Any,
              used: set[str]) -> np.ndarray | None:
    if not isinstance(rel, str) or not rel:
        return None
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


def _probe(req: LoadRequest, rel: str) -> FileRecord | None:
    """Inspect a linked file routing did not hand over, as the scanner would."""
    from training_lib.data.probe import probe_file
    from training_lib.data.quality import QualityLimits, score_of

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


LOADERS.update({"audio": audio, "texts": texts, "code": code, "pairs": pairs})

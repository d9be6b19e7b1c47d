"""Loaders for decoded media files: spoken words, labeled text and source code.

Each file's features come from the shared `FeatureCache` (log-mel spectrograms, byte
ids); the label is the file's class folder (`audio/<word>/x.wav`) or, for source
files, the language the scanner detected. Splits are per file, from its content
hash (a near duplicate's from its group's first file: `records.split_key`), so a file
keeps its split across rescans and machines. A file the cache cannot
decode is logged and skipped.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

import numpy as np

from training_lib.data.dataset import Dataset
from training_lib.data.loaders.registry import LoadRequest, register_loader
from training_lib.data.loaders.splits import limit_records, split_fractions, split_rows
from training_lib.data.records import FileRecord, split_key, split_of
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
    labeled = [(r, label_of(r)) for r in limit_records(req.records, req.settings)]
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
        rows.append((split_of(split_key(rec), split_fractions(req.settings)),
                     np.asarray(features, dtype=dtype), classes.index(label), rec.content_hash))
        used.append(rec.content_hash)
    x, y = split_rows(rows, MIN_FILES, req.model, keys)
    return x, y, classes, used


@register_loader("audio", kinds=("audio",))
def audio(req: LoadRequest) -> Dataset:
    """Audio clips labeled by class folder -> float32 log-mel (mels, frames)."""
    keys: dict[str, list[str]] = {}
    x, y, classes, used = _classified(req, "audio", "float32", _folder_label, keys=keys)
    mels, frames = x["train"].shape[1:]
    return Dataset(req.model, x, y, classes, {"n_mels": int(mels), "frames": int(frames)}, used,
                   keys)


@register_loader("texts", kinds=("text",))
def texts(req: LoadRequest) -> Dataset:
    """Text files labeled by class folder -> int32 byte ids (text_max_length,)."""
    keys: dict[str, list[str]] = {}
    x, y, classes, used = _classified(req, "text", "int32", _folder_label, keys=keys)
    return Dataset(req.model, x, y, classes,
                   {"input_length": int(x["train"].shape[1]), "vocab_size": BYTE_VOCAB}, used,
                   keys)


@register_loader("code", kinds=("code",))
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
